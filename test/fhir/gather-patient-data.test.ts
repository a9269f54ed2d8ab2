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
  code: { coding: [{ system: 'http://loinc.org', code: '8310-5' }] },
  effectiveDateTime: at,
});

describe('gatherPatientData from a complete prefetch', () => {
  it('sorts each key into its data set, de-duplicates, and keeps bundled Medications', async () => {
    const weight: FhirResource = {
      resourceType: 'Observation',
      id: 'w1',
      status: 'final',
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
