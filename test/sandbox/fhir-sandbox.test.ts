import { readFileSync } from 'node:fs';
import type {
  Bundle,
  BundleEntry,
  CapabilityStatement,
  Condition,
  Encounter,
  Medication,
  MedicationAdministration,
  Observation,
  OperationOutcome,
  Patient,
  Procedure,
  Resource,
} from 'fhir/r4';
import { Client } from 'fhir-kit-client';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { PREFETCH_KEYS } from '../../src/cds-hooks/crs-sentinel-service.js';
import { startFhirSandbox, type FhirSandbox } from '../../src/sandbox/fhir-sandbox.js';
import { SHARED_DATA, sharedDataAvailable } from '../support/shared-data.js';

const P1 = 'sbx-p1';
const P2 = 'sbx-p2';
const LOINC = 'http://loinc.org';

const patient = (id: string): Patient => ({
  resourceType: 'Patient',
  id,
  gender: 'female',
  birthDate: '1970-03-01',
});

const observation = (
  id: string,
  subject: string,
  code: string,
  effectiveDateTime: string,
  value = 1,
): Observation => ({
  resourceType: 'Observation',
  id,
  status: 'final',
  code: { coding: [{ system: LOINC, code }] },
  subject: { reference: `Patient/${subject}` },
  effectiveDateTime,
  valueQuantity: { value, unit: 'x', system: 'http://unitsofmeasure.org', code: 'x' },
});

// Dates in mixed UTC offsets: a string sort would order them wrongly.
const OBS = {
  temp1: observation('temp-1', P1, '8310-5', '2025-01-15T10:00:00Z', 38.9),
  temp2: observation('temp-2', P1, '8310-5', '2025-01-15T06:30:00-05:00', 39.2), // 11:30Z: the newest
  temp3: observation('temp-3', P1, '8331-1', '2025-01-14T22:00:00+01:00', 38.1), // 21:00Z on the 14th
  hr1: observation('hr-1', P1, '8867-4', '2025-01-15T09:00:00Z', 112),
  bp1: {
    ...observation('bp-1', P1, '85354-9', '2025-01-15T08:00:00Z'),
    valueQuantity: undefined,
    component: [
      {
        code: { coding: [{ system: LOINC, code: '8480-6' }] },
        valueQuantity: { value: 84, unit: 'mmHg', system: 'http://unitsofmeasure.org', code: 'mm[Hg]' },
      },
    ],
  } as Observation,
  creatinine: observation('creat-1', P1, '2160-0', '2025-01-15T11:00:00Z', 1.1), // in no template
  weight1: observation('wt-1', P1, '29463-7', '2025-01-10T08:00:00Z', 70),
  weight2: observation('wt-2', P1, '3141-9', '2025-01-13T08:00:00Z', 71),
  il6: observation('il6-1', P1, '26881-3', '2025-01-15T07:00:00Z', 250),
  otherPatientTemp: observation('temp-p2', P2, '8310-5', '2025-01-15T12:00:00Z', 40),
};
delete OBS.bp1.valueQuantity;

const medication = (id: string, display: string): Medication => ({
  resourceType: 'Medication',
  id,
  code: { text: display },
});
const MEDS = {
  a: medication('med-a', 'tocilizumab'),
  b: medication('med-b', 'norepinephrine'),
  c: medication('med-c', 'other'),
};

const MAS: Record<string, MedicationAdministration> = {
  ma1: {
    resourceType: 'MedicationAdministration',
    id: 'ma-1',
    status: 'completed',
    medicationReference: { reference: 'Medication/med-a' },
    subject: { reference: `Patient/${P1}` },
    effectiveDateTime: '2025-01-12T10:00:00Z',
  },
  ma2: {
    resourceType: 'MedicationAdministration',
    id: 'ma-2',
    status: 'in-progress',
    medicationCodeableConcept: { text: 'norepinephrine infusion' },
    subject: { reference: `Patient/${P1}` },
    effectivePeriod: { start: '2025-01-15T02:00:00-05:00', end: '2025-01-15T09:00:00Z' }, // 07:00Z
  },
  ma3: {
    resourceType: 'MedicationAdministration',
    id: 'ma-3',
    status: 'completed',
    medicationReference: { reference: 'Medication/med-b' },
    subject: { reference: `Patient/${P1}` },
    effectiveDateTime: '2025-01-14T10:00:00Z',
  },
  maOther: {
    resourceType: 'MedicationAdministration',
    id: 'ma-p2',
    status: 'completed',
    medicationCodeableConcept: { text: 'x' },
    subject: { reference: `Patient/${P2}` },
    effectiveDateTime: '2025-01-15T10:00:00Z',
  },
};

const condition = (id: string, recordedDate?: string): Condition => ({
  resourceType: 'Condition',
  id,
  subject: { reference: `Patient/${P1}` },
  code: { coding: [{ system: 'http://hl7.org/fhir/sid/icd-10-cm', code: 'A41.9' }] },
  ...(recordedDate ? { recordedDate } : {}),
});
const CONDITIONS = {
  c1: condition('cond-1', '2025-01-01'),
  c2: condition('cond-2', '2025-01-14'),
  c3: condition('cond-3'),
};

const PROCEDURES: Record<string, Procedure> = {
  p1: {
    resourceType: 'Procedure',
    id: 'proc-1',
    status: 'completed',
    subject: { reference: `Patient/${P1}` },
    performedDateTime: '2025-01-13T12:00:00Z',
  },
  p2: {
    resourceType: 'Procedure',
    id: 'proc-2',
    status: 'completed',
    subject: { reference: `Patient/${P1}` },
    performedPeriod: { start: '2025-01-14T12:00:00Z' },
  },
};

const ENCOUNTERS: Record<string, Encounter> = {
  e1: {
    resourceType: 'Encounter',
    id: 'enc-1',
    status: 'finished',
    class: { system: 'http://terminology.hl7.org/CodeSystem/v3-ActCode', code: 'IMP' },
    subject: { reference: `Patient/${P1}` },
    period: { start: '2025-01-10T08:00:00Z', end: '2025-01-12T08:00:00Z' },
  },
  e2: {
    resourceType: 'Encounter',
    id: 'enc-2',
    status: 'in-progress',
    class: { system: 'http://terminology.hl7.org/CodeSystem/v3-ActCode', code: 'IMP' },
    subject: { reference: `Patient/${P1}` },
    period: { start: '2025-01-14T08:00:00Z' },
  },
};

const ALL: Resource[] = [
  patient(P1),
  patient(P2),
  ...Object.values(OBS),
  ...Object.values(MEDS),
  ...Object.values(MAS),
  ...Object.values(CONDITIONS),
  ...Object.values(PROCEDURES),
  ...Object.values(ENCOUNTERS),
];

const transaction = (resources: Resource[]): Bundle => ({
  resourceType: 'Bundle',
  type: 'transaction',
  entry: resources.map((resource) => ({
    resource,
    request: { method: 'PUT', url: `${resource.resourceType}/${resource.id ?? ''}` },
  })),
});

/** A resource as stored, minus what the server adds (meta.versionId, meta.lastUpdated). */
function withoutServerMeta(resource: Resource | undefined): unknown {
  if (!resource) return resource;
  const { meta, ...rest } = resource;
  const keptMeta: Record<string, unknown> = { ...meta };
  delete keptMeta.versionId;
  delete keptMeta.lastUpdated;
  return Object.keys(keptMeta).length > 0 ? { ...rest, meta: keptMeta } : rest;
}

const entriesIn = (bundle: Bundle, mode: 'match' | 'include'): BundleEntry[] =>
  (bundle.entry ?? []).filter((e) => e.search?.mode === mode);
/** The matches (not the `_include`d resources), as stored. */
const resourcesOf = (bundle: Bundle): unknown[] =>
  entriesIn(bundle, 'match').map((e) => withoutServerMeta(e.resource));
const includedOf = (bundle: Bundle): unknown[] =>
  entriesIn(bundle, 'include').map((e) => withoutServerMeta(e.resource));
const idsOf = (bundle: Bundle): (string | undefined)[] =>
  entriesIn(bundle, 'match').map((e) => e.resource?.id);
const query = (template: string, patientId: string): string =>
  template.replaceAll('{{context.patientId}}', patientId);

let sandbox: FhirSandbox;

interface FhirReply<T> {
  status: number;
  contentType: string | null;
  body: T;
}

async function request<T = Resource>(path: string, init?: RequestInit): Promise<FhirReply<T>> {
  const url = path.startsWith('http') ? path : `${sandbox.baseUrl}/${path}`;
  const res = await fetch(url, init);
  return { status: res.status, contentType: res.headers.get('content-type'), body: (await res.json()) as T };
}

const get = <T = Bundle>(path: string) => request<T>(path);
const send = <T = Resource>(
  method: string,
  path: string,
  body: unknown,
  contentType = 'application/fhir+json',
) =>
  request<T>(path, {
    method,
    headers: { 'content-type': contentType },
    body: typeof body === 'string' ? body : JSON.stringify(body),
  });

beforeAll(async () => {
  sandbox = await startFhirSandbox({ port: 0, bundles: [transaction(ALL)] });
});

afterAll(async () => {
  await sandbox.close();
});

describe('the service prefetch queries', () => {
  it('a batch of every prefetch query answers each entry exactly as its own GET', async () => {
    const urls = Object.values(PREFETCH_KEYS).map((k) => query(k.template, P1));
    const reply = await send<Bundle>('POST', '', {
      resourceType: 'Bundle',
      type: 'batch',
      entry: urls.map((url) => ({ request: { method: 'GET', url } })),
    });
    expect(reply.status).toBe(200);
    expect(reply.body.type).toBe('batch-response');
    const singles = await Promise.all(urls.map((url) => get<Resource>(url)));
    const strip = (r: Resource | undefined) => {
      const { id: _id, meta: _meta, ...rest } = (r ?? {}) as Resource;
      return r?.resourceType === 'Bundle' ? rest : withoutServerMeta(r);
    };
    expect(reply.body.entry?.map((e) => [e.response?.status, strip(e.resource)])).toEqual(
      singles.map((single) => [String(single.status), strip(single.body)]),
    );
  });

  it('Patient/<id> reads the patient', async () => {
    const reply = await get<Patient>(query(PREFETCH_KEYS.patient.template, P1));
    expect(reply.status).toBe(200);
    expect(reply.contentType).toMatch(/^application\/fhir\+json/);
    expect(withoutServerMeta(reply.body)).toEqual(patient(P1));
    expect(reply.body.meta?.versionId).toBeTruthy();
  });

  it('vitals: the patient’s vital signs only, newest instant first across time-zone offsets', async () => {
    const reply = await get(query(PREFETCH_KEYS.vitals.template, P1));
    expect(reply.status).toBe(200);
    expect(reply.body.type).toBe('searchset');
    expect(reply.body.total).toBe(5);
    expect(resourcesOf(reply.body)).toEqual([OBS.temp2, OBS.temp1, OBS.hr1, OBS.bp1, OBS.temp3]);
    const entry = reply.body.entry?.[0] as BundleEntry;
    expect(entry.fullUrl).toBe(`${sandbox.baseUrl}/Observation/temp-2`);
    expect(entry.search?.mode).toBe('match');
  });

  it('body weight: the latest few of either code, newest first', async () => {
    const reply = await get(query(PREFETCH_KEYS.bodyWeight.template, P1));
    expect(reply.body.total).toBe(2);
    expect(resourcesOf(reply.body)).toEqual([OBS.weight2, OBS.weight1]);
    expect(reply.body.link?.find((l) => l.relation === 'next')).toBeUndefined();
  });

  it('labs', async () => {
    const reply = await get(query(PREFETCH_KEYS.labs.template, P1));
    expect(resourcesOf(reply.body)).toEqual([OBS.il6]);
  });

  it('medication administrations: by effective time (dateTime or period start), this patient only', async () => {
    const reply = await get(query(PREFETCH_KEYS.medicationAdministrations.template, P1));
    expect(reply.body.total).toBe(3);
    expect(resourcesOf(reply.body)).toEqual([MAS.ma2, MAS.ma3, MAS.ma1]);
    const included = PREFETCH_KEYS.medicationAdministrations.template.includes('_include=')
      ? [MEDS.b, MEDS.a]
      : [];
    expect(includedOf(reply.body)).toEqual(included);
  });

  it('conditions: by recorded date, those without one last', async () => {
    const reply = await get(query(PREFETCH_KEYS.conditions.template, P1));
    expect(resourcesOf(reply.body)).toEqual([CONDITIONS.c2, CONDITIONS.c1, CONDITIONS.c3]);
  });

  it('procedures and encounters', async () => {
    const procedures = await get(query(PREFETCH_KEYS.procedures.template, P1));
    expect(resourcesOf(procedures.body)).toEqual([PROCEDURES.p2, PROCEDURES.p1]);
    const encounters = await get(query(PREFETCH_KEYS.encounters.template, P1));
    expect(resourcesOf(encounters.body)).toEqual([ENCOUNTERS.e2, ENCOUNTERS.e1]);
  });

  it('Medication?_id=a,b&_count=2', async () => {
    const reply = await get('Medication?_id=med-a,med-b&_count=2');
    expect(reply.body.total).toBe(2);
    expect(resourcesOf(reply.body)).toEqual([MEDS.a, MEDS.b]);
    expect(reply.body.link?.some((l) => l.relation === 'next')).toBe(false);
  });
});

describe('search adapter', () => {
  const everyP1Observation = [
    'temp-2',
    'creat-1',
    'temp-1',
    'hr-1',
    'bp-1',
    'il6-1',
    'temp-3',
    'wt-2',
    'wt-1',
  ];

  it('pages with absolute self / next / previous links until the last page', async () => {
    const ids: (string | undefined)[] = [];
    let url: string | undefined = `Observation?patient=${P1}&_sort=-date&_count=4`;
    const pages: Bundle[] = [];
    while (url) {
      const reply: FhirReply<Bundle> = await get(url);
      expect(reply.status).toBe(200);
      pages.push(reply.body);
      ids.push(...idsOf(reply.body));
      url = reply.body.link?.find((l) => l.relation === 'next')?.url;
      if (url) expect(url.startsWith(`${sandbox.baseUrl}/Observation?`)).toBe(true);
    }
    expect(ids).toEqual(everyP1Observation);
    expect(pages.map((p) => p.entry?.length)).toEqual([4, 4, 1]);
    expect(pages.every((p) => p.total === 9)).toBe(true);
    const second = pages[1]!;
    expect(second.link?.find((l) => l.relation === 'self')?.url).toBe(
      `${sandbox.baseUrl}/Observation?patient=${P1}&_sort=-date&_count=4&_offset=4`,
    );
    expect(second.link?.find((l) => l.relation === 'previous')?.url).toBe(
      `${sandbox.baseUrl}/Observation?patient=${P1}&_sort=-date&_count=4`,
    );
  });

  it('takes the patient as a bare id, a relative or an absolute reference, or as subject', async () => {
    const forms = [
      `patient=${P1}`,
      `patient=Patient/${P1}`,
      `patient=${encodeURIComponent(`${sandbox.baseUrl}/Patient/${P1}`)}`,
      `subject=${P1}`,
      `subject:Patient=${P1}`,
    ];
    for (const form of forms) {
      const reply = await get(`Observation?${form}&_sort=-date&_count=50`);
      expect(reply.status, form).toBe(200);
      expect(idsOf(reply.body), form).toEqual(everyP1Observation);
    }
  });

  it('defaults to 20 per page and sorts ascending too', async () => {
    const reply = await get(`Observation?patient=${P1}&code=${LOINC}|8310-5&_sort=date`);
    expect(idsOf(reply.body)).toEqual(['temp-1', 'temp-2']);
    expect(reply.body.link?.[0]?.url).toContain('_count=20');
  });

  it('answers POST [type]/_search like GET', async () => {
    const reply = await send<Bundle>(
      'POST',
      'Observation/_search',
      `patient=${P1}&code=${encodeURIComponent(`${LOINC}|8310-5`)}&_sort=-date`,
      'application/x-www-form-urlencoded',
    );
    expect(reply.status).toBe(200);
    expect(idsOf(reply.body)).toEqual(['temp-2', 'temp-1']);
  });

  it('adds _include and _revinclude resources after the matches, each once', async () => {
    const include = await get(
      `MedicationAdministration?patient=${P1}&_sort=-effective-time&_include=MedicationAdministration:medication`,
    );
    expect(include.status).toBe(200);
    expect(include.body.total).toBe(3);
    expect(idsOf(include.body)).toEqual(['ma-2', 'ma-3', 'ma-1']);
    expect(includedOf(include.body)).toEqual([MEDS.b, MEDS.a]);
    expect(include.body.entry?.at(-1)?.fullUrl).toBe(`${sandbox.baseUrl}/Medication/med-a`);

    const revinclude = await get(`Patient?_id=${P1}&_revinclude=Encounter:subject`);
    expect(idsOf(revinclude.body)).toEqual([P1]);
    expect(includedOf(revinclude.body)).toEqual([ENCOUNTERS.e1, ENCOUNTERS.e2]);

    const typed = await get(`Observation?_id=temp-1,temp-2&_sort=-date&_include=Observation:subject:Patient`);
    expect(idsOf(typed.body)).toEqual(['temp-2', 'temp-1']);
    expect(includedOf(typed.body)).toEqual([patient(P1)]);
  });

  it('filters by date with prefixes', async () => {
    const reply = await get(`Observation?patient=${P1}&date=ge2025-01-15T09:00:00Z&_sort=date`);
    expect(idsOf(reply.body)).toEqual(['hr-1', 'temp-1', 'creat-1', 'temp-2']);
  });
});

describe('server basics', () => {
  it('GET /metadata is a CapabilityStatement listing what search supports', async () => {
    const reply = await get<CapabilityStatement>('metadata');
    expect(reply.status).toBe(200);
    expect(reply.contentType).toMatch(/^application\/fhir\+json/);
    expect(reply.body.resourceType).toBe('CapabilityStatement');
    expect(reply.body.fhirVersion).toBe('4.0.1');
    const observation = reply.body.rest?.[0]?.resource?.find((r) => r.type === 'Observation');
    const names = observation?.searchParam?.map((p) => p.name) ?? [];
    expect(names).toEqual(
      expect.arrayContaining(['patient', 'subject', 'code', 'date', '_id', '_count', '_sort']),
    );
    expect(names).not.toContain('value-quantity'); // a quantity parameter the engine cannot match
    expect(reply.body.rest?.[0]?.resource?.some((r) => (r.type as string) === 'AccessPolicy')).toBe(false);
  });

  it('creates, reads, updates and deletes', async () => {
    const created = await send<Observation>(
      'POST',
      'Observation',
      observation('ignored', P2, '8867-4', '2025-01-15T10:00:00Z'),
    );
    expect(created.status).toBe(201);
    const id = created.body.id ?? '';
    expect(id).not.toBe('');
    expect(id).not.toBe('ignored'); // the server assigns the id of a created resource
    const updated = await send<Observation>('PUT', `Observation/${id}`, {
      ...created.body,
      status: 'amended',
    });
    expect(updated.status).toBe(200);
    expect((await get<Observation>(`Observation/${id}`)).body.status).toBe('amended');
    expect((await request(`Observation/${id}`, { method: 'DELETE' })).status).toBe(200);
    expect((await get<OperationOutcome>(`Observation/${id}`)).status).toBe(404);
  });

  it('a transaction is all or nothing', async () => {
    const bad = transaction([patient('sbx-new')]);
    bad.entry?.push({
      resource: patient('sbx-mismatch'),
      request: { method: 'PUT', url: 'Patient/sbx-other' },
    });
    const reply = await send<OperationOutcome>('POST', '', bad);
    expect(reply.status).toBe(400);
    expect(reply.body.resourceType).toBe('OperationOutcome');
    expect((await get<OperationOutcome>('Patient/sbx-new')).status).toBe(404);
  });

  it('loads a transaction of more than 50 updates (Medplum alone refuses it)', async () => {
    const many = Array.from({ length: 60 }, (_, i) =>
      observation(`bulk-${i}`, P2, '9279-1', '2025-01-15T10:00:00Z'),
    );
    const reply = await send<Bundle>('POST', '', transaction(many));
    expect(reply.status).toBe(200);
    expect(reply.body.type).toBe('transaction-response');
    expect((await get(`Observation?patient=${P2}&code=${LOINC}|9279-1&_count=0`)).body.total).toBe(60);
  });

  it.each([
    ['an unknown search parameter', 'Observation?patient=sbx-p1&foo=bar', 400],
    ['a malformed date', 'Observation?date=yesterday', 400],
    ['a malformed _count', 'Observation?_count=many', 400],
    ['an unsupported parameter type', 'Observation?value-quantity=gt38', 400],
    ['_include=*', 'Observation?_include=*', 400],
    ['_include on a non-reference parameter', 'Observation?_include=Observation:code', 400],
    ['a chained parameter', 'Observation?patient.name=x', 400],
    ['an unknown _sort', 'Observation?_sort=-nonsense', 400],
    ['an unknown resource type', 'Nonsense?x=1', 404],
    ['a missing resource', 'Patient/nobody', 404],
    ['a Medplum-only resource type', 'AccessPolicy', 404],
  ])('answers %s with an OperationOutcome %i', async (_label, path, status) => {
    const reply = await get<OperationOutcome>(path);
    expect(reply.status).toBe(status);
    expect(reply.contentType).toMatch(/^application\/fhir\+json/);
    expect(reply.body.resourceType).toBe('OperationOutcome');
    expect(reply.body.issue[0]?.severity).toBe('error');
  });

  it.each([
    ['malformed JSON', 'POST', '', '{"resourceType": "Bundle",'],
    ['a non-Bundle to the base', 'POST', '', { resourceType: 'Patient' }],
    ['a collection Bundle', 'POST', '', { resourceType: 'Bundle', type: 'collection', entry: [] }],
    ['an array body', 'PUT', 'Patient/x', []],
    ['an id mismatch', 'PUT', 'Patient/x', patient('y')],
    ['a wrong resource type', 'POST', 'Patient', { resourceType: 'Observation' }],
    ['a bundle entry without url', 'POST', '', { resourceType: 'Bundle', type: 'batch', entry: [{}] }],
  ])('refuses %s with a 4xx OperationOutcome and keeps working', async (_label, method, path, body) => {
    const reply = await send<OperationOutcome>(method, path, body);
    expect(reply.status).toBeGreaterThanOrEqual(400);
    expect(reply.status).toBeLessThan(500);
    expect(reply.body.resourceType).toBe('OperationOutcome');
    expect((await get<Patient>(`Patient/${P1}`)).status).toBe(200);
  });

  it.each([
    '%',
    'Patient/%E0%A4%A',
    'Observation?_count=-1',
    'Observation?_offset=-5',
    'Observation?date=ge',
    'Observation?_sort=',
    'Observation?patient=&code=',
    'Observation?code=%7C',
    'Patient/a/b/c/d',
    '$graphql',
    'Patient/sbx-p1/_history/nope',
  ])('never fails with a 5xx on GET %s', async (path) => {
    const reply = await get<Resource>(path);
    expect(reply.status).toBeLessThan(500);
    expect(reply.contentType).toMatch(/^application\/fhir\+json/);
  });

  it('sees an update at once: the patient search follows the new reference', async () => {
    const moved = { ...observation('moving', P1, '8867-4', '2025-01-15T10:30:00Z') };
    expect((await send('PUT', 'Observation/moving', moved)).status).toBeLessThan(300);
    const before = await get(`Observation?patient=${P1}&code=${LOINC}|8867-4`);
    expect(idsOf(before.body)).toContain('moving');
    expect(
      (await send('PUT', 'Observation/moving', { ...moved, subject: { reference: `Patient/${P2}` } })).status,
    ).toBe(200);
    const after = await get(`Observation?patient=${P1}&code=${LOINC}|8867-4`);
    expect(idsOf(after.body)).not.toContain('moving');
    expect(idsOf((await get(`Observation?patient=${P2}&code=${LOINC}|8867-4`)).body)).toContain('moving');
    expect((await request('Observation/moving', { method: 'DELETE' })).status).toBe(200);
  });

  it('resolves urn:uuid references in a transaction of creates', async () => {
    const patientUrn = 'urn:uuid:0b6f6a3e-6f7c-4c0e-9a53-2f1f3c1f0a01';
    const bundle: Bundle = {
      resourceType: 'Bundle',
      type: 'transaction',
      entry: [
        {
          fullUrl: patientUrn,
          resource: { resourceType: 'Patient', gender: 'male' } as Patient,
          request: { method: 'POST', url: 'Patient' },
        },
        {
          resource: {
            ...observation('x', 'x', '8310-5', '2025-01-15T10:00:00Z'),
            id: undefined,
            subject: { reference: patientUrn },
          } as Observation,
          request: { method: 'POST', url: 'Observation' },
        },
      ],
    };
    const reply = await send<Bundle>('POST', '', bundle);
    expect(reply.status).toBe(200);
    const location = reply.body.entry?.[0]?.response?.location ?? '';
    expect(location).toMatch(/^Patient\/[\w-]+$/);
    const id = location.split('/')[1] ?? '';
    const found = await get(`Observation?patient=${id}`);
    expect(found.body.total).toBe(1);
    expect((found.body.entry?.[0]?.resource as Observation).subject?.reference).toBe(`Patient/${id}`);
  });

  it('answers reads while a large transaction is loading, never seeing half of it', async () => {
    const many = Array.from({ length: 300 }, (_, i) =>
      observation(`conc-${i}`, 'sbx-conc', '8867-4', '2025-01-15T10:00:00Z'),
    );
    const load = send<Bundle>('POST', '', transaction([patient('sbx-conc'), ...many]));
    const totals = await Promise.all(
      Array.from({ length: 5 }, () => get(`Observation?patient=sbx-conc&_count=0`).then((r) => r.body.total)),
    );
    expect((await load).status).toBe(200);
    for (const total of totals) expect([0, 300]).toContain(total);
    expect((await get(`Observation?patient=sbx-conc&_count=0`)).body.total).toBe(300);
  });

  it('works with fhir-kit-client (the service’s client): search, next page, errors', async () => {
    const client = new Client({ baseUrl: sandbox.baseUrl });
    const raw = await client.request(`Observation?patient=${P1}&_sort=-date&_count=5`);
    const first = raw as unknown as Bundle;
    expect(idsOf(first)).toEqual(['temp-2', 'creat-1', 'temp-1', 'hr-1', 'bp-1']);
    const pageable = raw as Parameters<Client['nextPage']>[0]['bundle'];
    const second = (await client.nextPage({ bundle: pageable })) as unknown as Bundle;
    expect(idsOf(second)).toEqual(['il6-1', 'temp-3', 'wt-2', 'wt-1']);
    await expect(client.request('Observation?foo=bar')).rejects.toMatchObject({ response: { status: 400 } });
  });

  it('counts requests and the time spent on them', async () => {
    const before = { ...sandbox.stats };
    await get(`Patient/${P1}`);
    expect(sandbox.stats.requests).toBe(before.requests + 1);
    expect(sandbox.stats.serverTimeMs).toBeGreaterThan(before.serverTimeMs);
  });
});

describe('CORS, so a browser app (the public CDS Hooks Sandbox) can use it as its FHIR server', () => {
  const origin = 'https://sandbox.cds-hooks.org';

  it('answers a preflight allowing Authorization and Content-Type', async () => {
    const res = await fetch(`${sandbox.baseUrl}/Observation?patient=${P1}`, {
      method: 'OPTIONS',
      headers: {
        origin,
        'access-control-request-method': 'GET',
        'access-control-request-headers': 'authorization,content-type',
      },
    });
    expect(res.status).toBe(204);
    expect(res.headers.get('access-control-allow-origin')).toBe('*');
    const allowed = (res.headers.get('access-control-allow-headers') ?? '').toLowerCase().split(',');
    expect(allowed).toEqual(expect.arrayContaining(['authorization', 'content-type']));
    expect(res.headers.get('access-control-allow-methods')).toContain('GET');
  });

  it('puts Access-Control-Allow-Origin on reads, searches and errors', async () => {
    for (const path of [
      `Patient/${P1}`,
      `Observation?patient=${P1}`,
      'Patient/no-such-patient',
      'metadata',
    ]) {
      const res = await fetch(`${sandbox.baseUrl}/${path}`, { headers: { origin } });
      expect(res.headers.get('access-control-allow-origin')).toBe('*');
      expect(res.headers.get('access-control-expose-headers')).toContain('Location');
    }
  });
});

const EPISODE = `${SHARED_DATA}/mimic-iv-demo-fhir/episode-dd2bf984-septic-shock-2133-12-18.json`;
const hasEpisode = sharedDataAvailable('MIMIC-IV demo episode in the sandbox', EPISODE);
const MIMIC_VITAL_CODES = new Set(['8310-5', '8867-4', '9279-1', '2708-6', '85354-9']);

describe.skipIf(!hasEpisode)(
  `MIMIC-IV demo episode (needs ${EPISODE}; skipped when /work/shared/data is absent)`,
  () => {
    const bundle = hasEpisode ? (JSON.parse(readFileSync(EPISODE, 'utf8')) as Bundle) : undefined;
    const patientId = bundle?.entry?.find((e) => e.resource?.resourceType === 'Patient')?.resource?.id ?? '';

    beforeAll(async () => {
      await sandbox.loadBundle(bundle!);
    });

    it('the vitals query returns its ED vital signs, newest first', async () => {
      const reply = await get(query(PREFETCH_KEYS.vitals.template, patientId));
      expect(reply.status).toBe(200);
      expect(reply.body.total).toBe(30);
      const observations = (reply.body.entry ?? []).map((e) => e.resource as Observation);
      for (const o of observations) {
        expect(o.subject?.reference).toBe(`Patient/${patientId}`);
        expect(MIMIC_VITAL_CODES.has(o.code.coding?.[0]?.code ?? '')).toBe(true);
      }
      expect(new Set(observations.map((o) => o.code.coding?.[0]?.code))).toEqual(MIMIC_VITAL_CODES);
      const times = observations.map((o) => Date.parse(o.effectiveDateTime ?? ''));
      expect(times).toEqual([...times].sort((a, b) => b - a));
    });

    it('every other service query answers too', async () => {
      const administrations = await get(query(PREFETCH_KEYS.medicationAdministrations.template, patientId));
      expect(administrations.body.total).toBe(252);
      expect(resourcesOf(administrations.body)).toHaveLength(252);
      const counts: Record<string, number | undefined> = {};
      for (const key of ['conditions', 'procedures', 'encounters', 'bodyWeight', 'labs'] as const) {
        const reply = await get(query(PREFETCH_KEYS[key].template, patientId));
        expect(reply.status).toBe(200);
        counts[key] = reply.body.total;
      }
      expect(counts).toEqual({ conditions: 30, procedures: 6, encounters: 3, bodyWeight: 0, labs: 0 });
    });
  },
);
