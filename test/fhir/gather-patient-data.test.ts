import type { FhirResource } from 'fhir/r4';
import { describe, expect, it } from 'vitest';
import { gatherPatientData } from '../../src/fhir/gather-patient-data.js';

const limits = { timeoutMs: 1000, maxPages: 5, horizon: new Date('2024-12-15T00:00:00Z') };
const searchset = (...resources: FhirResource[]) => ({
  resourceType: 'Bundle',
  type: 'searchset',
  entry: resources.map((resource) => ({ resource })),
});
const temp = (id: string, at: string): FhirResource => ({
  resourceType: 'Observation',
  id,
  status: 'final',
  subject: { reference: 'Patient/p1' },
  code: { coding: [{ system: 'http://loinc.org', code: '8310-5' }] },
  effectiveDateTime: at,
});

describe('gatherPatientData from a complete prefetch', () => {
  it('sorts each key into its data set, de-duplicates, and keeps bundled Medications', async () => {
    const weight: FhirResource = {
      resourceType: 'Observation',
      id: 'w1',
      status: 'final',
      subject: { reference: 'Patient/p1' },
      code: { text: 'weight' },
    };
    const medication: FhirResource = { resourceType: 'Medication', id: 'm1', code: { text: 'tocilizumab' } };
    const administration: FhirResource = {
      resourceType: 'MedicationAdministration',
      id: 'ma1',
      status: 'completed',
      subject: { reference: 'Patient/p1' },
      medicationReference: { reference: 'Medication/m1' },
      effectiveDateTime: '2025-01-14T10:00:00Z',
    };
    const result = await gatherPatientData(
      {
        patientId: 'p1',
        fhirServer: undefined,
        accessToken: undefined,
        prefetch: {
          patient: { resourceType: 'Patient', id: 'p1' },
          vitals: searchset(temp('t1', '2025-01-15T08:00:00Z'), weight),
          bodyWeight: searchset(weight),
          labs: null,
          medicationAdministrations: {
            ...searchset(administration, medication),
            entry: [
              { resource: administration },
              { resource: medication, search: { mode: 'include' } },
              { resource: { resourceType: 'OperationOutcome', issue: [] }, search: { mode: 'outcome' } },
            ],
          },
          conditions: searchset(),
          procedures: null,
          encounters: null,
        },
      },
      limits,
    );
    expect(result).toEqual({
      data: {
        patient: { resourceType: 'Patient', id: 'p1' },
        vitals: [temp('t1', '2025-01-15T08:00:00Z'), weight],
        labs: [],
        medicationAdministrations: [administration],
        medications: [medication],
        conditions: [],
        procedures: [],
        encounters: [],
        truncated: [],
        unused: [],
      },
      fhirRequests: 0,
      prefetched: [
        'patient',
        'vitals',
        'bodyWeight',
        'labs',
        'medicationAdministrations',
        'therapyAdministrations',
        'conditions',
        'procedures',
        'encounters',
      ],
      fetched: [],
    });
  });

  it('reports a paginated prefetch it cannot continue (no fhirServer) as truncated', async () => {
    const prefetch: Record<string, unknown> = {
      patient: null,
      vitals: {
        ...searchset(temp('t1', '2025-01-15T08:00:00Z')),
        link: [{ relation: 'next', url: 'https://ehr/fhir/Observation?page=2' }],
      },
      bodyWeight: null,
      labs: null,
      medicationAdministrations: null,
      conditions: null,
      procedures: null,
      encounters: null,
    };
    const result = await gatherPatientData(
      { patientId: 'p1', fhirServer: undefined, accessToken: undefined, prefetch },
      limits,
    );
    expect(result.data.truncated).toEqual(['vitals']);
  });

  it('an empty page with a next link is not the end: reported as truncated when it cannot be followed', async () => {
    const prefetch: Record<string, unknown> = {
      patient: null,
      vitals: { ...searchset(), link: [{ relation: 'next', url: 'https://ehr/fhir/Observation?page=2' }] },
      bodyWeight: null,
      labs: null,
      medicationAdministrations: null,
      conditions: null,
      procedures: null,
      encounters: null,
    };
    const result = await gatherPatientData(
      { patientId: 'p1', fhirServer: undefined, accessToken: undefined, prefetch },
      limits,
    );
    expect(result.data.truncated).toEqual(['vitals']);
  });

  it('does not page past the look-back horizon', async () => {
    const prefetch: Record<string, unknown> = {
      patient: null,
      vitals: {
        ...searchset(temp('old', '2024-11-01T08:00:00Z')),
        link: [{ relation: 'next', url: 'https://ehr/fhir/Observation?page=2' }],
      },
      bodyWeight: null,
      labs: null,
      medicationAdministrations: null,
      conditions: null,
      procedures: null,
      encounters: null,
    };
    const result = await gatherPatientData(
      { patientId: 'p1', fhirServer: undefined, accessToken: undefined, prefetch },
      limits,
    );
    expect(result.data.truncated).toEqual([]);
  });
});

describe('gatherPatientData keeps only usable resources of the patient in context', () => {
  const nulls = {
    patient: null,
    bodyWeight: null,
    labs: null,
    medicationAdministrations: null,
    conditions: null,
    procedures: null,
    encounters: null,
  };
  const gather = (prefetch: Record<string, unknown>) =>
    gatherPatientData({ patientId: 'p1', fhirServer: undefined, accessToken: undefined, prefetch }, limits);

  const obs = (id: string, change: Record<string, unknown>) => ({
    ...temp(id, '2025-01-15T08:00:00Z'),
    ...change,
  });

  it('counts the others by type and reason, each resource once, with the first problem as detail', async () => {
    const mine = temp('t1', '2025-01-15T08:00:00Z');
    const result = await gather({
      ...nulls,
      vitals: searchset(
        mine,
        obs('t2', { subject: { reference: 'Patient/p2' } }),
        obs('t3', { subject: { reference: 'https://ehr/fhir/Patient/p2' } }),
        obs('t4', { subject: { display: 'someone' } }),
        obs('t5', { code: { coding: {} } }),
        obs('t5', { code: { coding: {} } }), // same id
        obs('t6', { effectiveDateTime: 1 }),
      ),
      bodyWeight: { ...searchset(), entry: [null, { resource: 'x' }] },
    });
    expect(result.data.vitals).toEqual([mine]);
    expect(result.data.unused).toEqual([
      { resourceType: 'Observation', reason: 'other-patient', count: 2 },
      { resourceType: 'Observation', reason: 'no-patient-reference', count: 1 },
      {
        resourceType: 'Observation',
        reason: 'malformed',
        count: 2,
        detail: 'Observation.code.coding: expected array, got object',
      },
      {
        resourceType: 'unknown',
        reason: 'malformed',
        count: 2,
        detail: 'Bundle.entry.resource: expected a FHIR resource',
      },
    ]);
  });

  it('a patientId with a lone surrogate is a bad request', async () => {
    await expect(
      gatherPatientData(
        {
          patientId: 'p\ud800',
          fhirServer: 'http://127.0.0.1:9/fhir',
          accessToken: undefined,
          prefetch: undefined,
        },
        limits,
      ),
    ).rejects.toMatchObject({ code: 'bad-request' });
  });
});
