/**
 * Tunable windows and thresholds of the CRS engine. Every default cites its source; [DESIGN]
 * marks a project judgement rather than a guideline (see docs/clinical-logic.md).
 */
import { z } from 'zod';
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
  /** Days after any bispecific dose. [DESIGN] 7 (talquetamab median onset 27 h, max 167 h) */
  bispecific: { windowDays: number };
  sepsis: {
    /** A sepsis diagnosis belongs to the present illness if onset/recorded within N days. [DESIGN] 7 */
    diagnosisLookbackDays: number;
    /** Systemic antibiotics given within N hours (with SIRS/qSOFA) make a sepsis context. [DESIGN] 72 */
    antibioticLookbackHours: number;
    /** Lowest grade that produces a card in a sepsis-only context. [DESIGN] 2 (fever alone is sepsis itself) */
    minimumCardGrade: number;
  };
  thresholds: {
    /** [ASTCT] fever >= 38.0 °C */
    feverCelsius: number;
    /** [clinical reference, "check"] adaptations of ASTCT use SBP < 90 mmHg */
    systolicBelow: number;
    /** [SEPSIS3] MAP target 65 mmHg */
    meanArterialBelow: number;
    /** Paediatric SBP threshold: base + perYear x age, for ages minAge..maxAge (PALS; "check"). */
    paediatric: { minAgeYears: number; maxAgeYears: number; systolicBase: number; systolicPerYear: number };
    /** [DESIGN] SpO2 below this is hypoxia needing support even if no support is charted. */
    spo2Below: number;
    /** [ASTCT] exactly 6 L/min is low-flow (the mosunetuzumab label says high-flow). */
    lowFlowMaxLitresPerMinute: number;
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
    /** [DESIGN] an antipyretic masks fever for this long. */
    antipyreticHours: number;
    /** [DESIGN] tocilizumab/steroids given up to N h before the latest dose count (bispecific premedication). */
    premedicationHours: number;
  };
  tocilizumab: {
    /** [LABELS] 8 mg/kg (12 mg/kg under 30 kg on the tisagenlecleucel label), max 800 mg a dose. */
    mgPerKg: number;
    mgPerKgUnder30Kg: number;
    maxDoseMg: number;
    maxDosesPer24h: number;
    maxDosesTotal: number;
    /** [LABELS] may repeat after 8 h. */
    minHoursBetweenDoses: number;
    /** [DESIGN] a body weight older than this is not used for a dose. */
    weightMaxAgeDays: number;
  };
  labs: {
    /** [SEPSIS3] lactate > 2 mmol/L with vasopressors = septic shock criterion. */
    lactateShockAbove: number;
    /** [DESIGN] a relative change below this is "stable". */
    trendTolerance: number;
  };
  siteCodes: SiteCodes;
}

export const DEFAULT_RULE_CONFIG: CrsRuleConfig = {
  recentWindowHours: 24,
  carT: { highAttentionDays: 14, extendedDays: 30 },
  bispecific: { windowDays: 7 },
  sepsis: { diagnosisLookbackDays: 7, antibioticLookbackHours: 72, minimumCardGrade: 2 },
  thresholds: {
    feverCelsius: 38.0,
    systolicBelow: 90,
    meanArterialBelow: 65,
    paediatric: { minAgeYears: 1, maxAgeYears: 10, systolicBase: 70, systolicPerYear: 2 },
    spo2Below: 90,
    lowFlowMaxLitresPerMinute: 6,
  },
  sirs: { tempAbove: 38, tempBelow: 36, heartRateAbove: 90, respRateAbove: 20, wbcAbove: 12, wbcBelow: 4 },
  qsofa: { respRateAtLeast: 22, systolicAtMost: 100, gcsBelow: 15 },
  masking: { antipyreticHours: 24, premedicationHours: 24 },
  tocilizumab: {
    mgPerKg: 8,
    mgPerKgUnder30Kg: 12,
    maxDoseMg: 800,
    maxDosesPer24h: 3,
    maxDosesTotal: 4,
    minHoursBetweenDoses: 8,
    weightMaxAgeDays: 30,
  },
  labs: { lactateShockAbove: 2, trendTolerance: 0.1 },
  siteCodes: EMPTY_SITE_CODES,
};

const positive = z.number().positive();
const nonNegative = z.number().nonnegative();

/** Partial overrides: every field optional, unknown fields rejected. */
export const ruleOverridesSchema = z.strictObject({
  recentWindowHours: positive.optional(),
  carT: z
    .strictObject({ highAttentionDays: nonNegative.optional(), extendedDays: nonNegative.optional() })
    .optional(),
  bispecific: z.strictObject({ windowDays: positive.optional() }).optional(),
  sepsis: z
    .strictObject({
      diagnosisLookbackDays: positive.optional(),
      antibioticLookbackHours: positive.optional(),
      minimumCardGrade: z.int().min(1).max(4).optional(),
    })
    .optional(),
  thresholds: z
    .strictObject({
      feverCelsius: z.number().min(37).max(41).optional(),
      systolicBelow: z.number().min(50).max(120).optional(),
      meanArterialBelow: z.number().min(40).max(90).optional(),
      paediatric: z
        .strictObject({
          minAgeYears: nonNegative.optional(),
          maxAgeYears: nonNegative.optional(),
          systolicBase: positive.optional(),
          systolicPerYear: nonNegative.optional(),
        })
        .optional(),
      spo2Below: z.number().min(70).max(100).optional(),
      lowFlowMaxLitresPerMinute: positive.optional(),
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
  masking: z
    .strictObject({ antipyreticHours: nonNegative.optional(), premedicationHours: nonNegative.optional() })
    .optional(),
  tocilizumab: z
    .strictObject({
      mgPerKg: positive.optional(),
      mgPerKgUnder30Kg: positive.optional(),
      maxDoseMg: positive.optional(),
      maxDosesPer24h: z.int().positive().optional(),
      maxDosesTotal: z.int().positive().optional(),
      minHoursBetweenDoses: nonNegative.optional(),
      weightMaxAgeDays: positive.optional(),
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
      paediatric: merge(d.thresholds.paediatric, o.thresholds?.paediatric),
    },
    sirs: merge(d.sirs, o.sirs),
    qsofa: merge(d.qsofa, o.qsofa),
    masking: merge(d.masking, o.masking),
    tocilizumab: merge(d.tocilizumab, o.tocilizumab),
    labs: merge(d.labs, o.labs),
    siteCodes: siteCodes === undefined || siteCodes === null ? d.siteCodes : parseSiteCodes(siteCodes),
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
export function ruleLookBackMs(config: CrsRuleConfig): number {
  return Math.max(
    (config.carT.extendedDays + 1) * DAY_MS,
    (config.bispecific.windowDays + 1) * DAY_MS,
    config.sepsis.diagnosisLookbackDays * DAY_MS,
    config.sepsis.antibioticLookbackHours * HOUR_MS,
    config.tocilizumab.weightMaxAgeDays * DAY_MS,
    config.recentWindowHours * HOUR_MS,
  );
}
