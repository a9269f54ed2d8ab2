/**
 * Tunable windows and thresholds of the CRS engine. Every default cites its source; [DESIGN]
 * marks a project judgement rather than a guideline (see docs/clinical-logic.md).
 */
import { z } from 'zod';
import type { CodeIndex } from './code-index.js';
import { DEFAULT_CODE_INDEX } from './default-value-sets.js';
import { EMPTY_SITE_CODES, parseSiteCodes, type SiteCodes } from './site-codes.js';

export interface CrsRuleConfig {
  /** Look-back for CRS-consistent vital signs and vasopressors. [DESIGN] 24 h */
  recentWindowHours: number;
  carT: {
    /** Days 0..N after the latest infusion: high attention. [DESIGN] 14 (Blood Adv 2024;8:5346) */
    highAttentionDays: number;
    /** Days N+1..M: extended window, infection likelier. [DESIGN] 30 */
    extendedDays: number;
  };
  /**
   * Days after any bispecific dose. [DESIGN] 7 (talquetamab median onset 27 h, max 167 h).
   * An infusion charted in progress without an end counts as running for at most
   * `maxOpenInfusionDays` from its start: [LABELS] a blinatumomab cycle is a 28-day continuous
   * infusion, so an older open record is stale, not exposure.
   */
  bispecific: {
    windowDays: number;
    maxOpenInfusionDays: number;
    /**
     * [DESIGN] consecutive bags of a continuous infusion with at most this gap are one exposure
     * (one CRS episode): blinatumomab bags are changed every 24-96 h without a pause.
     */
    bagChangeGapHours: number;
  };
  sepsis: {
    /** A sepsis diagnosis belongs to the present illness if onset/recorded within N days. [DESIGN] 7 */
    diagnosisLookbackDays: number;
    /** Systemic antibiotics given within N hours (with SIRS/qSOFA) make a sepsis context. [DESIGN] 72 */
    antibioticLookbackHours: number;
    /**
     * Surgical-prophylaxis agents (cefazolin, cefuroxime, IV vancomycin) count as treatment only
     * when continued longer than this from the first dose. [DESIGN] 48 h: perioperative
     * prophylaxis stops within 24-48 h (ASHP/IDSA/SIS/SHEA surgical prophylaxis guideline 2013).
     */
    surgicalProphylaxisHours: number;
    /**
     * Culture and antimicrobial pairing of "suspected infection" [Seymour CW et al. JAMA
     * 2016;315(8):762]: antibiotic within 72 h after a culture, or culture within 24 h after it.
     */
    cultureThenAntibioticHours: number;
    antibioticThenCultureHours: number;
    /**
     * SIRS and qSOFA also count when met around the onset of the suspected infection (the first
     * dose of a counted antimicrobial, or its paired culture if earlier): from this many hours
     * before to `onsetWindowAfterHours` after it [SEPSIS3: Seymour CW et al. JAMA 2016;315(8):762,
     * "48 hours before to 24 hours after the onset of infection"]. Only for courses whose first
     * dose is within the antibiotic look-back. [DESIGN] besides the recent window, so that a
     * context does not flicker off when one criterion slides out of the 24 h window.
     */
    onsetWindowBeforeHours: number;
    onsetWindowAfterHours: number;
    /**
     * Shock before the first antimicrobial: at least this many vasopressor agents infusing at
     * once, with SIRS, make a sepsis context (`vasopressor-shock-with-sirs`). [DESIGN] 2:
     * vasopressor-dependent shock needing a second agent is septic in most ICU patients (septic
     * shock was 62 % of shock in De Backer D et al. N Engl J Med 2010;362:779), and the Surviving
     * Sepsis Campaign (Evans L et al. Crit Care Med 2021;49:e1063) asks for antimicrobials within
     * 1 h when septic shock is possible. One agent with SIRS alone is left out: post-operative
     * phenylephrine with SIRS is common and not septic (MIMIC-IV demo replay, docs/replay.md).
     */
    shockVasopressorAgents: number;
    /**
     * Fever as a sign of infection before any antimicrobial (`vasopressor-with-infection-signs`):
     * at least this temperature, confirmed by a second fever reading. [SCCM/IDSA: O'Grady NP et al.
     * Crit Care Med 2008;36(4):1330-1349, fever in the ICU is 38.3 °C or higher] 38.3
     */
    infectionFeverCelsius: number;
  };
  /**
   * Hypotension must be confirmed: at least this many readings below threshold at distinct
   * times, at least `confirmMinutes` apart. [DESIGN] a single arterial-line reading is often an
   * artefact (flush, damping); a running vasopressor is always enough.
   */
  hypotension: {
    confirmReadings: number;
    confirmMinutes: number;
    /**
     * Ongoing hypotension (a sepsis circulation card without a vasopressor): the latest readings
     * are all low, at least this many, spanning at least this long. [DESIGN] blood pressure that
     * hovers around the threshold or dips once does not make a card; a vasopressor always does.
     */
    ongoingReadings: number;
    ongoingMinutes: number;
  };
  thresholds: {
    /** [ASTCT] fever >= 38.0 °C */
    feverCelsius: number;
    /** [clinical reference, "check"] adaptations of ASTCT use SBP < 90 mmHg */
    systolicBelow: number;
    /** [SEPSIS3] MAP target 65 mmHg */
    meanArterialBelow: number;
    /**
     * Children (under 18): age bands of Goldstein B et al. Pediatr Crit Care Med 2005;6(1):2-8,
     * Table 3 (heart rate, respiratory rate, leukocytes; systolic blood pressure as the corrected
     * 5th percentile used in current references). Each band applies up to `maxAgeDays`.
     */
    paediatricBands: readonly PaediatricBand[];
    /** [Goldstein 2005] children: core temperature > 38.5 °C or < 36 °C is the SIRS criterion. */
    paediatricSirsTempAbove: number;
    /** [DESIGN] SpO2 below this is hypoxia needing support even if no support is charted. */
    spo2Below: number;
    /** [ASTCT] exactly 6 L/min is low-flow (the mosunetuzumab label says high-flow). */
    lowFlowMaxLitresPerMinute: number;
    /**
     * [DESIGN] positive pressure counts (grade 4) only with an oxygen need (SpO2 below
     * `spo2Below`, an O2 flow, FiO2 > 21 %) charted within this many hours of it and before the
     * patient is charted on another device (clinical reference section 1: home CPAP on room air
     * is not grade 4). 4 h: flowsheets chart the device at each respiratory check (1-4 hourly).
     */
    positivePressureNeedHours: number;
  };
  /** [SEPSIS3] SIRS (Bone 1992) and qSOFA criteria. */
  sirs: {
    tempAbove: number;
    tempBelow: number;
    heartRateAbove: number;
    respRateAbove: number;
    wbcAbove: number;
    wbcBelow: number;
  };
  qsofa: { respRateAtLeast: number; systolicAtMost: number; gcsBelow: number };
  masking: {
    /** [DESIGN] an antipyretic (given after CRS was present) masks fever for this long. */
    antipyreticHours: number;
  };
  vasopressors: {
    /**
     * A vasopressor or inotrope record still `in-progress` with no end is read as running for at
     * most this long from its start; after that it is stale (a record nobody closed), not support
     * now. [DESIGN] 7 days: vasopressor support in septic shock lasts a median of 2-4 days, and EHRs
     * chart a running infusion again at every rate change.
     */
    maxOpenInfusionDays: number;
  };
  tocilizumab: {
    /**
     * [LABELS] ACTEMRA (CRS indication) and Kymriah labels: 8 mg/kg at 30 kg and above, 12 mg/kg
     * under 30 kg, whatever the product; at most 800 mg a dose; from 2 years of age.
     */
    mgPerKg: number;
    mgPerKgUnder30Kg: number;
    lowWeightKg: number;
    minAgeYears: number;
    maxDoseMg: number;
    maxDosesPer24h: number;
    maxDosesTotal: number;
    /** [LABELS] may repeat after 8 h. */
    minHoursBetweenDoses: number;
    /** [DESIGN] a body weight older than this is not used for a dose. */
    weightMaxAgeDays: number;
    /**
     * [DESIGN] a body weight below this, in a patient old enough for the drug (2 years and
     * more), is an entry or unit error, not a weight to dose by: WHO Child Growth Standards put
     * even -3 SD weight-for-age at 24 months at about 8 kg.
     */
    minPlausibleWeightKg: number;
  };
  labs: {
    /** [SEPSIS3] lactate > 2 mmol/L with vasopressors = septic shock criterion. */
    lactateShockAbove: number;
    /** [DESIGN] a relative change below this is "stable". */
    trendTolerance: number;
  };
  siteCodes: SiteCodes;
  /**
   * Every code list (agents, observation codes, devices, diagnoses, routes), read from the FHIR
   * ValueSets of `valuesets/` and a site's own (SITE_VALUESETS): see code-index.ts.
   */
  codes: CodeIndex;
}

export interface PaediatricBand {
  label: string;
  /** The band covers ages up to this many days (exclusive of the next band). */
  maxAgeDays: number;
  /**
   * For bands bounded in years: the band covers calendar ages below this many whole years (a
   * child is 6 on their sixth birthday); decides instead of `maxAgeDays`, which only approximates
   * a year as 365.25 days and so put a child in the younger band on the birthday itself.
   */
  maxAgeYears?: number | undefined;
  heartRateAbove: number;
  /** Bradycardia criterion (infants only). */
  heartRateBelow?: number | undefined;
  respRateAbove: number;
  wbcAbove: number;
  wbcBelow?: number | undefined;
  /** Hypotension: SBP below this. */
  systolicBelow: number;
}

const YEAR_DAYS = 365.25;

/** [Goldstein 2005, Table 3] (SBP: corrected 5th percentile values, "check"). */
export const GOLDSTEIN_BANDS: readonly PaediatricBand[] = [
  {
    label: '0-7 days',
    maxAgeDays: 7,
    heartRateAbove: 180,
    heartRateBelow: 100,
    respRateAbove: 50,
    wbcAbove: 34,
    systolicBelow: 59,
  },
  {
    label: '1 week-1 month',
    maxAgeDays: 30,
    heartRateAbove: 180,
    heartRateBelow: 100,
    respRateAbove: 40,
    wbcAbove: 19.5,
    wbcBelow: 5,
    systolicBelow: 79,
  },
  {
    label: '1 month-1 year',
    maxAgeDays: 2 * YEAR_DAYS,
    maxAgeYears: 2,
    heartRateAbove: 180,
    heartRateBelow: 90,
    respRateAbove: 34,
    wbcAbove: 17.5,
    wbcBelow: 5,
    systolicBelow: 75,
  },
  {
    label: '2-5 years',
    maxAgeDays: 6 * YEAR_DAYS,
    maxAgeYears: 6,
    heartRateAbove: 140,
    respRateAbove: 22,
    wbcAbove: 15.5,
    wbcBelow: 6,
    systolicBelow: 74,
  },
  {
    label: '6-12 years',
    maxAgeDays: 13 * YEAR_DAYS,
    maxAgeYears: 13,
    heartRateAbove: 130,
    respRateAbove: 18,
    wbcAbove: 13.5,
    wbcBelow: 4.5,
    systolicBelow: 83,
  },
  {
    label: '13-17 years',
    maxAgeDays: 18 * YEAR_DAYS,
    maxAgeYears: 18,
    heartRateAbove: 110,
    respRateAbove: 14,
    wbcAbove: 11,
    wbcBelow: 4.5,
    systolicBelow: 90,
  },
];

export const DEFAULT_RULE_CONFIG: CrsRuleConfig = {
  recentWindowHours: 24,
  carT: { highAttentionDays: 14, extendedDays: 30 },
  bispecific: { windowDays: 7, maxOpenInfusionDays: 28, bagChangeGapHours: 2 },
  sepsis: {
    diagnosisLookbackDays: 7,
    antibioticLookbackHours: 72,
    surgicalProphylaxisHours: 48,
    cultureThenAntibioticHours: 72,
    antibioticThenCultureHours: 24,
    onsetWindowBeforeHours: 48,
    onsetWindowAfterHours: 24,
    shockVasopressorAgents: 2,
    infectionFeverCelsius: 38.3,
  },
  hypotension: { confirmReadings: 2, confirmMinutes: 5, ongoingReadings: 3, ongoingMinutes: 60 },
  thresholds: {
    feverCelsius: 38.0,
    systolicBelow: 90,
    meanArterialBelow: 65,
    paediatricBands: GOLDSTEIN_BANDS,
    paediatricSirsTempAbove: 38.5,
    spo2Below: 90,
    lowFlowMaxLitresPerMinute: 6,
    positivePressureNeedHours: 4,
  },
  sirs: { tempAbove: 38, tempBelow: 36, heartRateAbove: 90, respRateAbove: 20, wbcAbove: 12, wbcBelow: 4 },
  qsofa: { respRateAtLeast: 22, systolicAtMost: 100, gcsBelow: 15 },
  masking: { antipyreticHours: 24 },
  vasopressors: { maxOpenInfusionDays: 7 },
  tocilizumab: {
    mgPerKg: 8,
    mgPerKgUnder30Kg: 12,
    lowWeightKg: 30,
    minAgeYears: 2,
    maxDoseMg: 800,
    maxDosesPer24h: 3,
    maxDosesTotal: 4,
    minHoursBetweenDoses: 8,
    weightMaxAgeDays: 30,
    minPlausibleWeightKg: 5,
  },
  labs: { lactateShockAbove: 2, trendTolerance: 0.1 },
  siteCodes: EMPTY_SITE_CODES,
  codes: DEFAULT_CODE_INDEX,
};

const positive = z.number().positive();
const nonNegative = z.number().nonnegative();

/** Partial overrides: every field optional, unknown fields rejected. */
export const ruleOverridesSchema = z.strictObject({
  recentWindowHours: positive.optional(),
  carT: z
    .strictObject({ highAttentionDays: nonNegative.optional(), extendedDays: nonNegative.optional() })
    .optional(),
  bispecific: z
    .strictObject({
      windowDays: positive.optional(),
      maxOpenInfusionDays: positive.optional(),
      bagChangeGapHours: nonNegative.optional(),
    })
    .optional(),
  sepsis: z
    .strictObject({
      diagnosisLookbackDays: positive.optional(),
      antibioticLookbackHours: positive.optional(),
      surgicalProphylaxisHours: positive.optional(),
      cultureThenAntibioticHours: positive.optional(),
      antibioticThenCultureHours: positive.optional(),
      onsetWindowBeforeHours: nonNegative.optional(),
      onsetWindowAfterHours: nonNegative.optional(),
      shockVasopressorAgents: z.int().min(1).max(5).optional(),
      infectionFeverCelsius: z.number().min(37.5).max(40).optional(),
    })
    .optional(),
  hypotension: z
    .strictObject({
      confirmReadings: z.int().min(1).max(10).optional(),
      confirmMinutes: nonNegative.optional(),
    })
    .optional(),
  thresholds: z
    .strictObject({
      feverCelsius: z.number().min(37).max(41).optional(),
      systolicBelow: z.number().min(50).max(120).optional(),
      meanArterialBelow: z.number().min(40).max(90).optional(),
      paediatricBands: z
        .array(
          z.strictObject({
            label: z.string().min(1),
            maxAgeDays: positive,
            maxAgeYears: positive.optional(),
            heartRateAbove: positive,
            heartRateBelow: positive.optional(),
            respRateAbove: positive,
            wbcAbove: positive,
            wbcBelow: positive.optional(),
            systolicBelow: positive,
          }),
        )
        .min(1)
        .optional(),
      paediatricSirsTempAbove: z.number().min(37).max(41).optional(),
      spo2Below: z.number().min(70).max(100).optional(),
      lowFlowMaxLitresPerMinute: positive.optional(),
      positivePressureNeedHours: positive.optional(),
    })
    .optional(),
  sirs: z
    .strictObject({
      tempAbove: positive.optional(),
      tempBelow: positive.optional(),
      heartRateAbove: positive.optional(),
      respRateAbove: positive.optional(),
      wbcAbove: positive.optional(),
      wbcBelow: positive.optional(),
    })
    .optional(),
  qsofa: z
    .strictObject({
      respRateAtLeast: positive.optional(),
      systolicAtMost: positive.optional(),
      gcsBelow: positive.optional(),
    })
    .optional(),
  masking: z.strictObject({ antipyreticHours: nonNegative.optional() }).optional(),
  vasopressors: z.strictObject({ maxOpenInfusionDays: positive.optional() }).optional(),
  tocilizumab: z
    .strictObject({
      mgPerKg: positive.optional(),
      mgPerKgUnder30Kg: positive.optional(),
      lowWeightKg: positive.optional(),
      minAgeYears: nonNegative.optional(),
      maxDoseMg: positive.optional(),
      maxDosesPer24h: z.int().positive().optional(),
      maxDosesTotal: z.int().positive().optional(),
      minHoursBetweenDoses: nonNegative.optional(),
      weightMaxAgeDays: positive.optional(),
      minPlausibleWeightKg: positive.optional(),
    })
    .optional(),
  labs: z
    .strictObject({ lactateShockAbove: positive.optional(), trendTolerance: nonNegative.optional() })
    .optional(),
});
export type CrsRuleOverrides = z.infer<typeof ruleOverridesSchema>;

/**
 * Defaults merged with a site's overrides (parsed JSON, undefined or null for none) and its
 * site-codes file. Throws an Error listing every bad field.
 */
export function resolveRuleConfig(overrides: unknown, siteCodes?: unknown): CrsRuleConfig {
  const parsed = ruleOverridesSchema.safeParse(overrides ?? {});
  if (!parsed.success) {
    throw new Error(`Invalid CRS rule configuration:\n${z.prettifyError(parsed.error)}`);
  }
  const o = parsed.data;
  const d = DEFAULT_RULE_CONFIG;
  const config: CrsRuleConfig = {
    recentWindowHours: o.recentWindowHours ?? d.recentWindowHours,
    carT: merge(d.carT, o.carT),
    bispecific: merge(d.bispecific, o.bispecific),
    sepsis: merge(d.sepsis, o.sepsis),
    thresholds: {
      ...merge(d.thresholds, o.thresholds),
      paediatricBands: o.thresholds?.paediatricBands ?? d.thresholds.paediatricBands,
    },
    hypotension: merge(d.hypotension, o.hypotension),
    sirs: merge(d.sirs, o.sirs),
    qsofa: merge(d.qsofa, o.qsofa),
    masking: merge(d.masking, o.masking),
    vasopressors: merge(d.vasopressors, o.vasopressors),
    tocilizumab: merge(d.tocilizumab, o.tocilizumab),
    labs: merge(d.labs, o.labs),
    siteCodes: siteCodes === undefined || siteCodes === null ? d.siteCodes : parseSiteCodes(siteCodes),
    codes: d.codes,
  };
  if (config.carT.extendedDays < config.carT.highAttentionDays) {
    throw new Error(
      `Invalid CRS rule configuration: carT.extendedDays (${config.carT.extendedDays}) must be >= carT.highAttentionDays (${config.carT.highAttentionDays})`,
    );
  }
  return config;
}

/** Defaults with the defined override values on top (undefined never overwrites a default). */
function merge<T extends object>(defaults: T, overrides: object | undefined): T {
  const defined = Object.entries(overrides ?? {}).filter(([, v]) => v !== undefined && typeof v !== 'object');
  return { ...defaults, ...(Object.fromEntries(defined) as Partial<T>) };
}

const DAY_MS = 24 * 60 * 60 * 1000;
const HOUR_MS = 60 * 60 * 1000;

/**
 * How far back the rules ever look: the data layer stops paging past it. The longest of the
 * CAR-T extended window (plus the infusion day), the bispecific window, the sepsis look-backs and
 * the age of a usable body weight.
 */
/** How far back the sepsis rules read SIRS and qSOFA: the onset window of the oldest course. */
export function sepsisCriteriaLookBackHours(config: Pick<CrsRuleConfig, 'sepsis'>): number {
  return config.sepsis.antibioticLookbackHours + config.sepsis.onsetWindowBeforeHours;
}

export function ruleLookBackMs(config: CrsRuleConfig): number {
  return Math.max(
    (config.carT.extendedDays + 1) * DAY_MS,
    (config.bispecific.windowDays + 1) * DAY_MS,
    config.sepsis.diagnosisLookbackDays * DAY_MS,
    sepsisCriteriaLookBackHours(config) * HOUR_MS,
    config.tocilizumab.weightMaxAgeDays * DAY_MS,
    config.recentWindowHours * HOUR_MS,
  );
}
