/**
 * The CRS engine: FHIR data and `now` in, one typed assessment out (pure: no I/O, no clock).
 * Pipeline: normalize observations -> medication events -> therapy and sepsis context -> CRS
 * vitals in the recent window -> ASTCT grade -> supporting labs and tocilizumab limits -> outcome.
 */
import { DAY_MS, HOUR_MS } from './fhir-values.js';
import { assessCrsVitals, type CrsVitals } from './crs-vitals.js';
import { gradeCrs, type GradeResult } from './grade-crs.js';
import { medicationEvents, type MedicationEvent } from './medication-events.js';
import {
  items,
  normalizeTimedObservations,
  type IgnoredReading,
  type Reading,
  type ReadingHorizon,
  type Timed,
} from './normalize-observations.js';
import type { DataSetName, PatientData } from './patient-data.js';
import type { CrsRuleConfig } from './rule-config.js';
import { VITAL_SIGN_KINDS } from './rule-tables.js';
import { findSepsisContext, type SepsisContext } from './sepsis-context.js';
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
    | 'truncated';
  detail: string;
}

export type TocilizumabSuggestion =
  | { allowed: true; doseMg: number; mgPerKg: number; weightKg: number; weightTime: string; capped: boolean }
  | { allowed: false; reason: string };

export interface TocilizumabStatus {
  /** Limits applied (from the rule config), for display. */
  limits: { maxDoseMg: number; maxPer24h: number; maxTotal: number; minHours: number };
  dosesIn24h: number;
  dosesTotal: number;
  lastDose?: string;
  suggestion: TocilizumabSuggestion;
}

export type CrsOutcome =
  | { kind: 'crs-card'; indicator: 'warning' | 'critical' }
  | { kind: 'data-gap-card'; indicator: 'info' }
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
  vitals: CrsVitals;
  grade: GradeResult;
  labs: SupportingLabs;
  tocilizumab: TocilizumabStatus;
  latestWeight?: Reading;
  /** Readings in the recent window (or undated) that were not used, and why. */
  ignoredReadings: IgnoredReading[];
  dataGaps: DataGap[];
  truncated: DataSetName[];
  outcome: CrsOutcome;
}

export interface AssessCrsInput {
  data: PatientData;
  now: Date;
  encounterId?: string;
  rules: CrsRuleConfig;
}

export function assessCrs(input: AssessCrsInput): CrsAssessment {
  const { data, now, rules } = input;
  const nowMs = now.getTime();
  const windowStartMs = nowMs - rules.recentWindowHours * HOUR_MS;
  const events = medicationEvents(data, now, rules.siteCodes);
  const therapy = findTherapyContexts(events, now, rules);
  const referenceTime = latestTherapyDose(therapy.contexts);
  const observations = normalizeTimedObservations(
    data.vitals.concat(data.labs),
    rules.siteCodes,
    readingHorizon(windowStartMs, referenceTime, nowMs, rules),
  );
  const inWindow = ({ ms }: Timed<unknown>): boolean =>
    ms === undefined || (ms >= windowStartMs && ms <= nowMs);
  const readings = items(observations.readings);
  const recent = items(observations.readings.filter(inWindow));
  const devices = items(observations.devices.filter(inWindow));
  const sepsis = findSepsisContext({
    conditions: data.conditions,
    encounters: data.encounters,
    events,
    recent,
    now,
    ...(input.encounterId !== undefined && { encounterId: input.encounterId }),
    rules,
  });
  const contexts: ContextTag[] = [
    ...therapy.contexts.map((c) => c.kind),
    ...(sepsis ? ['sepsis' as const] : []),
  ];
  const vitals = assessCrsVitals({
    recent,
    devices,
    events,
    ...(data.patient && { patient: data.patient }),
    now,
    windowStartMs,
    rules,
  });
  const grade = gradeCrs({
    vitals,
    events,
    now,
    therapyContext: therapy.contexts.length > 0,
    sepsisContext: sepsis !== undefined,
    ...(referenceTime !== undefined && { referenceTime }),
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
  const tocilizumab = tocilizumabStatus(events, nowMs, therapy.contexts, grade, latestWeight, rules);
  const dataGaps = findDataGaps(vitals, recent, latestWeight, therapy.contexts.length > 0, data.truncated);
  return {
    now: now.toISOString(),
    ...(data.patient?.id !== undefined && { patientId: data.patient.id }),
    ...(input.encounterId !== undefined && { encounterId: input.encounterId }),
    windowStart: vitals.windowStart,
    contexts,
    therapy: therapy.contexts,
    pastTherapy: therapy.past,
    ...(sepsis && { sepsis }),
    vitals,
    grade,
    labs,
    tocilizumab,
    ...(latestWeight && { latestWeight }),
    ignoredReadings: items(observations.ignored.filter(inWindow)),
    dataGaps,
    truncated: [...data.truncated],
    outcome: decideOutcome(grade, vitals, therapy.contexts, sepsis, recent, rules),
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
  nowMs: number,
  rules: CrsRuleConfig,
): ReadingHorizon {
  const { fromMs } = labRange(referenceTime, nowMs, rules);
  return {
    sinceMs: windowStartMs,
    earlier: { 'body-weight': Number.NEGATIVE_INFINITY, 'il-6': fromMs, crp: fromMs, ferritin: fromMs },
  };
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
  rules: CrsRuleConfig,
): CrsOutcome {
  if (!therapy.length && !sepsis)
    return { kind: 'no-card', reason: 'no CAR-T, bispecific or sepsis context' };
  if (grade.grade !== 'none') {
    const sepsisOnly = therapy.length === 0;
    if (sepsisOnly && grade.grade < rules.sepsis.minimumCardGrade) {
      return {
        kind: 'no-card',
        reason: `sepsis context only and grade ${grade.grade} is below the card threshold ${rules.sepsis.minimumCardGrade}`,
      };
    }
    const critical = grade.grade >= 2 || vitals.vasopressors.agents.length > 0;
    return { kind: 'crs-card', indicator: critical ? 'critical' : 'warning' };
  }
  const hasVitals = recent.some((r) => VITAL_SIGN_KINDS.includes(r.kind));
  if (therapy.length && !hasVitals) return { kind: 'data-gap-card', indicator: 'info' };
  return { kind: 'no-card', reason: 'no CRS-consistent finding in the recent window' };
}

function tocilizumabStatus(
  events: readonly MedicationEvent[],
  nowMs: number,
  therapy: readonly TherapyContext[],
  grade: GradeResult,
  weight: Reading | undefined,
  rules: CrsRuleConfig,
): TocilizumabStatus {
  const t = rules.tocilizumab;
  const doses = events.filter((e) => e.medicationClass === 'tocilizumab');
  const dosesIn24h = doses.filter((e) => Date.parse(e.start) >= nowMs - DAY_MS).length;
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
  if (!therapy.length) return block('no CAR-T or bispecific context (tocilizumab is not a sepsis treatment)');
  if (grade.grade === 'none' || grade.grade < 2) return block('guidelines consider tocilizumab from grade 2');
  if (dosesIn24h >= t.maxDosesPer24h)
    return block(`${dosesIn24h} doses already in 24 h (limit ${t.maxDosesPer24h})`);
  if (doses.length >= t.maxDosesTotal)
    return block(`${doses.length} doses already given (limit ${t.maxDosesTotal} in total)`);
  if (lastDose !== undefined && nowMs - Date.parse(lastDose) < t.minHoursBetweenDoses * HOUR_MS) {
    return block(`last dose less than ${t.minHoursBetweenDoses} h ago`);
  }
  if (!weight) return block('no body weight recorded: dose cannot be computed');
  if (nowMs - Date.parse(weight.time) > t.weightMaxAgeDays * DAY_MS) {
    return block(`latest body weight is older than ${t.weightMaxAgeDays} days`);
  }
  const underThirtyTisaCel = weight.value < 30 && therapy.some((c) => c.agent.id === 'tisagenlecleucel');
  const mgPerKg = underThirtyTisaCel ? t.mgPerKgUnder30Kg : t.mgPerKg;
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
  truncated: readonly DataSetName[],
): DataGap[] {
  const gaps: DataGap[] = [];
  const missing = vitals.missingVitals;
  const hasAny = recent.some((r) => VITAL_SIGN_KINDS.includes(r.kind));
  if (!hasAny) gaps.push({ code: 'no-vital-signs', detail: `no vital signs since ${vitals.windowStart}` });
  else {
    if (missing.includes('temperature'))
      gaps.push({ code: 'no-temperature', detail: 'no usable temperature in the recent window' });
    if (missing.includes('systolic-bp') && !recent.some((r) => r.kind === 'mean-arterial-pressure')) {
      gaps.push({ code: 'no-blood-pressure', detail: 'no usable blood pressure in the recent window' });
    }
    if (missing.includes('spo2'))
      gaps.push({ code: 'no-spo2', detail: 'no usable SpO2 in the recent window' });
  }
  if (therapyContext && !weight)
    gaps.push({ code: 'no-body-weight', detail: 'no body weight: weight-based doses cannot be computed' });
  for (const set of truncated) {
    gaps.push({
      code: 'truncated',
      detail: `${set}: the search hit its page limit, older entries may be missing`,
    });
  }
  return gaps;
}
