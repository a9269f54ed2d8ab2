/**
 * Property-based (fast-check): random FHIR-like resources, with wrong types in any element the
 * rules read, nulls, numbers, nested junk and `__proto__` / `constructor` keys, sent in prefetch
 * and answered by a FHIR server, and random hook bodies: never a 5xx, never a stack trace, never a
 * hang, and no prototype is polluted (issue 10, "Malformed FHIR gives 500"). Bounded: a few hundred
 * runs, each request with its own time limit.
 */
import path from 'node:path';
import type { Bundle, FhirResource } from 'fhir/r4';
import fc from 'fast-check';
import request from 'supertest';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  bundleToPrefetch,
  FIXTURE_DIR,
  loadAllFixtures,
  rebaseBundle,
} from '../../src/fixtures/fixture-manifest.js';
import { startFhirTestServer, type FhirTestServer } from '../support/fhir-test-server.js';
import { buildTestApp, hookRequest, TEST_NOW } from '../support/test-app.js';

// A real graded patient (CAR-T, fever, hypotension) as the base, so most runs reach the rules with
// data that makes a card, and random resources ride along.
const { manifest, fixtures } = loadAllFixtures(path.resolve(FIXTURE_DIR));
const base = fixtures.find((f) => f.file === 'cart-grade2-hypotension.json');
if (!base) throw new Error('fixture cart-grade2-hypotension.json is missing');
const PATIENT = base.patientId;
const baseBundle = rebaseBundle(base.bundle, new Date(manifest.anchor), TEST_NOW);
const basePrefetch = bundleToPrefetch(baseBundle) as Record<string, unknown>;
const baseResources = (baseBundle.entry ?? []).flatMap((e) => (e.resource ? [e.resource] : []));
const forPatient = (body: Record<string, unknown>) =>
  hookRequest({ context: { userId: 'Practitioner/1', patientId: PATIENT }, ...body });

const PER_REQUEST_MS = 5000;

const junk: fc.Arbitrary<unknown> = fc.letrec<{ value: unknown }>((tie) => ({
  value: fc.oneof(
    { depthSize: 'small', withCrossShrink: true },
    fc.constant(null),
    fc.boolean(),
    fc.integer(),
    fc.double({ noNaN: true, noDefaultInfinity: true }),
    fc.string({ maxLength: 8 }),
    fc.array(tie('value'), { maxLength: 3 }),
    fc.dictionary(
      fc.constantFrom(
        'coding',
        'code',
        'system',
        'value',
        'start',
        'reference',
        'text',
        'toString',
        'valueOf',
        'constructor',
      ),
      tie('value'),
      { maxKeys: 3 },
    ),
  ),
})).value;

/** Mostly the right datatype, sometimes anything. */
const maybe = <T>(arbitrary: fc.Arbitrary<T>): fc.Arbitrary<unknown> =>
  fc.oneof({ weight: 4, arbitrary }, { weight: 1, arbitrary: junk });
const optional = (shape: Record<string, fc.Arbitrary<unknown>>) => fc.record(shape, { requiredKeys: [] });

const text = fc.oneof(
  fc.constantFrom(
    'http://loinc.org',
    '8310-5',
    '8480-6',
    '8462-4',
    'Cel',
    '[degF]',
    'mm[Hg]',
    'L/min',
    'kg',
    'tocilizumab',
    'axicabtagene ciloleucel',
    'final',
    'completed',
    'active',
  ),
  fc.string({ maxLength: 12 }),
);
const dateTime = fc.oneof(
  fc
    .date({
      min: new Date('2024-12-01T00:00:00Z'),
      max: new Date('2025-01-16T00:00:00Z'),
      noInvalidDate: true,
    })
    .map((d) => d.toISOString()),
  fc.constantFrom('2025-01-15', '2025', 'not a date', ''),
);
const coding = optional({ system: maybe(text), code: maybe(text), display: maybe(text) });
const concept = optional({ coding: maybe(fc.array(maybe(coding), { maxLength: 2 })), text: maybe(text) });
const quantity = optional({
  value: maybe(fc.oneof(fc.double({ min: -10, max: 300, noNaN: true }), fc.integer({ min: 0, max: 200 }))),
  unit: maybe(text),
  system: maybe(text),
  code: maybe(text),
});
const period = optional({ start: maybe(dateTime), end: maybe(dateTime) });
const reference = (targets: string[]) =>
  optional({ reference: maybe(fc.constantFrom(...targets)), display: maybe(text) });
const patientRef = reference([
  'Patient/pat-1',
  'Patient/pat-2',
  'https://ehr.example/fhir/Patient/pat-1',
  'Patient/pat-1/_history/2',
]);
const concepts = maybe(fc.array(maybe(concept), { maxLength: 2 }));

const resource = fc
  .record(
    {
      resourceType: fc.constantFrom(
        'Patient',
        'Observation',
        'MedicationAdministration',
        'Medication',
        'Condition',
        'Procedure',
        'Encounter',
        'Practitioner',
      ),
      id: maybe(fc.constantFrom(PATIENT, 'pat-2', 'r1', 'r2', 'm1')),
      subject: maybe(patientRef),
      status: maybe(text),
      code: maybe(concept),
      category: fc.oneof(concepts, maybe(concept)),
      effectiveDateTime: maybe(dateTime),
      effectivePeriod: maybe(period),
      issued: maybe(dateTime),
      valueQuantity: maybe(quantity),
      valueInteger: maybe(fc.integer()),
      valueCodeableConcept: maybe(concept),
      dataAbsentReason: maybe(concept),
      component: maybe(
        fc.array(maybe(optional({ code: maybe(concept), valueQuantity: maybe(quantity) })), { maxLength: 2 }),
      ),
      medicationCodeableConcept: maybe(concept),
      medicationReference: maybe(reference(['Medication/m1', '#m1', 'Medication/m2'])),
      contained: maybe(
        fc.array(
          maybe(
            optional({
              resourceType: fc.constant('Medication'),
              id: fc.constant('m1'),
              code: maybe(concept),
            }),
          ),
          { maxLength: 1 },
        ),
      ),
      dosage: maybe(
        optional({
          text: maybe(text),
          route: maybe(concept),
          dose: maybe(quantity),
          rateQuantity: maybe(quantity),
          rateRatio: maybe(optional({ numerator: maybe(quantity), denominator: maybe(quantity) })),
        }),
      ),
      clinicalStatus: maybe(concept),
      verificationStatus: maybe(concept),
      onsetDateTime: maybe(dateTime),
      recordedDate: maybe(dateTime),
      performedDateTime: maybe(dateTime),
      performedPeriod: maybe(period),
      period: maybe(period),
      class: maybe(coding),
      birthDate: maybe(fc.constantFrom('1970-01-01', '2015-06-01', '1970')),
      gender: maybe(text),
      ingredient: maybe(fc.array(maybe(optional({ itemCodeableConcept: maybe(concept) })), { maxLength: 1 })),
      identifier: maybe(
        fc.array(maybe(optional({ system: maybe(text), value: maybe(text) })), { maxLength: 1 }),
      ),
    },
    { requiredKeys: ['resourceType'] },
  )
  .chain((r) => fc.boolean().map((withProto) => (withProto ? withHostileKeys(r) : r)));

/** The same resource with own `__proto__` and `constructor` keys, as JSON.parse makes them. */
function withHostileKeys(r: Record<string, unknown>): Record<string, unknown> {
  const hostile =
    '"__proto__":{"polluted":true,"code":{"coding":{}}},"constructor":{"prototype":{"polluted":true}},';
  return JSON.parse(JSON.stringify(r).replace(/^\{/, `{${hostile}`)) as Record<string, unknown>;
}

/** Every path into a JSON value (objects and arrays included), root excluded. */
function pathsOf(value: unknown, prefix: (string | number)[] = []): (string | number)[][] {
  if (typeof value !== 'object' || value === null) return [];
  const keys: (string | number)[] = Array.isArray(value) ? value.map((_, i) => i) : Object.keys(value);
  return keys.flatMap((key) => {
    const path = [...prefix, key];
    return [path, ...pathsOf((value as Record<string | number, unknown>)[key], path)];
  });
}

/** Copies of `resources` with one element each in up to 4 of them replaced by junk (any type). */
const mutationsOf = (resources: readonly unknown[]): fc.Arbitrary<unknown[]> =>
  fc.array(fc.tuple(fc.nat(), fc.nat(), junk), { maxLength: 4 }).map((mutations) => {
    const copy = structuredClone(resources) as unknown[];
    for (const [which, where, value] of mutations) {
      if (copy.length === 0) break;
      const target = copy[which % copy.length];
      const paths = pathsOf(target);
      const path = paths[where % Math.max(paths.length, 1)];
      if (!path) continue;
      let node = target as Record<string | number, unknown>;
      for (const key of path.slice(0, -1)) node = node[key] as Record<string | number, unknown>;
      node[path[path.length - 1] as string | number] = value;
    }
    return copy;
  });

/**
 * For a prefetch key: mostly the base patient's Bundle with some elements of its resources
 * replaced by junk and random resources added; sometimes only random entries, null or junk.
 */
const bundleFor = (key: string): fc.Arbitrary<unknown> => {
  const extra = fc.array(maybe(fc.record({ resource: maybe(resource) }, { requiredKeys: [] })), {
    maxLength: 4,
  });
  const given = basePrefetch[key] as Bundle | null | undefined;
  const givenEntries = given?.entry ?? [];
  const withBase = fc
    .tuple(mutationsOf(givenEntries), extra)
    .map(([entries, more]) => ({ ...given, entry: [...entries, ...more] }));
  return fc.oneof(
    { weight: 1, arbitrary: fc.constant(null) },
    { weight: 1, arbitrary: extra.map((entry) => ({ resourceType: 'Bundle', type: 'searchset', entry })) },
    { weight: given ? 10 : 0, arbitrary: withBase },
    { weight: 1, arbitrary: junk },
  );
};
const prefetchKeys = [
  'vitals',
  'bodyWeight',
  'labs',
  'medicationAdministrations',
  'conditions',
  'procedures',
  'encounters',
] as const;
const prefetch = fc.record(
  {
    patient: fc.oneof(
      { weight: 6, arbitrary: fc.constant(basePrefetch.patient) },
      { weight: 1, arbitrary: resource },
      { weight: 1, arbitrary: junk },
    ),
    ...Object.fromEntries(prefetchKeys.map((key) => [key, bundleFor(key)])),
  },
  { requiredKeys: [] },
);

function expectSafeAnswer(res: request.Response): void {
  expect(res.status).toBeLessThan(500);
  expect(res.text).not.toMatch(/\n\s+at |Error:|node_modules/);
}

function expectNoPollution(): void {
  expect(({} as Record<string, unknown>).polluted).toBeUndefined();
  expect(Object.prototype).not.toHaveProperty('code');
}

describe('fuzzing: never a 5xx, a stack trace or a hang', () => {
  const served: FhirResource[] = [];
  let fhir: FhirTestServer;
  beforeAll(async () => {
    fhir = await startFhirTestServer(served);
  });
  afterAll(async () => {
    await fhir.close();
  });

  it('random resources in prefetch, with a graded patient', async () => {
    const { app } = buildTestApp();
    await fc.assert(
      fc.asyncProperty(prefetch, async (p) => {
        const res = await request(app)
          .post('/cds-services/crs-sentinel')
          .timeout(PER_REQUEST_MS)
          .send(forPatient({ prefetch: p }));
        expectSafeAnswer(res);
      }),
      { numRuns: 300, interruptAfterTimeLimit: 20_000 },
    );
    expectNoPollution();
  }, 30_000);

  it('random resources answered by the FHIR server', async () => {
    const { app } = buildTestApp();
    await fc.assert(
      fc.asyncProperty(
        fc.tuple(mutationsOf(baseResources), fc.array(resource, { maxLength: 8 })),
        async ([mutated, random]) => {
          served.length = 0;
          for (const r of [...mutated, ...random]) served.push(r as FhirResource);
          const res = await request(app)
            .post('/cds-services/crs-sentinel')
            .timeout(PER_REQUEST_MS)
            .send(forPatient({ fhirServer: fhir.baseUrl }));
          expectSafeAnswer(res);
        },
      ),
      { numRuns: 200, interruptAfterTimeLimit: 20_000 },
    );
    expectNoPollution();
  }, 30_000);

  it('random hook bodies', async () => {
    const { app } = buildTestApp();
    const body = fc.oneof(
      junk,
      optional({
        hook: maybe(fc.constant('patient-view')),
        hookInstance: maybe(fc.uuid()),
        context: maybe(
          optional({
            userId: maybe(fc.constant('Practitioner/1')),
            patientId: maybe(fc.oneof(fc.constantFrom(PATIENT, 'pat-\ud800', ''), fc.string())),
            encounterId: maybe(text),
          }),
        ),
        fhirServer: maybe(fc.constantFrom('http://127.0.0.1:9/fhir', 'not a url', 'ftp://x')),
        fhirAuthorization: maybe(
          optional({ access_token: maybe(text), token_type: maybe(fc.constant('Bearer')) }),
        ),
        prefetch: maybe(prefetch),
      }),
    );
    await fc.assert(
      fc.asyncProperty(body, async (b) => {
        const res = await request(app)
          .post('/cds-services/crs-sentinel')
          .timeout(PER_REQUEST_MS)
          .set('content-type', 'application/json')
          .send(JSON.stringify(b));
        expectSafeAnswer(res);
      }),
      { numRuns: 300, interruptAfterTimeLimit: 20_000 },
    );
    expectNoPollution();
  }, 30_000);
});
