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
import {
  LOINC_OXYGEN_DEVICE,
  LOINC_PANELS,
  LOINC_READING_KIND,
  SYSTEM,
  type ReadingKind,
} from '../rules/crs-sentinel/rule-tables.js';

export const CRS_SENTINEL_SERVICE_ID = 'crs-sentinel';
export const PATIENT_VIEW_HOOK = 'patient-view';

/**
 * The Observation codes to ask for come from the rules' own code table (rule-tables.ts), so a code
 * the rules learn is fetched too: lab kinds go to `labs`, body weight to `bodyWeight`, every other
 * reading kind (with the BP panels and the oxygen-device code) to `vitals`.
 */
const LAB_KINDS: ReadonlySet<ReadingKind> = new Set(['lactate', 'il-6', 'crp', 'ferritin', 'wbc']);
const loincCodes = (keep: (kind: ReadingKind) => boolean): string[] =>
  Object.entries(LOINC_READING_KIND)
    .filter(([, kind]) => keep(kind))
    .map(([code]) => code);

const BODY_WEIGHT_LOINC = loincCodes((kind) => kind === 'body-weight');
const LAB_LOINC = loincCodes((kind) => LAB_KINDS.has(kind));
const VITAL_SIGN_LOINC = [
  ...loincCodes((kind) => kind !== 'body-weight' && !LAB_KINDS.has(kind)),
  ...LOINC_PANELS,
  LOINC_OXYGEN_DEVICE,
];

const codeParam = (codes: readonly string[]): string => codes.map((c) => `${SYSTEM.loinc}|${c}`).join(',');

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
