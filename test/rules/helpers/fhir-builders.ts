/** Small inline FHIR builders for unit tests: times are hours relative to a fixed NOW. */
import type {
  CodeableConcept,
  Condition,
  Encounter,
  Medication,
  MedicationAdministration,
  Observation,
  Patient,
  Procedure,
} from 'fhir/r4';
import { emptyPatientData, type PatientData } from '../../../src/rules/crs-sentinel/patient-data.js';

export const NOW = new Date('2030-06-15T12:00:00Z');
export const LOINC = 'http://loinc.org';
export const UCUM = 'http://unitsofmeasure.org';
export const RXNORM = 'http://www.nlm.nih.gov/research/umls/rxnorm';

/** ISO time `hours` before NOW. */
export function ago(hours: number): string {
  return new Date(NOW.getTime() - hours * 3_600_000).toISOString();
}

let counter = 0;
function nextId(prefix: string): string {
  counter += 1;
  return `${prefix}-${counter}`;
}

export function loinc(code: string, display?: string): CodeableConcept {
  return { coding: [{ system: LOINC, code, ...(display !== undefined && { display }) }] };
}

export function quantity(
  value: number,
  unit: string,
): { value: number; unit: string; system: string; code: string } {
  return { value, unit, system: UCUM, code: unit };
}

export function obs(
  code: string,
  value: number,
  unit: string,
  hoursAgo: number,
  extra: Partial<Observation> = {},
): Observation {
  return {
    resourceType: 'Observation',
    id: extra.id ?? nextId('obs'),
    status: 'final',
    code: loinc(code),
    effectiveDateTime: ago(hoursAgo),
    valueQuantity: quantity(value, unit),
    ...extra,
  };
}

export function temp(celsius: number, hoursAgo: number, extra: Partial<Observation> = {}): Observation {
  return obs('8310-5', celsius, 'Cel', hoursAgo, extra);
}

export function bp(
  systolic: number,
  diastolic: number,
  hoursAgo: number,
  panel = '85354-9',
  id?: string,
): Observation {
  return {
    resourceType: 'Observation',
    id: id ?? nextId('bp'),
    status: 'final',
    code: loinc(panel),
    effectiveDateTime: ago(hoursAgo),
    component: [
      { code: loinc('8462-4'), valueQuantity: quantity(diastolic, 'mm[Hg]') },
      { code: loinc('8480-6'), valueQuantity: quantity(systolic, 'mm[Hg]') },
    ],
  };
}

export function spo2(percent: number, hoursAgo: number, flowLpm?: number, id?: string): Observation {
  return {
    ...obs('2708-6', percent, '%', hoursAgo, { id: id ?? nextId('spo2') }),
    ...(flowLpm !== undefined && {
      component: [{ code: loinc('3151-8'), valueQuantity: quantity(flowLpm, 'L/min') }],
    }),
  };
}

export function device(text: string, hoursAgo: number, id?: string): Observation {
  return {
    resourceType: 'Observation',
    id: id ?? nextId('dev'),
    status: 'final',
    code: loinc('107117-4'),
    effectiveDateTime: ago(hoursAgo),
    valueCodeableConcept: { text },
  };
}

export function weight(kg: number, hoursAgo: number): Observation {
  return obs('29463-7', kg, 'kg', hoursAgo, { id: nextId('wt') });
}

/** A MedicationAdministration given at one time (or over a period when `untilHoursAgo` is set). */
export function admin(
  medication: CodeableConcept | { reference: string },
  hoursAgo: number,
  options: {
    untilHoursAgo?: number;
    status?: MedicationAdministration['status'];
    id?: string;
    contained?: Medication[];
  } = {},
): MedicationAdministration {
  const timing =
    options.untilHoursAgo === undefined
      ? { effectiveDateTime: ago(hoursAgo) }
      : { effectivePeriod: { start: ago(hoursAgo), end: ago(options.untilHoursAgo) } };
  return {
    resourceType: 'MedicationAdministration',
    id: options.id ?? nextId('ma'),
    status: options.status ?? 'completed',
    subject: { reference: 'Patient/p1' },
    ...('reference' in medication
      ? { medicationReference: medication }
      : { medicationCodeableConcept: medication }),
    ...(options.contained && { contained: options.contained }),
    ...timing,
  };
}

export function rx(code: string, display: string): CodeableConcept {
  return { coding: [{ system: RXNORM, code, display }] };
}

export function named(text: string): CodeableConcept {
  return { text };
}

export const AXI_CEL = rx('1987402', 'Yescarta');
export const TOCILIZUMAB = rx('612865', 'tocilizumab');
export const NOREPINEPHRINE = rx('7512', 'norepinephrine');
export const VASOPRESSIN = rx('11149', 'vasopressin');
export const PHENYLEPHRINE = rx('8163', 'phenylephrine');
export const DOBUTAMINE = rx('3616', 'dobutamine');

export function condition(system: string, code: string, extra: Partial<Condition> = {}): Condition {
  return {
    resourceType: 'Condition',
    id: extra.id ?? nextId('cond'),
    subject: { reference: 'Patient/p1' },
    code: { coding: [{ system, code }] },
    ...extra,
  };
}

export function encounter(id: string, startHoursAgo: number, endHoursAgo?: number): Encounter {
  return {
    resourceType: 'Encounter',
    id,
    status: endHoursAgo === undefined ? 'in-progress' : 'finished',
    class: { code: 'IMP' },
    period: { start: ago(startHoursAgo), ...(endHoursAgo !== undefined && { end: ago(endHoursAgo) }) },
  };
}

export function procedure(system: string, code: string, hoursAgo: number): Procedure {
  return {
    resourceType: 'Procedure',
    id: nextId('proc'),
    status: 'completed',
    subject: { reference: 'Patient/p1' },
    code: { coding: [{ system, code }] },
    performedDateTime: ago(hoursAgo),
  };
}

export function patient(birthDate = '1970-01-01'): Patient {
  return { resourceType: 'Patient', id: 'p1', birthDate };
}

export function patientData(parts: Partial<PatientData> = {}): PatientData {
  return { ...emptyPatientData(), patient: patient(), ...parts };
}
