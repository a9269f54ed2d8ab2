import { describe, expect, it } from 'vitest';
import { isNarrowedResourceType, resourceProblem } from '../../src/fhir/narrow-resources.js';
import { isPatientReference } from '../../src/fhir/patient-reference.js';

const observation = {
  resourceType: 'Observation',
  id: 'o1',
  status: 'final',
  category: [
    {
      coding: [{ system: 'http://terminology.hl7.org/CodeSystem/observation-category', code: 'vital-signs' }],
    },
  ],
  code: { coding: [{ system: 'http://loinc.org', code: '8310-5' }], text: 'Temp' },
  subject: { reference: 'Patient/p1' },
  effectivePeriod: { start: '2025-01-15T08:00:00Z' },
  valueQuantity: { value: 38.2, unit: 'Cel' },
  component: [{ code: { text: 'x' }, valueInteger: 3, dataAbsentReason: { text: 'unknown' } }],
  extension: [{ url: 'http://example.org/anything', valueBoolean: null }], // not read: not checked
};

describe('resourceProblem: the elements the core reads, by FHIR datatype', () => {
  it('passes a well-formed resource, unread elements and all', () => {
    expect(resourceProblem('Observation', observation)).toBeUndefined();
  });

  it.each([
    [{ code: { coding: { system: 'x' } } }, 'Observation.code.coding: expected array, got object'],
    [{ code: { coding: [null] } }, 'Observation.code.coding[]: expected object, got null'],
    [{ code: { coding: [{ code: 8310 }] } }, 'Observation.code.coding[].code: expected string, got number'],
    [{ effectiveDateTime: 12345 }, 'Observation.effectiveDateTime: expected string, got number'],
    [
      { effectivePeriod: { start: { toString: 'x' } } },
      'Observation.effectivePeriod.start: expected string, got object',
    ],
    [{ valueQuantity: { value: '38.2' } }, 'Observation.valueQuantity.value: expected number, got string'],
    [{ component: {} }, 'Observation.component: expected array, got object'],
    [
      { component: [{ valueCodeableConcept: [] }] },
      'Observation.component[].valueCodeableConcept: expected object, got array',
    ],
    [{ subject: 'Patient/p1' }, 'Observation.subject: expected object, got string'],
    [{ status: null }, 'Observation.status: expected string, got null'],
    [{ id: 7 }, 'Observation.id: expected string, got number'],
  ])('%o -> %s', (change, problem) => {
    expect(resourceProblem('Observation', { ...observation, ...change })).toBe(problem);
  });

  it.each([
    [
      'Patient',
      { resourceType: 'Patient', birthDate: 19700101 },
      'Patient.birthDate: expected string, got number',
    ],
    [
      'MedicationAdministration',
      { resourceType: 'MedicationAdministration', dosage: { rateRatio: { numerator: { value: 'fast' } } } },
      'MedicationAdministration.dosage.rateRatio.numerator.value: expected number, got string',
    ],
    [
      'MedicationAdministration',
      {
        resourceType: 'MedicationAdministration',
        contained: [{ resourceType: 'Medication', code: { text: 1 } }],
      },
      'MedicationAdministration.contained[].code.text: expected string, got number',
    ],
    [
      'MedicationAdministration',
      { resourceType: 'MedicationAdministration', contained: [7] },
      'MedicationAdministration.contained[]: expected object, got number',
    ],
    [
      'MedicationAdministration',
      { resourceType: 'MedicationAdministration', note: [{ text: ['a'] }] },
      'MedicationAdministration.note[].text: expected string, got array',
    ],
    [
      'Medication',
      { resourceType: 'Medication', ingredient: [{ itemReference: { reference: false } }] },
      'Medication.ingredient[].itemReference.reference: expected string, got boolean',
    ],
    [
      'Medication',
      { resourceType: 'Medication', identifier: [{ value: 1 }] },
      'Medication.identifier[].value: expected string, got number',
    ],
    [
      'Condition',
      { resourceType: 'Condition', onsetPeriod: [] },
      'Condition.onsetPeriod: expected object, got array',
    ],
    [
      'Procedure',
      { resourceType: 'Procedure', performedDateTime: {} },
      'Procedure.performedDateTime: expected string, got object',
    ],
    [
      'Encounter',
      { resourceType: 'Encounter', class: [{ code: 'IMP' }] },
      'Encounter.class: expected object, got array',
    ],
  ] as const)('%s: %o -> %s', (type, resource, problem) => {
    expect(resourceProblem(type, resource)).toBe(problem);
  });

  it('a __proto__ or constructor key changes nothing, and nothing is polluted', () => {
    const hostile = JSON.parse(
      '{"resourceType":"Observation","__proto__":{"code":{"coding":{}},"polluted":1},"constructor":{"prototype":{"polluted":1}},"code":{"text":"t","__proto__":[]}}',
    ) as Record<string, unknown>;
    expect(resourceProblem('Observation', hostile)).toBeUndefined();
    const asObject = JSON.parse(
      '{"resourceType":"Observation","code":{"__proto__":{"coding":7}}}',
    ) as unknown;
    expect(resourceProblem('Observation', asObject)).toBeUndefined();
    expect(({} as Record<string, unknown>).polluted).toBeUndefined();
  });

  it('knows only the types the core reads', () => {
    expect(isNarrowedResourceType('Observation')).toBe(true);
    expect(isNarrowedResourceType('Practitioner')).toBe(false);
    expect(isNarrowedResourceType('__proto__')).toBe(false);
    expect(isNarrowedResourceType('toString')).toBe(false);
  });
});

describe('isPatientReference', () => {
  it.each([
    ['Patient/p1', true],
    ['Patient/p1/_history/3', true],
    ['https://ehr.example/fhir/Patient/p1', true],
    ['https://ehr.example/fhir/Patient/p1/_history/2', true],
    ['Patient/p2', false],
    ['Patient/p10', false],
    ['https://ehr.example/fhir/Patient/p12', false],
    ['https://ehr.example/fhir/XPatient/p1', false],
    ['fhir/Patient/p1', false],
    ['Patient/p1?x=1', false],
    ['Patient/p1#a', false],
    ['urn:uuid:p1', false],
    ['patient/p1', false],
    ['', false],
  ])('%s -> %s', (reference, matches) => {
    expect(isPatientReference(reference, 'p1')).toBe(matches);
  });
});
