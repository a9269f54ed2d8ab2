/**
 * Hostile or wrong data in prefetch and in FHIR answers (issue 10, "Safety of the data"): another
 * patient's resources are never used, malformed resources are skipped and counted, never a 500.
 */
import { Writable } from 'node:stream';
import path from 'node:path';
import type { Bundle } from 'fhir/r4';
import { pino } from 'pino';
import request from 'supertest';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  bundleToPrefetch,
  FIXTURE_DIR,
  loadAllFixtures,
  rebaseBundle,
} from '../../src/fixtures/fixture-manifest.js';
import { startFhirTestServer, type FhirTestServer } from '../support/fhir-test-server.js';
import { buildTestApp, emptyPrefetch, hookRequest, TEST_NOW } from '../support/test-app.js';

const { manifest, fixtures } = loadAllFixtures(path.resolve(FIXTURE_DIR));
const fixture = (file: string) => {
  const found = fixtures.find((f) => f.file === file);
  if (!found) throw new Error(`no fixture ${file}`);
  return {
    ...found,
    prefetch: bundleToPrefetch(rebaseBundle(found.bundle, new Date(manifest.anchor), TEST_NOW)),
  };
};
const grade2 = fixture('cart-grade2-hypotension.json');
const feverOnly = fixture('fever-no-context.json');

/** The app with its log lines captured. */
function appWithLog() {
  const lines: Record<string, unknown>[] = [];
  const sink = new Writable({
    write(chunk: Buffer, _encoding, done) {
      lines.push(JSON.parse(chunk.toString()) as Record<string, unknown>);
      done();
    },
  });
  return { ...buildTestApp({ logger: pino({ level: 'info' }, sink) }), lines };
}

const hook = (patientId: string, extra: Record<string, unknown>) =>
  hookRequest({ context: { userId: 'Practitioner/1', patientId }, ...extra });

/** Each key's Bundle entries of `a` then `b` (Patient from `a`). */
function mergePrefetch(a: Record<string, unknown>, b: Record<string, unknown>): Record<string, unknown> {
  const merged: Record<string, unknown> = { ...a };
  for (const [key, value] of Object.entries(b)) {
    const mine = a[key] as Bundle | null | undefined;
    if (key === 'patient' || value === null || mine === null || mine === undefined) continue;
    merged[key] = { ...mine, entry: [...(mine.entry ?? []), ...((value as Bundle).entry ?? [])] };
  }
  return merged;
}

describe('only the patient in context', () => {
  it('a graded patient sent for another patient id gives no card: 412, nothing usable', async () => {
    const { app, lines } = appWithLog();
    const res = await request(app)
      .post('/cds-services/crs-sentinel')
      .send(hook('someone-else', { prefetch: grade2.prefetch }))
      .expect(412);
    expect(res.body).toEqual({
      error: 'precondition-failed',
      message: expect.stringMatching(
        /^no usable FHIR data for the patient in context: \d+ resources not used$/,
      ) as unknown,
    });
    const line = lines.find((l) => l.path === '/cds-services/crs-sentinel');
    expect(line?.reason).toMatch(/^no usable data; not used: .*Observation\/other-patient=\d+/);
    expect(JSON.stringify(lines)).not.toContain(grade2.patientId);
  });

  it("another patient's fever, pressure and CAR-T dose mixed into a prefetch change nothing, and are counted", async () => {
    const { app, lines } = appWithLog();
    const res = await request(app)
      .post('/cds-services/crs-sentinel')
      .send(hook(feverOnly.patientId, { prefetch: mergePrefetch(feverOnly.prefetch, grade2.prefetch) }))
      .expect(200);
    expect(res.body).toEqual({ cards: [] }); // fever without a CAR-T or sepsis context: no card
    const line = lines.find((l) => l.path === '/cds-services/crs-sentinel');
    const unused = line?.unused as Record<string, number>;
    expect(unused['Observation/other-patient']).toBeGreaterThan(0);
    expect(unused['MedicationAdministration/other-patient']).toBeGreaterThan(0);
    const logged = JSON.stringify(lines);
    expect(logged).not.toContain(grade2.patientId);
    expect(logged).not.toContain(feverOnly.patientId);
  });

  it('a prefetch Patient with another id, and resources without a subject, are not used', async () => {
    const { app, lines } = appWithLog();
    await request(app)
      .post('/cds-services/crs-sentinel')
      .send(
        hook('pat-1', {
          prefetch: {
            ...emptyPrefetch(),
            patient: { resourceType: 'Patient', id: 'pat-2' },
            vitals: {
              resourceType: 'Bundle',
              type: 'searchset',
              entry: [
                { resource: { resourceType: 'Observation', id: 'a', code: { text: 't' } } },
                {
                  resource: { resourceType: 'Observation', id: 'b', subject: { reference: 'Patient/pat-1' } },
                },
              ],
            },
          },
        }),
      )
      .expect(200, { cards: [] });
    expect(lines.find((l) => l.path === '/cds-services/crs-sentinel')?.unused).toEqual({
      'Patient/other-patient': 1,
      'Observation/no-patient-reference': 1,
    });
  });
});

describe('malformed FHIR is skipped and counted, never a 500', () => {
  let fhir: FhirTestServer;
  const good = {
    resourceType: 'Observation',
    id: 'good',
    status: 'final',
    subject: { reference: 'Patient/pat-1' },
    code: { coding: [{ system: 'http://loinc.org', code: '8310-5' }] },
    effectiveDateTime: '2025-01-15T08:00:00Z',
    valueQuantity: { value: 37, unit: 'Cel', system: 'http://unitsofmeasure.org', code: 'Cel' },
  };
  const bad = [
    { ...good, id: 'b1', code: { coding: { system: 'x' } } },
    { ...good, id: 'b2', code: { coding: [null] } },
    { ...good, id: 'b3', effectiveDateTime: 12345 },
    { ...good, id: 'b4', effectiveDateTime: undefined, effectivePeriod: { start: { toString: 'x' } } },
  ];
  beforeAll(async () => {
    fhir = await startFhirTestServer([{ resourceType: 'Patient', id: 'pat-1' }, good, ...bad] as never[]);
  });
  afterAll(async () => {
    await fhir.close();
  });

  it('from a FHIR server: 200, with the malformed ones counted in the log', async () => {
    const { app, lines } = appWithLog();
    await request(app)
      .post('/cds-services/crs-sentinel')
      .send(hook('pat-1', { fhirServer: fhir.baseUrl }))
      .expect(200);
    const unused = lines.find((l) => l.path === '/cds-services/crs-sentinel')?.unused as Record<
      string,
      number
    >;
    // Every Observation search of the test server answers all Observations (vitals, labs, weight).
    expect(unused).toEqual({ 'Observation/malformed': 4 });
  });

  it('from prefetch: 200', async () => {
    const vitals = {
      resourceType: 'Bundle',
      type: 'searchset',
      entry: [good, ...bad].map((resource) => ({ resource })),
    };
    await request(buildTestApp().app)
      .post('/cds-services/crs-sentinel')
      .send(hook('pat-1', { prefetch: { ...emptyPrefetch(), vitals } }))
      .expect(200, { cards: [] });
  });

  it('only malformed data: 412 naming the count', async () => {
    const vitals = {
      resourceType: 'Bundle',
      type: 'searchset',
      entry: bad.map((resource) => ({ resource })),
    };
    const res = await request(buildTestApp().app)
      .post('/cds-services/crs-sentinel')
      .send(hook('pat-1', { prefetch: { ...emptyPrefetch(), vitals } }))
      .expect(412);
    expect(res.body).toEqual({
      error: 'precondition-failed',
      message: 'no usable FHIR data for the patient in context: 4 resources not used',
    });
  });

  it('a Bundle of 130,000 entries within the body limit: no RangeError, 412', async () => {
    const entries = `[${Array(130_000).fill('1').join(',')}]`;
    const body = JSON.stringify(
      hook('pat-1', {
        prefetch: { ...emptyPrefetch(), vitals: { resourceType: 'Bundle', type: 'searchset', entry: [] } },
      }),
    ).replace('"entry":[]', `"entry":${entries}`);
    const res = await request(buildTestApp().app)
      .post('/cds-services/crs-sentinel')
      .set('content-type', 'application/json')
      .send(body)
      .expect(412);
    expect(res.body).toEqual({
      error: 'precondition-failed',
      message: 'no usable FHIR data for the patient in context: 130000 resources not used',
    });
  });

  it('a lone surrogate in the patient id: 400 with a clear message, on the FHIR path and off it', async () => {
    const before = fhir.requests.length;
    for (const extra of [{ fhirServer: fhir.baseUrl }, { prefetch: emptyPrefetch() }]) {
      const res = await request(buildTestApp().app)
        .post('/cds-services/crs-sentinel')
        .set('content-type', 'application/json')
        .send(JSON.stringify(hook('pat-\ud800', extra)))
        .expect(400);
      expect(res.body).toEqual({
        error: 'bad-request',
        message: 'context.patientId: expected well-formed Unicode text',
      });
    }
    expect(fhir.requests.length).toBe(before); // nothing was sent
  });
});
