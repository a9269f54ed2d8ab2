/**
 * The FHIR data one hook call gathers for the CRS rules: the data layer (src/fhir/) fills it from
 * prefetch or the EHR's FHIR server; the pure clinical core only reads it.
 */
import type {
  Condition,
  Encounter,
  Medication,
  MedicationAdministration,
  Observation,
  Patient,
  Procedure,
} from 'fhir/r4';

/** The named data sets, one per prefetch key. */
export const DATA_SET_NAMES = [
  'patient',
  'vitals',
  'labs',
  'medicationAdministrations',
  'conditions',
  'procedures',
  'encounters',
] as const;
export type DataSetName = (typeof DATA_SET_NAMES)[number];

export interface PatientData {
  /** Absent when the EHR answered `null` for the Patient (no data). */
  patient?: Patient;
  /** Vital-sign and oxygen Observations, unsorted, possibly with duplicates across pages. */
  vitals: Observation[];
  /** Laboratory Observations (IL-6, CRP, ferritin, lactate), unsorted. */
  labs: Observation[];
  medicationAdministrations: MedicationAdministration[];
  /** Medications referenced by administrations (bundled or fetched); contained ones stay contained. */
  medications: Medication[];
  conditions: Condition[];
  procedures: Procedure[];
  encounters: Encounter[];
  /**
   * Data sets whose search hit the page or `_count` bound, so older entries may be cut off: the
   * rules say so instead of treating the cut-off part as normal.
   */
  truncated: DataSetName[];
  /**
   * Resources the data layer received but did not use, counted by type and reason (another
   * patient's, or a shape the rules cannot read). Cards say what was not used; never ids.
   */
  unused: UnusedResources[];
}

export type UnusedReason = 'other-patient' | 'no-patient-reference' | 'malformed';

export interface UnusedResources {
  resourceType: string;
  reason: UnusedReason;
  count: number;
  /** A short, PHI-free description of the first problem seen (e.g. `code.coding: expected array`). */
  detail?: string;
}

/** A PatientData with every data set empty: the start of assembling one. */
export function emptyPatientData(): PatientData {
  return {
    vitals: [],
    labs: [],
    medicationAdministrations: [],
    medications: [],
    conditions: [],
    procedures: [],
    encounters: [],
    truncated: [],
    unused: [],
  };
}
