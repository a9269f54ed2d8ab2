/**
 * The CRS engine: FHIR data and `now` in, one typed assessment out (pure: no I/O, no clock).
 * Pipeline: normalize observations -> medication events -> therapy and sepsis context -> CRS
 * vitals in the recent window -> ASTCT grade -> supporting labs and tocilizumab limits -> outcome.
 */
import { cellTherapyDiagnoses } from './cell-therapy-diagnoses.js';
import { cultureTimes } from './cultures.js';
import { fluidBoluses, type FluidBolus } from './fluid-boluses.js';
import { DAY_MS, HOUR_MS, isoTime, timeMs } from './fhir-values.js';
import { assessCrsVitals, type CrsVitals } from './crs-vitals.js';
import { episodeStart, gradeCrs, type GradeResult } from './grade-crs.js';
import { medicationEvents, overlaps, type MedicationEvent } from './medication-events.js';
import {
  items,
  normalizeTimedObservations,
  type IgnoredReading,
  type Reading,
  type ReadingHorizon,
  type Timed,
} from './normalize-observations.js';
import { patientAge, type PatientAge } from './patient-age.js';
import type { ResourceMemo } from './per-resource-memo.js';
import type { DataSetName, PatientData, UnusedResources } from './patient-data.js';
import { sepsisCriteriaLookBackHours, type CrsRuleConfig } from './rule-config.js';
import { VITAL_SIGN_KINDS, type ReadingKind } from './rule-tables.js';
import { findSepsisContext, SEPSIS_CRITERIA_KINDS, type SepsisContext } from './sepsis-context.js';
import { labRange, supportingLabs, type SupportingLabs } from './supporting-labs.js';
import { findTherapyContexts, type PastTherapy, type TherapyContext } from './therapy-context.js';

export type ContextTag = 'car-t' | 'bispecific' | 'sepsis';

export interface DataGap {
  code:
    | 'no-vital-signs'
    | 'no-temperature'
    | 'no-blood-pressure'
    | 'no-spo2'
    | 'no-heart-rate'
    | 'no-respiratory-rate'
    | 'no-body-weight'
    | 'invalid-birth-date'
    | 'truncated';
  detail: string;
}

export type TocilizumabSuggestion =
  | { allowed: true; doseMg: number; mgPerKg: number; weightKg: number; weightTime: string; capped: boolean }
  | { allowed: false; reason: string };

export interface TocilizumabStatus {
  /** Limits applied (from the rule config), for display. */
  limits: { maxDoseMg: number; maxPer24h: number; maxTotal: number; minHours: number };
  /** Doses of the current CRS episode (since its start), not every dose ever returned. */
  dosesIn24h: number;
  dosesTotal: number;
  lastDose?: string;
  suggestion: TocilizumabSuggestion;
}

/**
 * The card the findings call for:
 * - `crs-card`: an ASTCT grade in a CAR-T or bispecific context (warning at grade 1, critical from
 *   grade 2 or with any vasopressor);
 * - `afebrile-card`: in a therapy window, hypotension or hypoxia but no fever and no waiver: ASTCT
 *   criteria not met (critical with a vasopressor or high-flow oxygen and above, else warning);
 * - `sepsis-card`: a sepsis context (no therapy) with circulatory failure: a vasopressor infusion
 *   (critical), ongoing hypotension with lactate above the shock threshold (critical) or after a
 *   fluid bolus (warning);
 * - `data-gap-card`: in a therapy window, no vital signs at all, or hypotension or hypoxia with no
 *   usable temperature to grade it, or no finding while a search the CRS rules read was cut off at
 *   its page limit (a finding may be on the page not read: never read as normal).
 */
/** What a data-gap card says is missing: no vital signs, no usable temperature, or a cut-off search. */
export type DataGapMissing = 'vital-signs' | 'temperature' | 'complete-data';

/**
 * The data sets whose cut-off can hide a CRS finding in a therapy window (fever, hypotension,
 * hypoxia, a vasopressor, a fever-masking drug, a CRS diagnosis). Labs never set the grade.
 */
const CRS_DATA_SETS: readonly DataSetName[] = ['vitals', 'medicationAdministrations', 'conditions'];

export type CrsOutcome =
  | { kind: 'crs-card'; indicator: 'warning' | 'critical' }
  | { kind: 'afebrile-card'; indicator: 'warning' | 'critical' }
  | { kind: 'sepsis-card'; indicator: 'warning' | 'critical' }
  | { kind: 'data-gap-card'; indicator: 'info'; missing: DataGapMissing }
  | { kind: 'no-card'; reason: string };

export interface CrsAssessment {
  now: string;
  /** Patient.id, for the subject of draft orders. */
  patientId?: string;
  encounterId?: string;
  /** Start of the recent window for vitals and vasopressors. */
  windowStart: string;
  contexts: ContextTag[];
  therapy: TherapyContext[];
  /** Therapies seen but outside every window (e.g. an infusion 45 days ago). */
  pastTherapy: PastTherapy[];
  sepsis?: SepsisContext;
  age: PatientAge;
  vitals: CrsVitals;
  grade: GradeResult;
  labs: SupportingLabs;
  tocilizumab: TocilizumabStatus;
  latestWeight?: Reading;
  /** Readings in the recent window (or undated) that were not used, and why. */
  ignoredReadings: IgnoredReading[];
  dataGaps: DataGap[];
  truncated: DataSetName[];
  /** Resources received but not used (another patient's, unreadable). */
  unused: UnusedResources[];
  /** Fluid boluses in the recent window (evidence of hypotension needing fluids). */
  fluids: FluidBolus[];
  outcome: CrsOutcome;
}

export interface AssessCrsInput {
  data: PatientData;
  now: Date;
  encounterId?: string;
  rules: CrsRuleConfig;
  /**
   * Remembers per-resource work across calls on the same resources (per-resource-memo.ts): a
   * replay passes one per patient; one hook call needs none.
   */
  memo?: ResourceMemo;
}

export function assessCrs(input: AssessCrsInput): CrsAssessment {
  const { data, now, rules, memo } = input;
  const nowMs = now.getTime();
  const windowStartMs = nowMs - rules.recentWindowHours * HOUR_MS;
  const events = closeStaleInfusions(medicationEvents(data, now, rules.siteCodes, rules.codes), nowMs, rules);
  const diagnoses = cellTherapyDiagnoses(data.conditions, rules.siteCodes, rules.codes, nowMs, memo);
  const therapy = findTherapyContexts(events, now, rules, diagnoses);
  const referenceTime = latestTherapyDose(therapy.contexts);
  const episodeStartMs = episodeStart(therapy.contexts, nowMs, rules);
  const horizon = readingHorizon(windowStartMs, referenceTime, episodeStartMs, nowMs, rules);
  // Older SIRS readings matter only to a context the drugs can open (sepsis-context.ts).
  const sepsisFromMs = readsEarlierCriteria(events, windowStartMs, nowMs, rules)
    ? nowMs - sepsisCriteriaLookBackHours(rules) * HOUR_MS
    : windowStartMs;
  const observations = normalizeTimedObservations(
    data.vitals.concat(data.labs),
    rules.siteCodes,
    rules.codes,
    widened(horizon, SEPSIS_CRITERIA_KINDS, sepsisFromMs),
    memo,
  );
  const inWindow = ({ ms }: Timed<unknown>): boolean =>
    ms === undefined || (ms >= windowStartMs && ms <= nowMs);
  const readings = items(observations.readings.filter((r) => withinHorizon(r, horizon)));
  const recent = items(observations.readings.filter(inWindow));
  const devices = items(observations.devices.filter(inWindow));
  const age = patientAge(data.patient, now);
  const sepsis = findSepsisContext({
    conditions: data.conditions,
    encounters: data.encounters,
    events,
    recent,
    earlier: items(
      observations.readings.filter(
        (r) =>
          r.ms !== undefined &&
          r.ms >= sepsisFromMs &&
          r.ms <= nowMs &&
          SEPSIS_CRITERIA_KINDS.includes(r.item.kind),
      ),
    ),
    cultures: cultureTimes(data.labs.concat(data.vitals), rules.siteCodes, rules.codes, memo),
    age,
    therapyContext: therapy.contexts.length > 0,
    now,
    ...(input.encounterId !== undefined && { encounterId: input.encounterId }),
    rules,
    ...(memo && { memo }),
  });
  const contexts: ContextTag[] = [
    ...therapy.contexts.map((c) => c.kind),
    ...(sepsis ? ['sepsis' as const] : []),
  ];
  const vitals = assessCrsVitals({ recent, devices, events, age, now, windowStartMs, rules });
  const grade = gradeCrs({
    vitals,
    events,
    now,
    therapy: therapy.contexts,
    temperatures: readings.filter((r) => r.kind === 'temperature' && timeMs(r.time) <= nowMs),
    crsDiagnoses: diagnoses,
    rules,
  });
  const labs = supportingLabs({
    readings,
    now,
    ...(referenceTime !== undefined && { referenceTime }),
    windowStartMs,
    sepsisContext: sepsis !== undefined,
    onVasopressors: vitals.vasopressors.agents.length > 0,
    rules,
  });
  const latestWeight = latestReading(observations.readings, 'body-weight', nowMs);
  const fluids = fluidBoluses(data.medicationAdministrations, windowStartMs, nowMs);
  const outcome = decideOutcome(
    grade,
    vitals,
    therapy.contexts,
    sepsis,
    recent,
    labs,
    fluids,
    data.truncated,
  );
  const weightProblem = newerUnusableWeight(items(observations.ignored), latestWeight, nowMs);
  const tocilizumab = tocilizumabStatus({
    events,
    nowMs,
    therapy: therapy.contexts,
    grade,
    outcome,
    age,
    episodeStartMs,
    weight: latestWeight,
    weightProblem,
    rules,
  });
  const dataGaps = findDataGaps(
    vitals,
    recent,
    latestWeight,
    therapy.contexts.length > 0,
    age,
    data.truncated,
  );
  return {
    now: now.toISOString(),
    ...(data.patient?.id !== undefined && { patientId: data.patient.id }),
    ...(input.encounterId !== undefined && { encounterId: input.encounterId }),
    windowStart: vitals.windowStart,
    contexts,
    therapy: therapy.contexts,
    pastTherapy: therapy.past,
    ...(sepsis && { sepsis }),
    age,
    vitals,
    grade,
    labs,
    tocilizumab,
    ...(latestWeight && { latestWeight }),
    ignoredReadings: items(observations.ignored.filter(inWindow)),
    dataGaps,
    truncated: [...data.truncated],
    unused: [...data.unused],
    fluids,
    outcome,
  };
}

/**
 * What the rules read of the Observations: the recent window for everything, plus every body
 * weight (the latest one is used or reported, whatever its age) and the cytokine markers back to
 * the start of their trend (supportingLabs). A long history outside these is never normalized.
 */
function readingHorizon(
  windowStartMs: number,
  referenceTime: string | undefined,
  episodeStartMs: number | undefined,
  nowMs: number,
  rules: CrsRuleConfig,
): ReadingHorizon {
  const { fromMs } = labRange(referenceTime, nowMs, rules);
  return {
    sinceMs: windowStartMs,
    earlier: {
      'body-weight': Number.NEGATIVE_INFINITY,
      'il-6': fromMs,
      crp: fromMs,
      ferritin: fromMs,
      // Fevers since the episode start: "CRS was present" for the ASTCT fever rule.
      ...(episodeStartMs !== undefined && { temperature: episodeStartMs }),
    },
  };
}

/**
 * Vasopressor and inotrope records still open long after their start end at the cap
 * (rule-config `vasopressors.maxOpenInfusionDays`): a stale record is never support now.
 */
function closeStaleInfusions(
  events: readonly MedicationEvent[],
  nowMs: number,
  rules: CrsRuleConfig,
): MedicationEvent[] {
  const capMs = rules.vasopressors.maxOpenInfusionDays * DAY_MS;
  return events.map((e) => {
    const vasoactive = e.medicationClass === 'vasopressor' || e.medicationClass === 'inotrope';
    if (!vasoactive || e.end !== undefined || e.status !== 'in-progress') return e;
    const startMs = timeMs(e.start);
    return nowMs - startMs > capMs ? { ...e, end: isoTime(startMs + capMs) } : e;
  });
}

/**
 * True when the sepsis rules may read criteria older than the recent window: an antimicrobial in
 * the look-back (the onset window) or a vasopressor in the recent window (the shock's onset).
 */
function readsEarlierCriteria(
  events: readonly MedicationEvent[],
  windowStartMs: number,
  nowMs: number,
  rules: CrsRuleConfig,
): boolean {
  const antibioticFromMs = nowMs - rules.sepsis.antibioticLookbackHours * HOUR_MS;
  return events.some(
    (e) =>
      (e.medicationClass === 'antibiotic' && overlaps(e, antibioticFromMs, nowMs)) ||
      (e.medicationClass === 'vasopressor' && overlaps(e, windowStartMs, nowMs)),
  );
}

/** The horizon, with `kinds` also read back to `fromMs` (never narrower than before). */
function widened(horizon: ReadingHorizon, kinds: readonly ReadingKind[], fromMs: number): ReadingHorizon {
  const earlier: Partial<Record<ReadingKind, number>> = { ...horizon.earlier };
  for (const kind of kinds) earlier[kind] = Math.min(earlier[kind] ?? horizon.sinceMs, fromMs);
  return { sinceMs: horizon.sinceMs, earlier };
}

/** A reading the narrower horizon would have read (the CRS rules see exactly that). */
function withinHorizon({ item, ms }: Timed<Reading>, horizon: ReadingHorizon): boolean {
  if (ms === undefined || ms >= horizon.sinceMs) return true;
  const from = horizon.earlier[item.kind];
  return from !== undefined && ms >= from;
}

function latestTherapyDose(contexts: readonly TherapyContext[]): string | undefined {
  return contexts
    .map((c) => c.latestDose)
    .sort()
    .pop();
}

/** The last (latest, readings being sorted) reading of this kind up to now. */
function latestReading(
  readings: readonly Timed<Reading>[],
  kind: Reading['kind'],
  nowMs: number,
): Reading | undefined {
  let latest: Reading | undefined;
  for (const { item, ms } of readings)
    if (item.kind === kind && ms !== undefined && ms <= nowMs) latest = item;
  return latest;
}

function decideOutcome(
  grade: GradeResult,
  vitals: CrsVitals,
  therapy: readonly TherapyContext[],
  sepsis: SepsisContext | undefined,
  recent: readonly Reading[],
  labs: SupportingLabs,
  fluids: readonly FluidBolus[],
  truncated: readonly DataSetName[],
): CrsOutcome {
  const pressor = vitals.vasopressors.agents.length > 0;
  if (therapy.length) {
    if (grade.grade !== 'none') {
      const critical = grade.grade >= 2 || pressor;
      return { kind: 'crs-card', indicator: critical ? 'critical' : 'warning' };
    }
    const hasVitals = recent.some((r) => VITAL_SIGN_KINDS.includes(r.kind));
    if (!hasVitals) return { kind: 'data-gap-card', indicator: 'info', missing: 'vital-signs' };
    if (grade.afebrilePhysiology) {
      if (!recent.some((r) => r.kind === 'temperature'))
        return { kind: 'data-gap-card', indicator: 'info', missing: 'temperature' };
      const severe = pressor || grade.hypoxiaDomain >= 3;
      return { kind: 'afebrile-card', indicator: severe ? 'critical' : 'warning' };
    }
    if (truncated.some((set) => CRS_DATA_SETS.includes(set)))
      return { kind: 'data-gap-card', indicator: 'info', missing: 'complete-data' };
    return { kind: 'no-card', reason: 'no CRS-consistent finding in the recent window' };
  }
  if (!sepsis) return { kind: 'no-card', reason: 'no CAR-T, bispecific or sepsis context' };
  // A sepsis-context card is about circulatory failure; oxygen alone never makes one.
  if (pressor) return { kind: 'sepsis-card', indicator: 'critical' };
  // Hypotension still present now (the latest readings low), not a dip that resolved. [DESIGN]
  // Ongoing hypotension (not a dip that resolved) that needed fluids, or with lactate above the
  // Sepsis-3 shock threshold. [DESIGN] hypotension alone is left to the clinical team: alerting on
  // it in every patient on antibiotics doubled the alert burden in the MIMIC-IV ICU replay.
  if (vitals.hypotension.ongoing && labs.lactate?.aboveShockThreshold === true)
    return { kind: 'sepsis-card', indicator: 'critical' };
  if (vitals.hypotension.ongoing && fluids.length > 0) return { kind: 'sepsis-card', indicator: 'warning' };
  return { kind: 'no-card', reason: 'sepsis context without circulatory failure' };
}

/** A weight Observation newer than the one used that could not be read: no dose from an older one. */
function newerUnusableWeight(
  ignored: readonly IgnoredReading[],
  used: Reading | undefined,
  nowMs: number,
): string | undefined {
  const usedMs = used ? timeMs(used.time) : Number.NEGATIVE_INFINITY;
  const problem = ignored
    .filter((r) => r.kind === 'body-weight' && (r.reason === 'implausible' || r.reason === 'unknown-unit'))
    .filter((r) => r.time !== undefined && timeMs(r.time) > usedMs && timeMs(r.time) <= nowMs)
    .pop();
  return problem ? `the latest body weight cannot be used (${problem.detail})` : undefined;
}

interface TocilizumabInput {
  events: readonly MedicationEvent[];
  nowMs: number;
  therapy: readonly TherapyContext[];
  grade: GradeResult;
  outcome: CrsOutcome;
  age: PatientAge;
  episodeStartMs: number | undefined;
  weight: Reading | undefined;
  weightProblem: string | undefined;
  rules: CrsRuleConfig;
}

/**
 * Tocilizumab for CRS [ACTEMRA label, CRS indication; Kymriah label]: 12 mg/kg under 30 kg,
 * 8 mg/kg from 30 kg, whatever the product; at most 800 mg; from 2 years of age; up to 3 more
 * doses at least 8 h apart, at most 3 in 24 h and 4 in total per CRS episode (doses of an earlier
 * episode or for arthritis do not count).
 */
function tocilizumabStatus(input: TocilizumabInput): TocilizumabStatus {
  const { nowMs, rules } = input;
  const t = rules.tocilizumab;
  const episodeFrom = input.episodeStartMs ?? Number.POSITIVE_INFINITY;
  const doses = input.events.filter(
    (e) => e.medicationClass === 'tocilizumab' && timeMs(e.start) >= episodeFrom && timeMs(e.start) <= nowMs,
  );
  const dosesIn24h = doses.filter((e) => timeMs(e.start) >= nowMs - DAY_MS).length;
  const lastDose = doses
    .map((e) => e.start)
    .sort()
    .pop();
  const counts = {
    limits: {
      maxDoseMg: t.maxDoseMg,
      maxPer24h: t.maxDosesPer24h,
      maxTotal: t.maxDosesTotal,
      minHours: t.minHoursBetweenDoses,
    },
    dosesIn24h,
    dosesTotal: doses.length,
    ...(lastDose !== undefined && { lastDose }),
  };
  const block = (reason: string): TocilizumabStatus => ({
    ...counts,
    suggestion: { allowed: false, reason },
  });
  if (!input.therapy.length)
    return block('no CAR-T or bispecific context: tocilizumab is not a sepsis treatment');
  if (input.outcome.kind !== 'crs-card' || input.grade.grade === 'none' || input.grade.grade < 2)
    return block('guidelines consider tocilizumab from CRS grade 2');
  if (!input.age.known)
    return block(`${input.age.detail}; tocilizumab for CRS is labelled from ${t.minAgeYears} years`);
  if (input.age.years < t.minAgeYears)
    return block(
      `the patient is under ${t.minAgeYears} years: tocilizumab for CRS is labelled from ${t.minAgeYears} years of age`,
    );
  // A birthDate of a year or month only: the patient may still be under the labelled age.
  if ((input.age.youngestYears ?? input.age.years) < t.minAgeYears)
    return block(
      `Patient.birthDate ${input.age.birthDate} gives no day: the patient may be under ${t.minAgeYears} years, and tocilizumab for CRS is labelled from ${t.minAgeYears} years of age`,
    );
  if (dosesIn24h >= t.maxDosesPer24h)
    return block(`${dosesIn24h} doses already in 24 h (limit ${t.maxDosesPer24h})`);
  if (doses.length >= t.maxDosesTotal)
    return block(`${doses.length} doses already given in this CRS episode (limit ${t.maxDosesTotal})`);
  // The label's 8 h between consecutive doses holds for any dose of the drug, also one given
  // before the current episode started (e.g. just before a new bispecific dose).
  const lastAnyDose = input.events
    .filter((e) => e.medicationClass === 'tocilizumab' && timeMs(e.start) <= nowMs)
    .map((e) => e.start)
    .sort()
    .pop();
  if (lastAnyDose !== undefined && nowMs - timeMs(lastAnyDose) < t.minHoursBetweenDoses * HOUR_MS)
    return block(`last dose less than ${t.minHoursBetweenDoses} h ago`);
  // Only therapies whose own label manages CRS without tocilizumab (blinatumomab): follow it.
  const labelled = input.therapy.map((c) => rules.codes.medicationConcept(c.agent.id));
  if (labelled.every((concept) => concept?.crsLabelWithoutTocilizumab === true))
    return block(
      `the ${input.therapy.map((c) => c.agent.name).join(' and ')} label manages CRS without tocilizumab: follow its algorithm`,
    );
  if (input.weightProblem !== undefined) return block(`${input.weightProblem}: dose cannot be computed`);
  const weight = input.weight;
  if (!weight) return block('no usable body weight recorded: dose cannot be computed');
  if (nowMs - timeMs(weight.time) > t.weightMaxAgeDays * DAY_MS)
    return block(`latest body weight is older than ${t.weightMaxAgeDays} days`);
  // Only patients of 2 years and more get here: a weight this low is an entry or unit error.
  if (weight.value < t.minPlausibleWeightKg)
    return block(
      `latest body weight ${weight.value} kg is implausible for a patient of ${input.age.years} years: dose cannot be computed`,
    );
  const mgPerKg = weight.value < t.lowWeightKg ? t.mgPerKgUnder30Kg : t.mgPerKg;
  const raw = Math.round(weight.value * mgPerKg);
  const doseMg = Math.min(raw, t.maxDoseMg);
  return {
    ...counts,
    suggestion: {
      allowed: true,
      doseMg,
      mgPerKg,
      weightKg: weight.value,
      weightTime: weight.time,
      capped: raw > t.maxDoseMg,
    },
  };
}

function findDataGaps(
  vitals: CrsVitals,
  recent: readonly Reading[],
  weight: Reading | undefined,
  therapyContext: boolean,
  age: PatientAge,
  truncated: readonly DataSetName[],
): DataGap[] {
  const gaps: DataGap[] = [];
  const missing = vitals.missingVitals;
  const hasAny = recent.some((r) => VITAL_SIGN_KINDS.includes(r.kind));
  if (!hasAny) gaps.push({ code: 'no-vital-signs', detail: `no vital signs since ${vitals.windowStart}` });
  else {
    if (missing.includes('temperature'))
      gaps.push({ code: 'no-temperature', detail: 'no usable temperature in the recent window' });
    // Children are judged on systolic pressure only (Goldstein 2005): a MAP does not fill the gap.
    const child = vitals.hypotension.paediatricBand !== undefined;
    if (
      missing.includes('systolic-bp') &&
      (child || !recent.some((r) => r.kind === 'mean-arterial-pressure'))
    ) {
      gaps.push({
        code: 'no-blood-pressure',
        detail: child
          ? 'no usable systolic blood pressure in the recent window (MAP is not used in children)'
          : 'no usable blood pressure in the recent window',
      });
    }
    if (missing.includes('spo2'))
      gaps.push({ code: 'no-spo2', detail: 'no usable SpO2 in the recent window' });
  }
  if (therapyContext && !weight)
    gaps.push({
      code: 'no-body-weight',
      detail: 'no usable body weight: weight-based doses cannot be computed',
    });
  if (!age.known && age.reason === 'invalid-birth-date')
    gaps.push({ code: 'invalid-birth-date', detail: age.detail });
  for (const set of truncated) {
    gaps.push({
      code: 'truncated',
      detail: `${set}: the search hit its page limit, older entries may be missing`,
    });
  }
  return gaps;
}
