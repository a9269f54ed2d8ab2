/**
 * The crs-sentinel service definition, published at GET /cds-services
 * (https://cds-hooks.hl7.org/2.0/#response). The same prefetch templates drive the data layer's
 * own fetch when the EHR did not prefetch a key, so the two can never drift apart.
 *
 * CDS Hooks 2.0 templates have no date arithmetic, so every search is bounded by `_sort` (newest
 * first) and `_count` (page size). Where a bound can cut data off, the data layer follows `next`
 * links up to a page limit and stops once a page is older than the rules' look-back horizon; a
 * search that hits the page limit is reported as truncated on the card, never read as normal.
 */
import type { DataSetName } from '../rules/crs-sentinel/patient-data.js';

export const CRS_SENTINEL_SERVICE_ID = 'crs-sentinel';
export const PATIENT_VIEW_HOOK = 'patient-view';

const LOINC = 'http://loinc.org';

/**
 * LOINC codes the rules read (clinical reference, section 3; FHIR R4 vital-signs profile).
 * Kept as a search filter only: the rules' own code tables decide what each code means.
 */
const VITAL_SIGN_LOINC = [
  '8310-5', // body temperature
  '8331-1', // oral temperature
  '8328-7', // axillary temperature
  '8332-9', // rectal temperature
  '8333-7', // tympanic temperature
  '8867-4', // heart rate
  '9279-1', // respiratory rate
  '2708-6', // oxygen saturation in arterial blood
  '59408-5', // oxygen saturation by pulse oximetry
  '85354-9', // blood pressure panel
  '55284-4', // blood pressure systolic and diastolic (older panel)
  '8480-6', // systolic blood pressure
  '8478-0', // mean arterial pressure
  '3151-8', // inhaled oxygen flow rate
  '3150-0', // inhaled oxygen concentration (FiO2)
  '107117-4', // method of oxygen delivery
  '9269-2', // Glasgow coma score total (qSOFA mentation)
] as const;

const BODY_WEIGHT_LOINC = ['29463-7', '3141-9'] as const; // body weight, measured body weight

const LAB_LOINC = [
  '26881-3', // interleukin 6
  '1988-5', // C reactive protein
  '2276-4', // ferritin
  '2524-7', // lactate in serum or plasma
  '32693-4', // lactate in blood
  '6690-2', // leukocytes (SIRS)
] as const;

const codeParam = (codes: readonly string[]): string => codes.map((c) => `${LOINC}|${c}`).join(',');

export interface PrefetchKey {
  /** The PatientData field the key's resources land in. */
  dataSet: DataSetName;
  /** A CDS Hooks 2.0 prefetch template: `{{context.patientId}}` is the only token used. */
  template: string;
}

const PATIENT = '{{context.patientId}}';

/** Prefetch keys, in the order the data layer reports them. */
export const PREFETCH_KEYS = {
  patient: { dataSet: 'patient', template: `Patient/${PATIENT}` },
  vitals: {
    dataSet: 'vitals',
    template: `Observation?patient=${PATIENT}&code=${codeParam(VITAL_SIGN_LOINC)}&_sort=-date&_count=500`,
  },
  // Weight is asked for alone: a busy ICU chart can push the last weight past the vitals bound.
  bodyWeight: {
    dataSet: 'vitals',
    template: `Observation?patient=${PATIENT}&code=${codeParam(BODY_WEIGHT_LOINC)}&_sort=-date&_count=1`,
  },
  labs: {
    dataSet: 'labs',
    template: `Observation?patient=${PATIENT}&code=${codeParam(LAB_LOINC)}&_sort=-date&_count=200`,
  },
  // Not filtered by code: real hospitals code these with local formulary codes (see MIMIC).
  // `_include` brings referenced Medications (a product known only through its Medication); an
  // EHR that cannot include them leaves them to the data layer's own Medication search.
  medicationAdministrations: {
    dataSet: 'medicationAdministrations',
    template: `MedicationAdministration?patient=${PATIENT}&_sort=-effective-time&_count=500&_include=MedicationAdministration:medication`,
  },
  // Not filtered by code: ICD-10-CM A40/A41 are code families a token search cannot prefix-match.
  conditions: {
    dataSet: 'conditions',
    template: `Condition?patient=${PATIENT}&_sort=-recorded-date&_count=200`,
  },
  procedures: { dataSet: 'procedures', template: `Procedure?patient=${PATIENT}&_sort=-date&_count=100` },
  encounters: { dataSet: 'encounters', template: `Encounter?patient=${PATIENT}&_sort=-date&_count=20` },
} as const satisfies Record<string, PrefetchKey>;

export type PrefetchKeyName = keyof typeof PREFETCH_KEYS;
export const PREFETCH_KEY_NAMES = Object.keys(PREFETCH_KEYS) as PrefetchKeyName[];

export interface CdsServiceDefinition {
  hook: string;
  id: string;
  title: string;
  description: string;
  prefetch: Record<string, string>;
  usageRequirements?: string;
}

export const CRS_SENTINEL_SERVICE: CdsServiceDefinition = {
  hook: PATIENT_VIEW_HOOK,
  id: CRS_SENTINEL_SERVICE_ID,
  title: 'CRS sentinel: cytokine release syndrome after CAR-T, bispecifics or in sepsis',
  description:
    'Reads recent vital signs, oxygen support and medication administrations; when a recent CAR-T or ' +
    'T-cell-engaging bispecific dose (or a sepsis context) meets CRS-consistent vitals, returns an ' +
    'advisory card with the ASTCT 2019 grade, the evidence and what guidelines advise considering.',
  prefetch: Object.fromEntries(PREFETCH_KEY_NAMES.map((k) => [k, PREFETCH_KEYS[k].template])),
  usageRequirements:
    'Needs read access to Patient, Observation, MedicationAdministration, Medication, Condition, ' +
    'Procedure and Encounter for the patient in context.',
};
