import type { FhirResource } from 'fhir/r4';
import request from 'supertest';
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { buildTestApp, emptyPrefetch, hookRequest } from '../support/test-app.js';
import { startFhirTestServer, type FhirTestServer } from '../support/fhir-test-server.js';

const patient: FhirResource = { resourceType: 'Patient', id: 'pat-1', birthDate: '1970-01-01' };
const observations: FhirResource[] = Array.from({ length: 7 }, (_, i) => ({
  resourceType: 'Observation',
  id: `obs-${i}`,
  status: 'final',
  subject: { reference: 'Patient/pat-1' },
  code: { coding: [{ system: 'http://loinc.org', code: '8310-5' }] },
  effectiveDateTime: `2025-01-15T0${i}:00:00Z`,
  valueQuantity: { value: 37, unit: 'Cel', system: 'http://unitsofmeasure.org', code: 'Cel' },
}));

let fhir: FhirTestServer;
beforeAll(async () => {
  fhir = await startFhirTestServer([patient, ...observations]);
});
afterAll(async () => {
  await fhir.close();
});
beforeEach(() => {
  fhir.requests.length = 0;
  fhir.misbehave.clear();
  fhir.pageSize = 1000;
});

const auth = {
  access_token: 'secret-ehr-token',
  token_type: 'Bearer',
  expires_in: 300,
  scope: 'patient/*.read',
  subject: 'crs-sentinel',
};
const post = (body: Record<string, unknown>) =>
  request(buildTestApp().app).post('/cds-services/crs-sentinel').send(body);
const paths = () => fhir.requests.map((r) => r.path.split('?')[0]).sort();

describe('prefetch keys absent: fetched from fhirServer over HTTP with fhir-kit-client', () => {
  it('fetches every key in one FHIR batch (one round trip) with the bearer token', async () => {
    await post(hookRequest({ fhirServer: fhir.baseUrl, fhirAuthorization: auth })).expect(200, { cards: [] });
    expect(fhir.requests).toEqual([
      { method: 'POST', path: '/fhir/', authorization: 'Bearer secret-ehr-token' },
    ]);
  });

  it('falls back to parallel GETs when the server takes no batches, and remembers it', async () => {
    fhir.misbehave.set('batch', 'no-batch');
    const { app } = buildTestApp();
    const call = () =>
      request(app)
        .post('/cds-services/crs-sentinel')
        .send(hookRequest({ fhirServer: fhir.baseUrl, fhirAuthorization: auth }))
        .expect(200, { cards: [] });
    await call();
    expect(fhir.requests.filter((r) => r.method === 'POST')).toHaveLength(1);
    expect(new Set(fhir.requests.map((r) => r.authorization))).toEqual(new Set(['Bearer secret-ehr-token']));
    fhir.requests.length = 0;
    await call();
    expect(fhir.requests.map((r) => r.method)).toEqual(Array(9).fill('GET'));
    expect(paths()).toEqual([
      '/fhir/Condition',
      '/fhir/Encounter',
      '/fhir/MedicationAdministration',
      '/fhir/MedicationAdministration',
      '/fhir/Observation',
      '/fhir/Observation',
      '/fhir/Observation',
      '/fhir/Patient/pat-1',
      '/fhir/Procedure',
    ]);
    expect(new Set(fhir.requests.map((r) => r.authorization))).toEqual(new Set(['Bearer secret-ehr-token']));
  });

  it('a batch refused for its credentials is not retried as GETs', async () => {
    fhir.misbehave.set('batch', 'unauthorized');
    const res = await post(hookRequest({ fhirServer: fhir.baseUrl, fhirAuthorization: auth })).expect(412);
    expect(res.body).toEqual({
      error: 'precondition-failed',
      message: 'a batch of 9 FHIR searches: the FHIR server refused access (HTTP 401)',
    });
    expect(fhir.requests.map((r) => r.method)).toEqual(['POST']);
  });

  it('a failed entry in the batch fails its key as a GET would', async () => {
    fhir.misbehave.set('Condition', 'unauthorized');
    const res = await post(hookRequest({ fhirServer: fhir.baseUrl, fhirAuthorization: auth })).expect(412);
    expect(res.body).toEqual({
      error: 'precondition-failed',
      message: 'conditions: the FHIR server refused access (HTTP 401)',
    });
  });

  it('sends no Authorization header when the EHR sends no fhirAuthorization (open sandboxes)', async () => {
    await post(hookRequest({ fhirServer: fhir.baseUrl })).expect(200);
    expect(new Set(fhir.requests.map((r) => r.authorization))).toEqual(new Set([undefined]));
  });

  it('fetches only the keys the EHR did not prefetch; null means no data', async () => {
    const prefetch: Record<string, unknown> = { ...emptyPrefetch() };
    delete prefetch.labs;
    await post(hookRequest({ fhirServer: fhir.baseUrl, prefetch })).expect(200);
    expect(fhir.requests.map((r) => r.path)).toEqual([
      expect.stringMatching(/^\/fhir\/Observation\?patient=pat-1&code=http/) as unknown,
    ]);
  });

  it('an OperationOutcome in prefetch is fetched again', async () => {
    const prefetch = { ...emptyPrefetch(), patient: { resourceType: 'OperationOutcome', issue: [] } };
    await post(hookRequest({ fhirServer: fhir.baseUrl, prefetch })).expect(200);
    expect(paths()).toEqual(['/fhir/Patient/pat-1']);
  });

  it('a paginated prefetch Bundle is continued on the FHIR server', async () => {
    fhir.pageSize = 3;
    const firstPage = {
      resourceType: 'Bundle',
      type: 'searchset',
      entry: observations.slice(0, 3).map((resource) => ({ resource })),
      link: [{ relation: 'next', url: `${fhir.baseUrl}/Observation?patient=pat-1&_offset=3` }],
    };
    await post(
      hookRequest({ fhirServer: fhir.baseUrl, prefetch: { ...emptyPrefetch(), vitals: firstPage } }),
    ).expect(200);
    expect(fhir.requests.map((r) => r.path)).toEqual([
      '/fhir/Observation?patient=pat-1&_offset=3',
      '/fhir/Observation?patient=pat-1&_offset=6',
    ]);
  });

  it('a next link to another server is not followed (the token stays with its server)', async () => {
    const firstPage = {
      resourceType: 'Bundle',
      type: 'searchset',
      entry: [],
      link: [{ relation: 'next', url: 'http://127.0.0.2:9/fhir/Observation?page=2' }],
    };
    await post(
      hookRequest({
        fhirServer: fhir.baseUrl,
        fhirAuthorization: auth,
        prefetch: { ...emptyPrefetch(), vitals: { ...firstPage, entry: [{ resource: observations[0] }] } },
      }),
    ).expect(200);
    expect(fhir.requests).toEqual([]);
  });
});

describe('a FHIR server that misbehaves never crashes the service or leaks internals', () => {
  const cases: {
    behaviour: Parameters<FhirTestServer['misbehave']['set']>[1];
    type: string;
    status: number;
    message: string;
  }[] = [
    {
      behaviour: 'unauthorized',
      type: '*',
      status: 412,
      message: 'patient: the FHIR server refused access (HTTP 401)',
    },
    {
      behaviour: 'html',
      type: 'Patient',
      status: 412,
      message: 'patient: the FHIR server did not answer with FHIR JSON',
    },
    {
      behaviour: 'truncated-json',
      type: 'Condition',
      status: 412,
      message: 'conditions: the FHIR server did not answer with FHIR JSON',
    },
    {
      behaviour: 'not-a-bundle',
      type: 'Procedure',
      status: 412,
      message: 'procedures: the FHIR server did not answer with a Bundle',
    },
    {
      behaviour: 'redirect',
      type: 'Encounter',
      status: 412,
      message: 'encounters: the FHIR server answered with a redirect, which is not followed',
    },
    {
      behaviour: 'hang',
      type: 'MedicationAdministration',
      status: 412,
      message: 'medicationAdministrations: the FHIR server did not answer within 1500 ms',
    },
  ];
  it.each(cases)('$behaviour on $type -> $status', async ({ behaviour, type, status, message }) => {
    fhir.misbehave.set('batch', 'no-batch'); // each search as its own GET, so each can misbehave
    fhir.misbehave.set(type, behaviour);
    const started = Date.now();
    const { app } = buildTestApp();
    const res = await request(app)
      .post('/cds-services/crs-sentinel')
      .send(hookRequest({ fhirServer: fhir.baseUrl, fhirAuthorization: auth }))
      .expect(status);
    expect(res.body).toEqual({ error: 'precondition-failed', message });
    expect(res.text).not.toContain('secret-ehr-token');
    expect(Date.now() - started).toBeLessThan(5000);
    await request(app).get('/healthz').expect(200);
  });

  it('a next link that loops is followed at most once per URL and reported as truncated, not hung', async () => {
    fhir.misbehave.set('Observation', 'looping-next');
    await post(hookRequest({ fhirServer: fhir.baseUrl })).expect(200, { cards: [] });
    const observationCalls = fhir.requests.filter((r) => r.path.startsWith('/fhir/Observation'));
    expect(observationCalls.length).toBeLessThanOrEqual(3 * 2);
  });

  it('a server that is down -> 412', async () => {
    const res = await post(hookRequest({ fhirServer: 'http://127.0.0.1:9/fhir' })).expect(412);
    expect(res.body).toEqual({
      error: 'precondition-failed',
      message: expect.stringMatching(/could not be reached|request failed/) as unknown,
    });
  });
});
