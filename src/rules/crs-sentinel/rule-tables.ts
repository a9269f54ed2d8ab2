/**
 * The unit tables, bounds, statuses and text patterns the CRS engine uses, and the types of its
 * concepts, in one place, each with its source. The code lists (agents and their names,
 * observation, device, diagnosis and route codes) are FHIR ValueSets in `valuesets/`, read through
 * the CodeIndex (code-index.ts); numeric thresholds and windows that a site may tune live in
 * rule-config.ts (DEFAULT_RULE_CONFIG) and cite the same sources.
 *
 * Sources:
 * - [ASTCT] Lee DW, Santomasso BD, et al. ASTCT consensus grading for cytokine release syndrome.
 *   Biol Blood Marrow Transplant 2019;25(4):625-638. doi:10.1016/j.bbmt.2018.12.758
 * - [SEPSIS3] Singer M, et al. The Third International Consensus Definitions for Sepsis and Septic
 *   Shock (Sepsis-3). JAMA 2016;315(8):801-810. doi:10.1001/jama.2016.0287
 * - [FHIR-VS] FHIR R4 vital-signs profile and US Core (LOINC codes, UCUM units).
 * - [LABELS] FDA product labels (DailyMed) of each CAR-T product, bispecific and tocilizumab.
 * - [RXNORM] RxNorm via FDA NDC records (product-level codes; ingredient codes of most cellular
 *   products are not published: marked "check").
 * - [DESIGN] a design judgement of this project, not a guideline: documented in
 *   docs/clinical-logic.md and configurable where it is a number.
 */

export const SYSTEM = {
  loinc: 'http://loinc.org',
  snomed: 'http://snomed.info/sct',
  rxnorm: 'http://www.nlm.nih.gov/research/umls/rxnorm',
  icd10cm: 'http://hl7.org/fhir/sid/icd-10-cm',
  icd9cm: 'http://hl7.org/fhir/sid/icd-9-cm',
  icd10pcs: 'http://www.cms.gov/Medicare/Coding/ICD10',
  cpt: 'http://www.ama-assn.org/go/cpt',
  hcpcs: 'https://www.cms.gov/Medicare/Coding/HCPCSReleaseCodeSets',
  ucum: 'http://unitsofmeasure.org',
  dataAbsentReason: 'http://terminology.hl7.org/CodeSystem/data-absent-reason',
} as const;

/**
 * Code systems that are the same code system under another URL. [DESIGN] WHO ICD-10 shares the
 * A40/A41 sepsis codes with ICD-10-CM. Sites add their own aliases in their site-codes file.
 */
export const DEFAULT_SYSTEM_ALIASES: Readonly<Record<string, string>> = {
  'http://hl7.org/fhir/sid/icd-10': SYSTEM.icd10cm,
  'urn:oid:2.16.840.1.113883.6.90': SYSTEM.icd10cm,
  'urn:oid:2.16.840.1.113883.6.103': SYSTEM.icd9cm,
  'urn:oid:2.16.840.1.113883.6.88': SYSTEM.rxnorm,
  'urn:oid:2.16.840.1.113883.6.1': SYSTEM.loinc,
  'urn:oid:2.16.840.1.113883.6.96': SYSTEM.snomed,
  'http://www.nlm.nih.gov/research/umls/rxnorm/': SYSTEM.rxnorm,
  // HCPCS Level II under its HL7 terminology URI (clinical reference section 3).
  'http://terminology.hl7.org/CodeSystem/HCPCS-all-codes': SYSTEM.hcpcs,
  'urn:oid:2.16.840.1.113883.6.285': SYSTEM.hcpcs,
};

// ---------------------------------------------------------------------------------------------
// Observations
// ---------------------------------------------------------------------------------------------

/** What a reading measures, after normalization. */
export type ReadingKind =
  | 'temperature'
  | 'heart-rate'
  | 'respiratory-rate'
  | 'spo2'
  | 'systolic-bp'
  | 'diastolic-bp'
  | 'mean-arterial-pressure'
  | 'oxygen-flow'
  | 'fio2'
  | 'body-weight'
  | 'gcs-total'
  | 'lactate'
  | 'il-6'
  | 'crp'
  | 'ferritin'
  | 'wbc';

/** Vital-sign kinds: their absence in the recent window is a monitoring data gap. */
export const VITAL_SIGN_KINDS: readonly ReadingKind[] = [
  'temperature',
  'heart-rate',
  'respiratory-rate',
  'spo2',
  'systolic-bp',
  'mean-arterial-pressure',
];

export interface UnitConversion {
  /** The unit the engine works in. */
  canonical: string;
  /** Accepted unit spellings (UCUM code or unit text) and how to convert each to canonical. */
  units: Readonly<Record<string, (v: number) => number>>;
  /** Readings with no unit at all are accepted (scores). */
  unitless?: boolean;
}

const same = (v: number): number => v;
const fahrenheitToCelsius = (v: number): number => ((v - 32) * 5) / 9;

/** Unit spellings seen in real data (MIMIC sends unit "F" with UCUM code "[degF]"). */
export const UNIT_CONVERSIONS: Readonly<Record<ReadingKind, UnitConversion>> = {
  temperature: {
    canonical: 'Cel',
    units: {
      Cel: same,
      '°C': same,
      K: (v) => v - 273.15, // kelvin, seen in real EHR feeds (clinical reference section 3)
      degC: same,
      C: same,
      '[degF]': fahrenheitToCelsius,
      degF: fahrenheitToCelsius,
      '°F': fahrenheitToCelsius,
      F: fahrenheitToCelsius,
    },
  },
  'heart-rate': {
    canonical: '/min',
    units: { '/min': same, '{beats}/min': same, 'beats/minute': same, 'beats/min': same, bpm: same },
  },
  'respiratory-rate': {
    canonical: '/min',
    units: { '/min': same, '{breaths}/min': same, 'breaths/minute': same, 'breaths/min': same },
  },
  spo2: { canonical: '%', units: { '%': same, percent: same } },
  'systolic-bp': { canonical: 'mm[Hg]', units: mmHgUnits() },
  'diastolic-bp': { canonical: 'mm[Hg]', units: mmHgUnits() },
  'mean-arterial-pressure': { canonical: 'mm[Hg]', units: mmHgUnits() },
  'oxygen-flow': {
    canonical: 'L/min',
    units: { 'L/min': same, 'l/min': same, LPM: same, 'mL/min': (v) => v / 1000 },
  },
  fio2: { canonical: '%', units: { '%': same, percent: same } },
  'body-weight': {
    canonical: 'kg',
    units: {
      kg: same,
      g: (v) => v / 1000,
      '[lb_av]': lbToKg,
      lb: lbToKg,
      lbs: lbToKg,
      '[oz_av]': (v) => v * 0.0283495,
    },
  },
  'gcs-total': {
    canonical: '{score}',
    units: { '{score}': same, score: same, '{Score}': same },
    unitless: true,
  },
  lactate: { canonical: 'mmol/L', units: { 'mmol/L': same, 'mmol/l': same, 'mg/dL': (v) => v / 9.008 } },
  'il-6': { canonical: 'pg/mL', units: { 'pg/mL': same, 'ng/L': same, 'pg/ml': same } },
  crp: { canonical: 'mg/L', units: { 'mg/L': same, 'mg/l': same, 'mg/dL': (v) => v * 10 } },
  ferritin: { canonical: 'ng/mL', units: { 'ng/mL': same, 'ug/L': same, 'µg/L': same, 'ng/ml': same } },
  wbc: {
    canonical: '10*9/L',
    units: {
      '10*9/L': same,
      '10*3/uL': same,
      '10^3/uL': same,
      'K/uL': same,
      '10*3/mm3': same,
      '/uL': (v) => v / 1000,
    },
  },
};

function lbToKg(v: number): number {
  return v * 0.45359237;
}
function mmHgUnits(): Record<string, (v: number) => number> {
  return { 'mm[Hg]': same, mmHg: same, 'mm Hg': same, kPa: (v) => v * 7.50062 };
}

/**
 * Physiological bounds in canonical units: readings outside are implausible, ignored and
 * reported. [DESIGN] wide bounds meant to catch unit and entry errors (a "°F" 34.8 = 1.6 °C, an
 * SpO2 of 10 %), never to judge a plausible value.
 */
export const PHYSIOLOGICAL_BOUNDS: Readonly<Record<ReadingKind, readonly [number, number]>> = {
  temperature: [25, 45],
  'heart-rate': [15, 300],
  'respiratory-rate': [2, 80],
  spo2: [50, 100],
  'systolic-bp': [30, 300],
  'diastolic-bp': [10, 200],
  'mean-arterial-pressure': [20, 250],
  'oxygen-flow': [0, 80],
  fio2: [21, 100],
  'body-weight': [0.3, 400],
  'gcs-total': [3, 15],
  lactate: [0, 30],
  'il-6': [0, 1_000_000],
  crp: [0, 1000],
  ferritin: [0, 500_000],
  wbc: [0, 1000],
};

/** Observation statuses that mean the value must not be used. [FHIR R4 ObservationStatus] */
export const UNUSABLE_OBSERVATION_STATUSES: readonly string[] = [
  'entered-in-error',
  'cancelled',
  'registered',
];

/**
 * Administration / procedure statuses that mean the drug was (being) given. [FHIR R4] `stopped`
 * is "stopped before completion": some of it was given, so it counts (clinical reference
 * section 3); so does `on-hold` ("temporarily halted, expected to continue later": it had
 * started) [DESIGN]; only `not-done`, `entered-in-error` (and unknown or planned states) mean
 * nothing was.
 */
export const GIVEN_STATUSES: readonly string[] = ['completed', 'in-progress', 'stopped', 'on-hold'];

// ---------------------------------------------------------------------------------------------
// Oxygen support (ASTCT hypoxia domain)
// ---------------------------------------------------------------------------------------------

/** Oxygen support classes in ASTCT order; each maps to the hypoxia-domain grade. [ASTCT] */
export type OxygenSupportClass = 'none' | 'low-flow' | 'high-flow' | 'positive-pressure';
export const OXYGEN_CLASS_GRADE: Readonly<Record<OxygenSupportClass, 0 | 2 | 3 | 4>> = {
  none: 0,
  'low-flow': 2, // nasal cannula <= 6 L/min or blow-by
  'high-flow': 3, // high-flow nasal cannula > 6 L/min, facemask, non-rebreather, Venturi
  'positive-pressure': 4, // CPAP, BiPAP, intubation and mechanical ventilation
};

/**
 * Device text (display or CodeableConcept.text of 107117-4) to class, first match wins, most
 * intensive first. [ASTCT] classes; [DESIGN] keyword matching, since device codes vary between
 * EHRs (sites map their own device codes in the site-codes file).
 */
export const OXYGEN_DEVICE_KEYWORDS: readonly { pattern: RegExp; supportClass: OxygenSupportClass }[] = [
  {
    // A tracheostomy by itself is an airway, not positive pressure (clinical reference section 1):
    // only a ventilator or CPAP/BiPAP on it is.
    pattern:
      /\b(cpap|bipap|bi-?level|niv|non-?invasive (positive pressure )?ventilation|ventilator|mechanical ventilation|endotracheal|intubat)/i,
    supportClass: 'positive-pressure',
  },
  { pattern: /\b(high[- ]?flow|hfnc|optiflow|airvo)/i, supportClass: 'high-flow' },
  // A trach mask or collar delivers oxygen like a face mask. [DESIGN]
  {
    pattern: /\b(mask|non-?rebreather|nrb|venturi|face tent|trach(eostomy)? collar)/i,
    supportClass: 'high-flow',
  },
  { pattern: /\b(nasal cannula|cannula|nasal prongs|blow-?by)/i, supportClass: 'low-flow' },
  { pattern: /\b(room air|trach(eostomy)?)\b/i, supportClass: 'none' },
];

// ---------------------------------------------------------------------------------------------
// Medications
// ---------------------------------------------------------------------------------------------

export type MedicationClass =
  | 'car-t'
  | 'bispecific'
  | 'tocilizumab'
  | 'anticytokine'
  | 'corticosteroid'
  | 'antipyretic'
  | 'vasopressor'
  | 'inotrope'
  | 'antibiotic';

/**
 * What an antimicrobial says about infection (Sepsis-3 "suspected infection", Seymour CW et al.
 * JAMA 2016;315(8):762; clinical reference section 4):
 * - treatment: empiric or targeted treatment (broad-spectrum antibacterials, antifungal treatment);
 * - surgical-prophylaxis: also routine around surgery (cefazolin, cefuroxime, IV vancomycin):
 *   counts only when paired with a culture or continued past the prophylaxis period;
 * - prophylaxis: routine around CAR-T and bispecific therapy (TMP-SMX, acyclovir/valacyclovir,
 *   levofloxacin/ciprofloxacin, fluconazole/posaconazole): never evidence of infection by itself;
 * - non-systemic: not absorbed (rifaximin, oral neomycin, nystatin, fidaxomicin): never counts.
 */
export type AntimicrobialIntent = 'treatment' | 'surgical-prophylaxis' | 'prophylaxis' | 'non-systemic';

/** An agent as the rules see it, derived from the medication ValueSets (code-index.ts). */
export interface MedicationConcept {
  /** Stable id (generic name, kebab-case). */
  id: string;
  /** Generic name as shown on cards. */
  name: string;
  medicationClass: MedicationClass;
  /** Generic, brand and common names matched as whole words in code displays and text. */
  names: readonly string[];
  /** RxNorm codes (ingredient and product). */
  rxnorm: readonly string[];
  /**
   * Other codes that name the product or its administration, on Procedures and administrations:
   * ICD-10-PCS, CPT, HCPCS Level II Q-codes (cellular products), and a site's own (SITE_VALUESETS).
   */
  procedureCodes?: readonly { system: string; code: string }[];
  /** Vasopressors: counts toward "several vasopressors" (ASTCT grade 4). */
  countsTowardSeveral?: boolean;
  /** Antimicrobials: what a dose says about infection. */
  intent?: AntimicrobialIntent;
  /** Antimicrobials that are only systemic when given IV (oral vancomycin stays in the gut). */
  systemicOnlyIv?: boolean;
  /** A vasopressor with strong inotropic action (vasopressors-inotropic.json). */
  inotropic?: boolean;
  /** Its label manages CRS without tocilizumab (crs-labels-without-tocilizumab.json). */
  crsLabelWithoutTocilizumab?: boolean;
}

// ---------------------------------------------------------------------------------------------
// Route and form of an administration
// ---------------------------------------------------------------------------------------------

/** Route or form words (normalised text) of the same kinds, for routes sent as text only. */
export const LOCAL_ROUTE_WORDS: readonly string[] = [
  'im',
  'intramuscular',
  'sc',
  'subcut',
  'subcutaneous',
  'sq',
  'nasal',
  'intranasal',
  'spray',
  'ophth',
  'ophthalmic',
  'eye',
  'drops',
  'topical',
  'cream',
  'ointment',
  'gel',
  'inhaled',
  'inhalation',
  'nebulized',
  'neb',
  'racepinephrine',
  'intradermal',
  'infiltration',
  'rectal',
  'suppository',
  'vaginal',
  'otic',
  'dental',
  'autoinjector',
  'auto injector',
  'epipen',
  'auvi q',
];
export const ENTERAL_ROUTE_WORDS: readonly string[] = [
  'po',
  'oral',
  'enteral',
  'liquid',
  'capsule',
  'tablet',
  'tab',
  'suspension',
  'ng tube',
  'per tube',
];
/**
 * Route or form words (normalised text) of doses that act where applied (skin, eye, ear, nose,
 * airways), for routes sent as text only: such a steroid or antipyretic is no fever-masking
 * therapy (ASTCT 2019 Table 1 footnote; the coded routes are the `surface-routes` ValueSet).
 * [DESIGN] "drops" alone is not here: paediatric acetaminophen comes as oral drops.
 */
export const SURFACE_ROUTE_WORDS: readonly string[] = [
  'topical',
  'cream',
  'ointment',
  'gel',
  'lotion',
  'ophth',
  'ophthalmic',
  'eye',
  'otic',
  'ear',
  'nasal',
  'intranasal',
  'inhaled',
  'inhalation',
  'inhaler',
  'nebulized',
  'nebulised',
  'neb',
  'mouthwash',
  'dental',
];
export const IV_ROUTE_WORDS: readonly string[] = ['iv', 'intravenous', 'intravenously', 'i v'];

/**
 * Local anaesthetics: "lidocaine with epinephrine" is never a vasopressor. [clinical reference
 * section 1]
 */
export const LOCAL_ANAESTHETIC_NAMES: readonly string[] = [
  'lidocaine',
  'lignocaine',
  'xylocaine',
  'bupivacaine',
  'marcaine',
  'sensorcaine',
  'articaine',
  'septocaine',
  'mepivacaine',
  'prilocaine',
  'ropivacaine',
  'chloroprocaine',
  'tetracaine',
];

/**
 * Words that say a dose was pushed, not infused ("100 mcg IV push", "phenylephrine bolus"): a
 * single dose even when charted with a short period. [DESIGN] single IV push doses do not count
 * as vasopressor support (docs/clinical-logic.md section 5).
 */
export const PUSH_WORDS: readonly string[] = ['push', 'ivp', 'bolus', 'push dose'];

/** Words that say an administration is an infusion (dosage text, method, category, product). */
export const INFUSION_WORDS: readonly string[] = [
  'infusion',
  'drip',
  'drips',
  'continuous',
  'premix',
  'titrate',
  'titration',
  'mcg kg min',
  'mcg min',
  'ug kg min',
];

// ---------------------------------------------------------------------------------------------
// Diagnoses
// ---------------------------------------------------------------------------------------------

/** Condition verification statuses that rule a diagnosis out. [FHIR R4] */
export const EXCLUDED_VERIFICATION_STATUSES: readonly string[] = ['refuted', 'entered-in-error'];

// ---------------------------------------------------------------------------------------------
// Fluid resuscitation
// ---------------------------------------------------------------------------------------------

/**
 * Crystalloids and albumin given as a bolus: "hypotension needing fluids" is circulatory failure in
 * a sepsis context (Surviving Sepsis Campaign 2021: 30 mL/kg crystalloid for sepsis-induced
 * hypoperfusion). [DESIGN] an administration counts as a bolus when its text says "bolus" or its
 * dose is at least FLUID_BOLUS_MIN_ML: a carrier bag of a drug (norepinephrine in saline) is not.
 */
export const FLUID_NAMES: readonly string[] = [
  'lactated ringer',
  'lactated ringers',
  'ringer lactate',
  'ringers lactate',
  'hartmann',
  'plasma lyte',
  'plasmalyte',
  'normal saline',
  'sodium chloride 0 9',
  'nacl 0 9',
  'albumin',
];
export const FLUID_BOLUS_MIN_ML = 250;
