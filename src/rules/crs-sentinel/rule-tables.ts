/**
 * Every code list, unit table, bound and classification the CRS engine uses, in one place, each
 * with its source. Numeric thresholds and windows that a site may tune live in rule-config.ts
 * (DEFAULT_RULE_CONFIG) and cite the same sources.
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

/** LOINC code of a single-valued Observation (or component) to the kind it measures. [FHIR-VS] */
export const LOINC_READING_KIND: Readonly<Record<string, ReadingKind>> = {
  '8310-5': 'temperature', // body temperature
  '8331-1': 'temperature', // oral
  '8328-7': 'temperature', // axillary
  '8332-9': 'temperature', // rectal
  '8333-7': 'temperature', // tympanic
  '8329-5': 'temperature', // core body temperature (clinical reference section 3)
  '8867-4': 'heart-rate',
  '9279-1': 'respiratory-rate',
  '2708-6': 'spo2', // oxygen saturation in arterial blood (US Core sends both)
  '59408-5': 'spo2', // oxygen saturation by pulse oximetry
  '8480-6': 'systolic-bp',
  '8462-4': 'diastolic-bp',
  '8478-0': 'mean-arterial-pressure',
  '3151-8': 'oxygen-flow', // inhaled oxygen flow rate (not 3150-0: one public source swaps them)
  '3150-0': 'fio2', // inhaled oxygen concentration
  '19994-3': 'fio2', // oxygen/total gas setting [Volume Fraction] Ventilator (clinical reference section 3)
  '29463-7': 'body-weight',
  '3141-9': 'body-weight', // measured (check)
  '8335-2': 'body-weight', // estimated (check)
  '9269-2': 'gcs-total',
  '2524-7': 'lactate', // serum/plasma
  '32693-4': 'lactate', // blood
  '26881-3': 'il-6',
  '1988-5': 'crp',
  '2276-4': 'ferritin',
  '6690-2': 'wbc',
};

/**
 * Body-fluid cultures (LOINC), for Sepsis-3's "suspected infection" pairing of a culture with an
 * antimicrobial [Seymour CW et al. JAMA 2016;315:762]: blood (600-7), urine (630-4), unspecified
 * specimen (6463-4). Any result status but entered-in-error or cancelled means it was drawn.
 */
export const CULTURE_LOINC: readonly string[] = ['600-7', '630-4', '6463-4'];

/** Panels whose components are read by their own codes, never by position. [FHIR-VS] */
export const LOINC_PANELS: readonly string[] = ['85354-9', '55284-4'];

/** Oxygen delivery method (device) Observation; its value is coded. [FHIR-VS] (not 41925-9) */
export const LOINC_OXYGEN_DEVICE = '107117-4';

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
 * section 3); only `not-done`, `entered-in-error` (and unknown or planned states) mean nothing was.
 */
export const GIVEN_STATUSES: readonly string[] = ['completed', 'in-progress', 'stopped'];

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

/**
 * Oxygen devices coded in SNOMED CT (the value of LOINC 107117-4), for feeds that send a code
 * without a display. [clinical reference section 3] ("check" codes are marked); sites map their
 * own device codes in the site-codes file.
 */
export const SNOMED_OXYGEN_DEVICES: Readonly<Record<string, OxygenSupportClass>> = {
  '336623009': 'low-flow', // oxygen nasal cannula (check)
  '426854004': 'high-flow', // high flow oxygen nasal cannula
  '706226000': 'positive-pressure', // CPAP/BiPAP mask
  '26412008': 'positive-pressure', // endotracheal tube
  '129121000': 'none', // tracheostomy tube: an airway, not positive pressure by itself
};

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
   * ICD-10-PCS, CPT, HCPCS Level II Q-codes (cellular products).
   */
  procedureCodes?: readonly { system: string; code: string }[];
  /** Vasopressors: counts toward "several vasopressors" (ASTCT grade 4). */
  countsTowardSeveral?: boolean;
  /** Antimicrobials: what a dose says about infection. */
  intent?: AntimicrobialIntent;
  /** Antimicrobials that are only systemic when given IV (oral vancomycin stays in the gut). */
  systemicOnlyIv?: boolean;
}

const pcs = (...codes: string[]): { system: string; code: string }[] =>
  codes.map((code) => ({ system: SYSTEM.icd10pcs, code }));
const hcpcs = (...codes: string[]): { system: string; code: string }[] =>
  codes.map((code) => ({ system: SYSTEM.hcpcs, code }));

/**
 * Immune effector cell products (CAR-T, and the TCR T-cell product afami-cel, which carries the
 * same boxed CRS warning). Codes from the clinical reference (FDA NDC records, ICD-10-PCS, HCPCS
 * Q-codes: Q2053/Q2054 confirmed, the others "check"). [LABELS][RXNORM]
 */
export const CAR_T_PRODUCTS: readonly MedicationConcept[] = [
  {
    id: 'tisagenlecleucel',
    name: 'tisagenlecleucel',
    medicationClass: 'car-t',
    names: ['tisagenlecleucel', 'tisa-cel', 'kymriah'],
    rxnorm: [],
    procedureCodes: [...pcs('XW033J7', 'XW043J7'), ...hcpcs('Q2042')],
  },
  {
    id: 'axicabtagene-ciloleucel',
    name: 'axicabtagene ciloleucel',
    medicationClass: 'car-t',
    names: ['axicabtagene ciloleucel', 'axi-cel', 'yescarta'],
    rxnorm: ['1987402', '1987407'],
    procedureCodes: [...pcs('XW033H7', 'XW043H7'), ...hcpcs('Q2041')],
  },
  {
    id: 'brexucabtagene-autoleucel',
    name: 'brexucabtagene autoleucel',
    medicationClass: 'car-t',
    names: ['brexucabtagene autoleucel', 'brexu-cel', 'tecartus'],
    rxnorm: ['2387347', '2387352', '2572002', '2572005'],
    procedureCodes: [...pcs('XW033M7', 'XW043M7', 'XW23346', 'XW24346'), ...hcpcs('Q2053')],
  },
  {
    id: 'lisocabtagene-maraleucel',
    name: 'lisocabtagene maraleucel',
    medicationClass: 'car-t',
    names: ['lisocabtagene maraleucel', 'liso-cel', 'breyanzi'],
    rxnorm: ['2479140', '2479145'],
    procedureCodes: [...pcs('XW23376', 'XW24376'), ...hcpcs('Q2054')],
  },
  {
    id: 'idecabtagene-vicleucel',
    name: 'idecabtagene vicleucel',
    medicationClass: 'car-t',
    names: ['idecabtagene vicleucel', 'ide-cel', 'abecma'],
    rxnorm: [],
    procedureCodes: [...pcs('XW033K7', 'XW043K7'), ...hcpcs('Q2055')],
  },
  {
    id: 'ciltacabtagene-autoleucel',
    name: 'ciltacabtagene autoleucel',
    medicationClass: 'car-t',
    names: ['ciltacabtagene autoleucel', 'cilta-cel', 'carvykti'],
    rxnorm: ['2594780'],
    procedureCodes: [...pcs('XW033A7', 'XW043A7'), ...hcpcs('Q2056')],
  },
  {
    id: 'obecabtagene-autoleucel',
    name: 'obecabtagene autoleucel',
    medicationClass: 'car-t',
    names: ['obecabtagene autoleucel', 'obe-cel', 'aucatzyl'],
    rxnorm: ['2700168', '2700173', '2700174', '2700175'],
  },
  {
    id: 'afamitresgene-autoleucel',
    name: 'afamitresgene autoleucel',
    medicationClass: 'car-t',
    names: ['afamitresgene autoleucel', 'afami-cel', 'tecelra'],
    rxnorm: ['2690269', '2690275'],
  },
  {
    // Administration coded without the product: ICD-10-PCS before Oct 2021; CPT 0540T (Category
    // III administration) and 38228 (Category I, check dates).
    id: 'car-t-unspecified',
    name: 'CAR-T cell therapy',
    medicationClass: 'car-t',
    names: ['chimeric antigen receptor t-cell', 'car-t cell therapy', 'car t-cell therapy'],
    rxnorm: [],
    procedureCodes: [
      ...pcs('XW033C3', 'XW043C3'),
      { system: SYSTEM.cpt, code: '0540T' },
      { system: SYSTEM.cpt, code: '38228' },
    ],
  },
];

/** T-cell-engaging bispecific antibodies. [LABELS][RXNORM] (ingredient codes: check) */
export const BISPECIFICS: readonly MedicationConcept[] = [
  ['teclistamab', ['teclistamab', 'tecvayli'], ['2619432', '2619438', '2619441', '2619444']],
  ['talquetamab', ['talquetamab', 'talvey'], []],
  ['elranatamab', ['elranatamab', 'elrexfio'], []],
  ['linvoseltamab', ['linvoseltamab', 'lynozyfic'], []],
  ['epcoritamab', ['epcoritamab', 'epkinly'], ['2637399', '2637405', '2637408', '2637411']],
  ['glofitamab', ['glofitamab', 'columvi'], ['2639786', '2639792', '2639794', '2639795']],
  ['mosunetuzumab', ['mosunetuzumab', 'lunsumio'], ['2729433', '2729436', '2729439', '2729442']],
  ['odronextamab', ['odronextamab', 'ordspono'], []],
  ['tarlatamab', ['tarlatamab', 'imdelltra'], []],
  ['tebentafusp', ['tebentafusp', 'kimmtrak'], ['2590748', '2590754']],
  ['blinatumomab', ['blinatumomab', 'blincyto'], ['1597258']],
].map(([id, names, rxnorm]) => ({
  id: id as string,
  name: id as string,
  medicationClass: 'bispecific' as const,
  names: names as string[],
  rxnorm: rxnorm as string[],
}));

/**
 * Drugs that lower fever. [ASTCT] "antipyretic or anticytokine therapy such as tocilizumab or
 * steroids": after CRS was present, fever is no longer required to grade; given before any fever
 * (premedication) they never waive it. More agents from the clinical reference section 3.
 */
export const FEVER_MASKING_AGENTS: readonly MedicationConcept[] = [
  {
    id: 'tocilizumab',
    name: 'tocilizumab',
    medicationClass: 'tocilizumab',
    names: ['tocilizumab', 'actemra', 'tofidence', 'tyenne'],
    rxnorm: ['612865', '1657974', '1657979', '1657981', '1657976', '1657980', '1657982'],
  },
  {
    id: 'siltuximab',
    name: 'siltuximab',
    medicationClass: 'anticytokine',
    names: ['siltuximab', 'sylvant'],
    rxnorm: [],
  },
  {
    id: 'anakinra',
    name: 'anakinra',
    medicationClass: 'anticytokine',
    names: ['anakinra', 'kineret'],
    rxnorm: [],
  },
  {
    id: 'dexamethasone',
    name: 'dexamethasone',
    medicationClass: 'corticosteroid',
    names: ['dexamethasone', 'decadron'],
    rxnorm: ['3264'],
  },
  {
    id: 'methylprednisolone',
    name: 'methylprednisolone',
    medicationClass: 'corticosteroid',
    names: ['methylprednisolone', 'solu-medrol'],
    rxnorm: ['6902'],
  },
  {
    id: 'hydrocortisone',
    name: 'hydrocortisone',
    medicationClass: 'corticosteroid',
    names: ['hydrocortisone', 'solu-cortef'],
    rxnorm: [],
  },
  {
    id: 'prednisone',
    name: 'prednisone',
    medicationClass: 'corticosteroid',
    names: ['prednisone'],
    rxnorm: [],
  },
  {
    id: 'prednisolone',
    name: 'prednisolone',
    medicationClass: 'corticosteroid',
    names: ['prednisolone'],
    rxnorm: [],
  },
  {
    id: 'acetaminophen',
    name: 'acetaminophen',
    medicationClass: 'antipyretic',
    names: ['acetaminophen', 'paracetamol', 'tylenol', 'ofirmev'],
    rxnorm: ['161'],
  },
  {
    id: 'ibuprofen',
    name: 'ibuprofen',
    medicationClass: 'antipyretic',
    names: ['ibuprofen', 'motrin', 'advil'],
    rxnorm: [],
  },
  {
    id: 'ketorolac',
    name: 'ketorolac',
    medicationClass: 'antipyretic',
    names: ['ketorolac', 'toradol'],
    rxnorm: [],
  },
  { id: 'naproxen', name: 'naproxen', medicationClass: 'antipyretic', names: ['naproxen'], rxnorm: [] },
  {
    id: 'metamizole',
    name: 'metamizole',
    medicationClass: 'antipyretic',
    names: ['metamizole', 'dipyrone'],
    rxnorm: [],
  },
];

/**
 * Vasoactive drugs. [ASTCT] names no list: [DESIGN] count norepinephrine, epinephrine,
 * phenylephrine, dopamine and angiotensin II; vasopressin and terlipressin are vasopressors that
 * never count toward "several"; dobutamine and milrinone are inotropes and are not counted
 * (clinical reference section 1, "check"). Only systemic IV infusions count (medication-events).
 */
export const VASOACTIVES: readonly MedicationConcept[] = [
  {
    id: 'norepinephrine',
    name: 'norepinephrine',
    medicationClass: 'vasopressor',
    names: ['norepinephrine', 'noradrenaline', 'levophed'],
    rxnorm: ['7512'],
    countsTowardSeveral: true,
  },
  {
    id: 'epinephrine',
    name: 'epinephrine',
    medicationClass: 'vasopressor',
    names: ['epinephrine', 'adrenaline'],
    rxnorm: ['3992'],
    countsTowardSeveral: true,
  },
  {
    id: 'phenylephrine',
    name: 'phenylephrine',
    medicationClass: 'vasopressor',
    names: ['phenylephrine', 'neo-synephrine', 'neosynephrine'],
    rxnorm: ['8163'],
    countsTowardSeveral: true,
  },
  {
    id: 'dopamine',
    name: 'dopamine',
    medicationClass: 'vasopressor',
    names: ['dopamine'],
    rxnorm: ['3628'],
    countsTowardSeveral: true,
  },
  {
    id: 'angiotensin-ii',
    name: 'angiotensin II',
    medicationClass: 'vasopressor',
    names: ['angiotensin ii', 'angiotensin 2', 'giapreza'],
    rxnorm: [],
    countsTowardSeveral: true,
  },
  {
    id: 'vasopressin',
    name: 'vasopressin',
    medicationClass: 'vasopressor',
    names: ['vasopressin', 'vasostrict'],
    rxnorm: ['11149'],
    countsTowardSeveral: false,
  },
  {
    id: 'terlipressin',
    name: 'terlipressin',
    medicationClass: 'vasopressor',
    names: ['terlipressin', 'terlivaz'],
    rxnorm: [],
    countsTowardSeveral: false,
  },
  {
    id: 'dobutamine',
    name: 'dobutamine',
    medicationClass: 'inotrope',
    names: ['dobutamine'],
    rxnorm: ['3616'],
  },
  { id: 'milrinone', name: 'milrinone', medicationClass: 'inotrope', names: ['milrinone'], rxnorm: [] },
];

/**
 * Systemic antimicrobials with what a dose says about infection (see AntimicrobialIntent).
 * [DESIGN] names of common agents; topical, ophthalmic and inhaled forms never count (the
 * route/form check in medication-events), nor do non-absorbed enteral agents.
 */
export const ANTIBIOTICS: readonly MedicationConcept[] = (
  [
    ['vancomycin', ['vancomycin', 'vancocin'], 'surgical-prophylaxis', true],
    ['cefazolin', ['cefazolin', 'ancef'], 'surgical-prophylaxis'],
    ['cefuroxime', ['cefuroxime'], 'surgical-prophylaxis'],
    ['piperacillin-tazobactam', ['piperacillin', 'zosyn'], 'treatment'],
    ['cefepime', ['cefepime', 'maxipime'], 'treatment'],
    ['ceftriaxone', ['ceftriaxone', 'rocephin'], 'treatment'],
    ['ceftazidime', ['ceftazidime', 'fortaz'], 'treatment'],
    ['cefoxitin', ['cefoxitin'], 'treatment'],
    ['ceftaroline', ['ceftaroline'], 'treatment'],
    ['meropenem', ['meropenem', 'merrem'], 'treatment'],
    ['imipenem-cilastatin', ['imipenem'], 'treatment'],
    ['ertapenem', ['ertapenem'], 'treatment'],
    ['aztreonam', ['aztreonam'], 'treatment'],
    ['moxifloxacin', ['moxifloxacin'], 'treatment'],
    ['metronidazole', ['metronidazole', 'flagyl'], 'treatment'],
    ['clindamycin', ['clindamycin'], 'treatment'],
    ['linezolid', ['linezolid'], 'treatment'],
    ['daptomycin', ['daptomycin'], 'treatment'],
    ['gentamicin', ['gentamicin'], 'treatment'],
    ['tobramycin', ['tobramycin'], 'treatment'],
    ['amikacin', ['amikacin'], 'treatment'],
    ['ampicillin-sulbactam', ['ampicillin', 'unasyn'], 'treatment'],
    ['nafcillin', ['nafcillin'], 'treatment'],
    ['oxacillin', ['oxacillin'], 'treatment'],
    ['azithromycin', ['azithromycin'], 'treatment'],
    ['doxycycline', ['doxycycline'], 'treatment'],
    ['micafungin', ['micafungin', 'mycamine'], 'treatment'],
    ['caspofungin', ['caspofungin', 'cancidas'], 'treatment'],
    ['anidulafungin', ['anidulafungin', 'eraxis'], 'treatment'],
    ['amphotericin-b', ['amphotericin', 'ambisome', 'abelcet'], 'treatment'],
    ['voriconazole', ['voriconazole', 'vfend'], 'treatment'],
    ['isavuconazonium', ['isavuconazonium', 'isavuconazole', 'cresemba'], 'treatment'],
    [
      'sulfamethoxazole-trimethoprim',
      ['sulfamethoxazole', 'bactrim', 'sulfameth', 'septra', 'cotrimoxazole'],
      'prophylaxis',
    ],
    ['acyclovir', ['acyclovir', 'aciclovir', 'zovirax'], 'prophylaxis'],
    ['valacyclovir', ['valacyclovir', 'valaciclovir', 'valtrex'], 'prophylaxis'],
    ['levofloxacin', ['levofloxacin', 'levaquin'], 'prophylaxis'],
    ['ciprofloxacin', ['ciprofloxacin', 'cipro'], 'prophylaxis'],
    ['fluconazole', ['fluconazole', 'diflucan'], 'prophylaxis'],
    ['posaconazole', ['posaconazole', 'noxafil'], 'prophylaxis'],
    ['rifaximin', ['rifaximin', 'xifaxan'], 'non-systemic'],
    ['neomycin', ['neomycin'], 'non-systemic'],
    ['nystatin', ['nystatin'], 'non-systemic'],
    ['fidaxomicin', ['fidaxomicin', 'dificid'], 'non-systemic'],
  ] as const
).map(([id, names, intent, onlyIv]) => ({
  id,
  name: id.replace('-', '/'),
  medicationClass: 'antibiotic' as const,
  names,
  rxnorm: [],
  intent,
  ...(onlyIv === true && { systemicOnlyIv: true }),
}));

export const ALL_MEDICATION_CONCEPTS: readonly MedicationConcept[] = [
  ...CAR_T_PRODUCTS,
  ...BISPECIFICS,
  ...FEVER_MASKING_AGENTS,
  ...VASOACTIVES,
  ...ANTIBIOTICS,
];

// ---------------------------------------------------------------------------------------------
// Route and form of an administration
// ---------------------------------------------------------------------------------------------

/** SNOMED CT routes (dosage.route) that mean intravenous. [SNOMED CT 284009009 hierarchy] */
export const IV_ROUTE_CODES: readonly string[] = ['47625008', '255560000', '418114005'];

/**
 * SNOMED CT routes that are never systemic IV support: intramuscular, subcutaneous, nasal,
 * ophthalmic, topical, inhalation, intradermal, infiltration, rectal, oral and enteral ones.
 * [clinical reference section 1: IM epinephrine, nasal phenylephrine do not count]
 */
export const NON_IV_ROUTE_CODES: Readonly<Record<string, 'enteral' | 'local'>> = {
  '78421000': 'local', // intramuscular
  '34206005': 'local', // subcutaneous
  '46713006': 'local', // nasal
  '54485002': 'local', // ophthalmic
  '6064005': 'local', // topical
  '18679011': 'local', // inhalation
  '447694001': 'local', // respiratory tract
  '372464004': 'local', // intradermal
  '37161004': 'local', // rectal
  '26643006': 'enteral', // oral
  '127490009': 'enteral', // gastrostomy
  '127492001': 'enteral', // nasogastric
  '372449004': 'local', // dental
  '10547007': 'local', // otic
};

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
// Sepsis diagnoses
// ---------------------------------------------------------------------------------------------

/**
 * Sepsis and septic-shock diagnosis codes, compared without dots. Prefix entries match any
 * descendant (A41.9, 038.9). [clinical reference section 3: ICD-10-CM, ICD-9-CM, SNOMED CT]
 */
export const SEPSIS_DIAGNOSIS_CODES: readonly { system: string; code: string; prefix: boolean }[] = [
  { system: SYSTEM.icd10cm, code: 'A40', prefix: true },
  { system: SYSTEM.icd10cm, code: 'A41', prefix: true },
  { system: SYSTEM.icd10cm, code: 'R6520', prefix: false },
  { system: SYSTEM.icd10cm, code: 'R6521', prefix: false },
  // Sepsis codes beyond A40/A41 (clinical reference section 4).
  { system: SYSTEM.icd10cm, code: 'B377', prefix: false }, // candidal sepsis
  { system: SYSTEM.icd10cm, code: 'A021', prefix: false }, // Salmonella sepsis
  { system: SYSTEM.icd10cm, code: 'A327', prefix: false }, // listerial sepsis
  { system: SYSTEM.icd10cm, code: 'A427', prefix: false }, // actinomycotic sepsis
  { system: SYSTEM.icd10cm, code: 'A5486', prefix: false }, // gonococcal sepsis
  { system: SYSTEM.icd10cm, code: 'T8144', prefix: true }, // sepsis following a procedure
  { system: SYSTEM.icd10cm, code: 'O85', prefix: false }, // puerperal sepsis
  { system: SYSTEM.icd10cm, code: 'P36', prefix: true }, // bacterial sepsis of newborn
  { system: SYSTEM.icd9cm, code: '038', prefix: true },
  { system: SYSTEM.icd9cm, code: '99591', prefix: false },
  { system: SYSTEM.icd9cm, code: '99592', prefix: false },
  { system: SYSTEM.icd9cm, code: '78552', prefix: false },
  { system: SYSTEM.snomed, code: '91302008', prefix: false },
  { system: SYSTEM.snomed, code: '76571007', prefix: false },
  { system: SYSTEM.snomed, code: '10001005', prefix: false },
];

/**
 * Diagnoses that are evidence of immune effector cell therapy (clinical reference section 3),
 * compared without dots: Z92.850 personal history of CAR-T therapy, T80.82- complication of immune
 * effector cellular therapy, D89.83x cytokine release syndrome. A CRS diagnosis (`kind: 'crs'`)
 * also means "CRS was present" for the fever rule. [DESIGN] a history code is recorded at any later
 * visit, so its date says nothing of when the infusion was: it is shown, never opens a window.
 */
export const CELL_THERAPY_DIAGNOSIS_CODES: readonly {
  system: string;
  code: string;
  prefix: boolean;
  kind: 'history' | 'complication' | 'crs';
}[] = [
  { system: SYSTEM.icd10cm, code: 'Z92850', prefix: false, kind: 'history' },
  { system: SYSTEM.icd10cm, code: 'T8082', prefix: true, kind: 'complication' },
  { system: SYSTEM.icd10cm, code: 'D8983', prefix: true, kind: 'crs' },
];

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
