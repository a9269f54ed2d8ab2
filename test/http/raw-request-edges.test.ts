/**
 * Requests as raw bytes on a socket to the real app (createApp behind the real JWT verifier,
 * listening on 127.0.0.1): what supertest cannot send. Huge and many headers, methods nobody
 * registered, absolute-form targets, doubled slashes, dot segments and encoded separators, and
 * hook bodies whose token or nesting would trip what comes after validation. Each answer has the
 * status CDS Hooks 2.0 or RFC 9110 gives it, never a 500 or a stack trace, and the service answers
 * /healthz after each.
 */
import { connect } from 'node:net';
import request from 'supertest';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startFhirTestServer, type FhirTestServer } from '../support/fhir-test-server.js';
import { buildTestApp, emptyPrefetch, hookRequest } from '../support/test-app.js';
import { bearerFor, buildSignedApp, listen, type Listening } from './signed-test-app.js';

const SERVICE = '/cds-services/crs-sentinel';
let service: Listening;
let fhir: FhirTestServer;

beforeAll(async () => {
  fhir = await startFhirTestServer([{ resourceType: 'Patient', id: 'pat-1', birthDate: '1970-01-01' }]);
  service = await listen(buildSignedApp().app);
});
afterAll(async () => {
  await service.close();
  await fhir.close();
});

interface RawAnswer {
  status: number;
  headers: string;
  body: string;
}

/** Writes `text` and reads until the server closes (each request says Connection: close). */
function raw(text: string): Promise<RawAnswer> {
  const { port } = new URL(service.url);
  return new Promise((resolve, reject) => {
    const socket = connect(Number(port), '127.0.0.1');
    const chunks: Buffer[] = [];
    socket.setTimeout(5000, () => socket.destroy(new Error('no answer within 5 s')));
    socket.on('data', (chunk: Buffer) => chunks.push(chunk));
    socket.on('error', reject);
    socket.on('close', () => {
      const answer = Buffer.concat(chunks).toString('latin1');
      const [head = '', ...rest] = answer.split('\r\n\r\n');
      resolve({
        status: Number(/^HTTP\/1\.1 (\d{3})/.exec(head)?.[1] ?? 0),
        headers: head,
        body: rest.join('\r\n\r\n'),
      });
    });
    socket.end(text);
  });
}

function requestText(
  method: string,
  target: string,
  options: { headers?: string[]; body?: string } = {},
): string {
  const body = options.body ?? '';
  const lines = [
    `${method} ${target} HTTP/1.1`,
    'Host: 127.0.0.1',
    'Connection: close',
    ...(options.headers ?? []),
    ...(body === '' ? [] : ['Content-Type: application/json', `Content-Length: ${Buffer.byteLength(body)}`]),
  ];
  return `${lines.join('\r\n')}\r\n\r\n${body}`;
}

const hookBody = JSON.stringify(hookRequest({ prefetch: emptyPrefetch() }));
const signed = (path: string) => [`Authorization: ${bearerFor(path)}`];

async function expectHealthy(): Promise<void> {
  expect((await raw(requestText('GET', '/healthz'))).status).toBe(200);
}

describe('raw requests: the status RFC 9110 or CDS Hooks 2.0 gives, never a 500', () => {
  it.each<[string, () => string, number]>([
    [
      'a 20 KB header',
      () => requestText('GET', '/cds-services', { headers: [`X-Pad: ${'a'.repeat(20_000)}`] }),
      431,
    ],
    [
      '3,000 headers',
      () =>
        requestText('GET', '/cds-services', {
          headers: Array.from({ length: 3000 }, (_, i) => `X-H${i}: a`),
        }),
      431,
    ],
    ['TRACE on the service', () => requestText('TRACE', SERVICE), 405],
    ['PROPFIND on the service', () => requestText('PROPFIND', SERVICE), 405],
    ['PATCH on discovery', () => requestText('PATCH', '/cds-services'), 405],
    ['OPTIONS * (asterisk-form)', () => requestText('OPTIONS', '*'), 204],
    [
      'an absolute-form target naming another host',
      () =>
        requestText('POST', `http://evil.example${SERVICE}`, { headers: signed(SERVICE), body: hookBody }),
      200,
    ],
    [
      'a doubled slash, the JWT naming it',
      () =>
        requestText('POST', '/cds-services//crs-sentinel', {
          headers: signed('/cds-services//crs-sentinel'),
          body: hookBody,
        }),
      200,
    ],
    [
      'a doubled slash, the JWT naming the single-slash URL',
      () => requestText('POST', '/cds-services//crs-sentinel', { headers: signed(SERVICE), body: hookBody }),
      401,
    ],
    [
      'doubled slashes before discovery, with a query',
      () => requestText('GET', '//cds-services//?x=//y', { headers: signed('//cds-services//') }),
      200,
    ],
    [
      'a dot segment',
      () =>
        requestText('POST', '/cds-services/./crs-sentinel', {
          headers: signed('/cds-services/./crs-sentinel'),
          body: hookBody,
        }),
      404,
    ],
    ['a dot-dot segment to /healthz', () => requestText('GET', '/cds-services/../healthz'), 404],
    ['an encoded dot-dot', () => requestText('GET', '/cds-services/%2e%2e/healthz'), 404],
    [
      'an encoded slash in the id',
      () =>
        requestText('POST', '/cds-services/crs-sentinel%2Ffeedback', {
          headers: signed('/cds-services/crs-sentinel%2Ffeedback'),
          body: '{}',
        }),
      404,
    ],
    ['an encoded NUL', () => requestText('GET', '/cds-services%00'), 404],
    ['an overlong UTF-8 slash', () => requestText('GET', '/cds-services/%C0%AFhealthz'), 400],
  ])('%s -> %i', async (_name, text, status) => {
    const answer = await raw(text());
    expect(answer.status).toBe(status);
    expect(answer.body).not.toMatch(/\bat \S+ \(|node_modules|"stack"/);
    if (answer.body !== '' && status !== 204) expect(() => JSON.parse(answer.body) as unknown).not.toThrow();
    await expectHealthy();
  });
});

describe('hook bodies that pass the parser and would trip what comes after', () => {
  it.each([
    ['a line break (header injection)', 'abc\r\nX-Injected: 1'],
    ['a NUL', 'abc\u0000def'],
    ['a tab', 'abc\tdef'],
    ['non-ASCII', 'tökén'],
    ['an emoji', '\u{1F600}'],
  ])('an access token with %s -> 400 naming it; the FHIR server is never called', async (_name, token) => {
    fhir.requests.length = 0;
    // Development mode (any FHIR server): nothing but the token's own check stands before the fetch.
    const res = await request(buildTestApp().app)
      .post(SERVICE)
      .send(
        hookRequest({
          fhirServer: fhir.baseUrl,
          fhirAuthorization: {
            access_token: token,
            token_type: 'Bearer',
            expires_in: 300,
            scope: 's',
            subject: 'x',
          },
        }),
      )
      .expect(400);
    expect(res.body).toEqual({
      error: 'bad-request',
      message:
        'fhirAuthorization.access_token: expected an OAuth 2.0 access token (printable ASCII, RFC 6749)',
    });
    expect(fhir.requests).toEqual([]);
  });

  it.each([
    [
      'an unknown context field nested 100,000 deep',
      (d: string) => ({ context: { userId: 'u', patientId: 'pat-1', deep: d } }),
    ],
    [
      'an extension nested 100,000 deep in a prefetch resource',
      (d: string) => ({
        prefetch: { ...emptyPrefetch(), patient: { resourceType: 'Patient', id: 'pat-1', extension: d } },
      }),
    ],
  ])('%s -> 200', async (_name, change) => {
    const placeholder = '"__DEEP__"';
    const deep = `${'['.repeat(100_000)}${']'.repeat(100_000)}`;
    const body = JSON.stringify(hookRequest({ prefetch: emptyPrefetch(), ...change('__DEEP__') })).replace(
      placeholder,
      deep,
    );
    const answer = await raw(requestText('POST', SERVICE, { headers: signed(SERVICE), body }));
    expect(answer.status).toBe(200);
    await expectHealthy();
  });
});
