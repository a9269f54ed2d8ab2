/**
 * Issue 10, "Fuzzing finds 500s": random requests against the real app (createApp, real JWT
 * verifier, a real signed JWT per call) served on 127.0.0.1. Random JSON, valid skeletons with one
 * field replaced by a wrong type, huge strings, deep nesting within the limit, `__proto__` and
 * `constructor` keys, random paths with malformed percent-escapes, random methods, content types
 * and encodings, corrupt gzip. `prefetch` is supplied and `fhirServer` absent, so no FHIR server
 * is needed. Never a 5xx, never a stack trace, always an answer within a bounded time; an error
 * answer never echoes more than a few dozen characters; `__proto__` changes nothing.
 */
import { request as httpRequest } from 'node:http';
import { brotliCompressSync, deflateSync, gzipSync } from 'node:zlib';
import fc from 'fast-check';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { emptyPrefetch } from '../support/test-app.js';
import { bearerFor, buildSignedApp, listen, type Listening } from './signed-test-app.js';

const SERVICE = '/cds-services/crs-sentinel';
const FEEDBACK = '/cds-services/crs-sentinel/feedback';
/** Per request: the app answers without any FHIR server, so anything slower is a hang. */
const ANSWER_WITHIN_MS = 5_000;
const NUM_RUNS = 300;

interface Attempt {
  method: string;
  path: string;
  headers: Record<string, string>;
  /** The body as text (readable in a counterexample), sent encoded as `encode` says. */
  text: string | undefined;
  encode: { coding: string; corrupt: 'none' | 'truncate' | 'flip' | 'plain' } | undefined;
}

function bodyOf(attempt: Attempt): Buffer | undefined {
  if (attempt.text === undefined) return undefined;
  let body = Buffer.from(attempt.text, 'utf8');
  const { coding, corrupt } = attempt.encode ?? { coding: 'identity', corrupt: 'none' };
  if (corrupt !== 'plain') {
    if (coding === 'gzip') body = gzipSync(body);
    if (coding === 'deflate') body = deflateSync(body);
    if (coding === 'br') body = brotliCompressSync(body);
  }
  if (corrupt === 'truncate') body = body.subarray(0, Math.floor(body.length / 2));
  if (corrupt === 'flip' && body.length > 12) body[12] = (body[12] ?? 0) ^ 0x5a;
  return body;
}

interface Answer {
  status: number;
  text: string;
  ms: number;
}

function send(server: Listening, attempt: Attempt): Promise<Answer> {
  const body = bodyOf(attempt);
  const headers =
    body === undefined ? attempt.headers : { ...attempt.headers, 'content-length': String(body.length) };
  const started = Date.now();
  return new Promise((resolve, reject) => {
    const req = httpRequest(
      `${server.url}${attempt.path}`,
      { method: attempt.method, headers, agent: false, timeout: ANSWER_WITHIN_MS },
      (res) => {
        const chunks: Buffer[] = [];
        res.on('data', (chunk: Buffer) => chunks.push(chunk));
        res.on('end', () =>
          resolve({
            status: res.statusCode ?? 0,
            text: Buffer.concat(chunks).toString('utf8'),
            ms: Date.now() - started,
          }),
        );
      },
    );
    req.on('timeout', () => {
      req.destroy(new Error(`no answer within ${ANSWER_WITHIN_MS} ms`));
    });
    req.on('error', reject);
    req.end(body);
  });
}

const bundle = (...resources: Record<string, unknown>[]) => ({
  resourceType: 'Bundle',
  type: 'searchset',
  entry: resources.map((resource) => ({ resource })),
});

/** A hook call whose prefetch has one of each kind of data the rules read (no FHIR server). */
const validHook = (): Record<string, unknown> => ({
  hook: 'patient-view',
  hookInstance: 'd1577c69-dfbe-44ad-ba6d-3e05e953b2ea',
  context: { userId: 'Practitioner/example', patientId: 'pat-1', encounterId: 'enc-1' },
  prefetch: {
    ...emptyPrefetch(),
    patient: { resourceType: 'Patient', id: 'pat-1', birthDate: '1970-01-01' },
    vitals: bundle({
      resourceType: 'Observation',
      id: 'temp-1',
      status: 'final',
      subject: { reference: 'Patient/pat-1' },
      code: { coding: [{ system: 'http://loinc.org', code: '8310-5' }] },
      effectiveDateTime: '2025-01-15T10:00:00Z',
      valueQuantity: { value: 39.2, unit: 'Cel', system: 'http://unitsofmeasure.org', code: 'Cel' },
    }),
    medicationAdministrations: bundle({
      resourceType: 'MedicationAdministration',
      id: 'ma-1',
      status: 'completed',
      subject: { reference: 'Patient/pat-1' },
      medicationCodeableConcept: { text: 'axicabtagene ciloleucel' },
      effectiveDateTime: '2025-01-10T09:00:00Z',
    }),
  },
});

const validFeedback = (): Record<string, unknown> => ({
  feedback: [
    {
      card: '9368d37b-283f-44a0-93ea-547cebab93ed',
      outcome: 'overridden',
      overrideReason: { reason: { system: 'https://crs-sentinel.org/override-reason', code: 'other-cause' } },
      outcomeTimestamp: '2025-01-15T11:58:00Z',
    },
  ],
});

/** Fields of the skeletons that the fuzzer replaces (dotted paths; numbers index arrays). */
const HOOK_FIELDS = [
  '',
  'hook',
  'hookInstance',
  'fhirServer',
  'fhirAuthorization',
  'fhirAuthorization.access_token',
  'context',
  'context.userId',
  'context.patientId',
  'context.encounterId',
  'prefetch',
  // Reaching into prefetch exercises src/fhir and src/rules through the HTTP layer.
  'prefetch.patient',
  'prefetch.vitals',
  'prefetch.vitals.entry',
  'prefetch.vitals.entry.0',
  'prefetch.vitals.entry.0.resource',
  'prefetch.vitals.entry.0.resource.code',
  'prefetch.vitals.entry.0.resource.subject',
  'prefetch.vitals.entry.0.resource.valueQuantity',
  'prefetch.medicationAdministrations.entry.0.resource.medicationCodeableConcept',
  'prefetch.labs',
  // Resource fields: src/fhir narrows every resource at the boundary, so a wrong type is skipped
  // and reported, never a 500 (issue 10, "Malformed FHIR gives 500").
  'prefetch.patient.id',
  'prefetch.patient.birthDate',
  'prefetch.vitals.entry.0.resource.code.coding',
  'prefetch.vitals.entry.0.resource.effectiveDateTime',
  'prefetch.vitals.entry.0.resource.valueQuantity.value',
  'prefetch.medicationAdministrations.entry.0.resource.effectiveDateTime',
];
const FEEDBACK_FIELDS = [
  '',
  'feedback',
  'feedback.0',
  'feedback.0.card',
  'feedback.0.outcome',
  'feedback.0.outcomeTimestamp',
  'feedback.0.overrideReason',
  'feedback.0.overrideReason.reason',
  'feedback.0.overrideReason.reason.code',
  'feedback.0.acceptedSuggestions',
];

/** Sets a dotted path in a JSON value (own properties only, like JSON.parse makes). */
function setPath(root: Record<string, unknown>, path: string, value: unknown): unknown {
  if (path === '') return value;
  const keys = path.split('.');
  let node: Record<string, unknown> = root;
  for (const key of keys.slice(0, -1)) {
    const next = node[key];
    if (typeof next !== 'object' || next === null) return root;
    node = next as Record<string, unknown>;
  }
  Object.defineProperty(node, keys.at(-1)!, { value, enumerable: true, writable: true, configurable: true });
  return root;
}

const hugeString = fc
  .record({
    char: fc.constantFrom('A', 'é', '😀', '\\', '"', '\u0000'),
    length: fc.integer({ min: 1000, max: 1_000_000 }),
  })
  .map(({ char, length }) => char.repeat(Math.ceil(length / char.length)));

/**
 * Nesting deep enough to hurt a recursive walker, shallow enough to stay within the body limit.
 * Stands in the value as a marker string and is written into the JSON text by `toJson` (the
 * test's own JSON.stringify would overflow its stack on it).
 */
const deepNesting = fc
  .record({ depth: fc.integer({ min: 10, max: 20_000 }), kind: fc.constantFrom('array', 'object') })
  .map(({ depth, kind }) => `\u0001deep:${kind}:${depth}`);

function toJson(value: unknown): string {
  return JSON.stringify(value).replace(
    /"\\u0001deep:(array|object):(\d+)"/g,
    (_match, kind: string, depth: string) => {
      const d = Number(depth);
      return kind === 'array' ? `${'['.repeat(d)}1${']'.repeat(d)}` : `${'{"a":'.repeat(d)}1${'}'.repeat(d)}`;
    },
  );
}

/** Wrong values: any JSON, look-alike objects, huge strings, deep nesting, prototype keys. */
const wrongValue: fc.Arbitrary<unknown> = fc.oneof(
  fc.jsonValue({ maxDepth: 3 }),
  fc.constantFrom<unknown>(
    null,
    0,
    -1,
    1e308,
    true,
    '',
    [],
    {},
    [null],
    { toString: 'x', valueOf: 1 },
    { __proto__: null },
    { constructor: { prototype: { polluted: true } } },
    'Practitioner/\ud800',
    '\udc00',
    '../../etc/passwd',
    'a'.repeat(65),
    { resourceType: 'Bundle', entry: { resource: 1 } },
    { resourceType: 'Bundle', entry: [null, 1, 'x', { resource: null }] },
    { resourceType: 'OperationOutcome' },
    { resourceType: 'Patient', id: 'other' },
  ),
  hugeString,
  deepNesting,
);

/** JSON text with `"__proto__": value` added to the first object after a random offset. */
function withProtoKey(text: string, offset: number, value: unknown): string {
  const at = text.indexOf('{', Math.min(offset, text.length));
  const brace = at >= 0 ? at : text.indexOf('{');
  if (brace < 0) return text;
  const inner = text[brace + 1] === '}' ? '' : ',';
  return `${text.slice(0, brace + 1)}"__proto__":${toJson(value)}${inner}${text.slice(brace + 1)}`;
}

const jsonText: fc.Arbitrary<string> = fc.oneof(
  { weight: 2, arbitrary: fc.jsonValue({ maxDepth: 4 }).map((v) => JSON.stringify(v)) },
  {
    weight: 5,
    arbitrary: fc
      .record({ field: fc.constantFrom(...HOOK_FIELDS), value: wrongValue })
      .map(({ field, value }) => toJson(setPath(validHook(), field, value))),
  },
  {
    weight: 3,
    arbitrary: fc
      .record({ field: fc.constantFrom(...FEEDBACK_FIELDS), value: wrongValue })
      .map(({ field, value }) => toJson(setPath(validFeedback(), field, value))),
  },
  {
    weight: 2,
    arbitrary: fc
      .record({ offset: fc.nat(400), value: wrongValue, feedback: fc.boolean() })
      .map(({ offset, value, feedback }) =>
        withProtoKey(JSON.stringify(feedback ? validFeedback() : validHook()), offset, value),
      ),
  },
  { weight: 1, arbitrary: fc.string({ unit: 'binary', maxLength: 200 }) },
  {
    weight: 1,
    arbitrary: fc.constantFrom('', '{', '{"hook":', 'null', '"x"', '[]', '{}', '\uFEFF{}', '{"a":1}{}'),
  },
);

const PATHS = [SERVICE, FEEDBACK, '/cds-services', '/healthz', '/readyz', '/cds-services/other'];
const ESCAPES = [
  '%',
  '%2',
  '%ZZ',
  '%E0%A4%A',
  '%C0%AF',
  '%FF',
  '%ED%A0%80',
  '%00',
  '%2F',
  '%25',
  'a',
  '..',
  '~',
];

const pathArb: fc.Arbitrary<string> = fc.oneof(
  { weight: 12, arbitrary: fc.constantFrom(SERVICE, SERVICE, FEEDBACK) },
  { weight: 2, arbitrary: fc.constantFrom(...PATHS) },
  {
    weight: 3,
    arbitrary: fc
      .record({
        base: fc.constantFrom('', '/cds-services', SERVICE),
        parts: fc.array(fc.constantFrom(...ESCAPES), { minLength: 1, maxLength: 4 }),
        slash: fc.boolean(),
      })
      .map(({ base, parts, slash }) => `${base}/${parts.join('')}${slash ? '/feedback' : ''}`),
  },
);

const attemptArb: fc.Arbitrary<Attempt> = fc
  .record({
    method: fc.oneof(
      { weight: 12, arbitrary: fc.constant('POST') },
      { weight: 3, arbitrary: fc.constantFrom('GET', 'PUT', 'DELETE', 'PATCH', 'HEAD', 'OPTIONS') },
      { weight: 1, arbitrary: fc.constantFrom('PROPFIND', 'BREW', 'SEARCH', 'QUERY') },
    ),
    path: pathArb,
    // Mostly a well-formed transport, so that most bodies reach validation and the use case.
    contentType: fc.oneof(
      { weight: 8, arbitrary: fc.constant<string | null>('application/json') },
      {
        weight: 4,
        arbitrary: fc.constantFrom<string | null>(
          null,
          'application/json; charset=utf-8',
          'application/fhir+json',
          'application/json; charset=latin1',
          'application/json; charset=utf-16',
          'text/plain',
          'application/x-www-form-urlencoded',
          'multipart/form-data; boundary=x',
          'application/json; charset',
          ';;;',
        ),
      },
    ),
    encoding: fc.oneof(
      { weight: 8, arbitrary: fc.constant<string | null>(null) },
      {
        weight: 3,
        arbitrary: fc.constantFrom<string | null>(
          'gzip',
          'deflate',
          'br',
          'identity',
          'compress',
          'gzip, gzip',
          'GZIP',
        ),
      },
    ),
    corrupt: fc.constantFrom<'none' | 'truncate' | 'flip' | 'plain'>(
      'none',
      'none',
      'none',
      'truncate',
      'flip',
      'plain',
    ),
    text: jsonText,
    authorized: fc.oneof(
      { weight: 9, arbitrary: fc.constant(true) },
      { weight: 1, arbitrary: fc.constant(false) },
    ),
    withBody: fc.oneof(
      { weight: 9, arbitrary: fc.constant(true) },
      { weight: 1, arbitrary: fc.constant(false) },
    ),
  })
  .map(({ method, path, contentType, encoding, corrupt, text, authorized, withBody }) => {
    const headers: Record<string, string> = {};
    if (authorized) headers.authorization = bearerFor(path);
    if (!withBody || method === 'GET' || method === 'HEAD') {
      return { method, path, headers, text: undefined, encode: undefined };
    }
    if (contentType !== null) headers['content-type'] = contentType;
    if (encoding !== null) headers['content-encoding'] = encoding;
    const encode = encoding === null ? undefined : { coding: encoding.toLowerCase(), corrupt };
    return { method, path, headers, text, encode };
  });

const STACK_TRACE = /\n\s+at |^\s*\w*Error:/m;

let server: Listening;
const { app } = buildSignedApp();

beforeAll(async () => {
  server = await listen(app);
});
afterAll(() => server.close());

const statuses = new Map<number, number>();
describe('random requests over HTTP', () => {
  it(`never a 5xx, a stack trace, a hang or a long echo (${NUM_RUNS} runs)`, async () => {
    await fc.assert(
      fc.asyncProperty(attemptArb, async (attempt) => {
        const answer = await send(server, attempt);
        statuses.set(answer.status, (statuses.get(answer.status) ?? 0) + 1);
        expect(answer.status).toBeLessThan(500);
        expect(answer.ms).toBeLessThan(ANSWER_WITHIN_MS);
        expect(answer.text).not.toMatch(STACK_TRACE);
        if (answer.status >= 400 && attempt.method !== 'HEAD' && answer.text !== '') {
          const body = JSON.parse(answer.text) as Record<string, unknown>;
          expect(typeof body.error).toBe('string');
          // At most ~40 characters of input are quoted, so an error answer stays short.
          expect(answer.text.length).toBeLessThan(400);
        }
      }),
      { numRuns: NUM_RUNS },
    );
    // Not vacuous: a good share of the requests got past validation to the use case (~10% do).
    expect((statuses.get(200) ?? 0) + (statuses.get(412) ?? 0)).toBeGreaterThan(5);
  });
});

describe('__proto__ in a body changes nothing', () => {
  const UUIDS = /[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}/g;
  const post = (path: string, text: string) =>
    send(server, {
      method: 'POST',
      path,
      headers: { authorization: bearerFor(path), 'content-type': 'application/json' },
      text,
      encode: undefined,
    });

  it('the same answer with and without a "__proto__" key anywhere', async () => {
    await fc.assert(
      fc.asyncProperty(
        fc.record({
          feedback: fc.boolean(),
          offset: fc.nat(1200),
          value: fc.oneof(
            fc.jsonValue({ maxDepth: 2 }),
            fc.constant<unknown>({ patientId: 'other', hook: 'order-select', polluted: true }),
            fc.constant<unknown>({
              vitals: {
                resourceType: 'Bundle',
                type: 'searchset',
                entry: [{ resource: { resourceType: 'Observation' } }],
              },
            }),
          ),
        }),
        async ({ feedback, offset, value }) => {
          const path = feedback ? FEEDBACK : SERVICE;
          const plain = JSON.stringify(feedback ? validFeedback() : validHook());
          const without = await post(path, plain);
          const withProto = await post(path, withProtoKey(plain, offset, value));
          if (!feedback) expect(without.text).toMatch(/"cards":\[\{/);
          expect({ status: withProto.status, text: withProto.text.replace(UUIDS, 'uuid') }).toEqual({
            status: without.status,
            text: without.text.replace(UUIDS, 'uuid'),
          });
          expect(({} as Record<string, unknown>).polluted).toBeUndefined();
        },
      ),
      { numRuns: 60 },
    );
  });
});

/**
 * 500s this fuzzer once found (a resource field of a wrong type reaching the clinical core), kept
 * as plain cases: the boundary narrowing in src/fhir skips such resources.
 */
describe('malformed resource fields that once gave a 500', () => {
  const post = (body: unknown) =>
    send(server, {
      method: 'POST',
      path: SERVICE,
      headers: { authorization: bearerFor(SERVICE), 'content-type': 'application/json' },
      text: JSON.stringify(body),
      encode: undefined,
    });

  it.each([
    ['prefetch.vitals.entry.0.resource.effectiveDateTime', 12345],
    ['prefetch.vitals.entry.0.resource.effectiveDateTime', null],
    ['prefetch.medicationAdministrations.entry.0.resource.effectiveDateTime', {}],
    ['prefetch.vitals.entry.0.resource.code.coding', {}],
    ['prefetch.vitals.entry.0.resource.code.coding', [null]],
    ['prefetch.vitals.entry.0.resource.valueQuantity.value', { toString: 'x' }],
    ['prefetch.patient.birthDate', { toString: 'x' }],
    ['prefetch.patient.id', { toString: 'x' }],
  ])('%s = %j is not a 5xx', async (field, value) => {
    const answer = await post(setPath(validHook(), field, value));
    expect(answer.status).toBeLessThan(500);
  });
});
