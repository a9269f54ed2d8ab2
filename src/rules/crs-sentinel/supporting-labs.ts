/**
 * Supporting labs: evidence shown on the card, never used for the grade. [ASTCT] grades on
 * physiology only; IL-6, CRP and ferritin are the markers clinicians order when CRS is suspected.
 * Lactate in sepsis context: [SEPSIS3] shock = vasopressors for MAP >= 65 and lactate > 2 mmol/L.
 */
import { DAY_MS, timeMs } from './fhir-values.js';
import type { Reading } from './normalize-observations.js';
import type { CrsRuleConfig } from './rule-config.js';

export type CytokineMarker = 'il-6' | 'crp' | 'ferritin';
const MARKERS: readonly CytokineMarker[] = ['il-6', 'crp', 'ferritin'];
const isMarker = (kind: string): kind is CytokineMarker => (MARKERS as readonly string[]).includes(kind);

export interface LabTrend {
  kind: CytokineMarker;
  latest: Reading;
  /** Last value before the reference time (the latest dose), else the first one after it. */
  baseline?: Reading;
  direction?: 'rising' | 'falling' | 'stable';
  /** latest / baseline, one decimal. */
  changeFactor?: number;
}

export interface LactateFinding {
  latest: Reading;
  aboveShockThreshold: boolean;
  /** [SEPSIS3] septic shock criterion: lactate above threshold while on vasopressors. */
  sepsis3ShockCriterion: boolean;
}

export interface SupportingLabs {
  markers: LabTrend[];
  lactate?: LactateFinding;
}

export interface SupportingLabsInput {
  readings: readonly Reading[];
  now: Date;
  /** Latest therapy dose, or undefined (then the sepsis look-back start is the reference). */
  referenceTime?: string;
  windowStartMs: number;
  sepsisContext: boolean;
  onVasopressors: boolean;
  rules: CrsRuleConfig;
}

/** The markers' reference (the latest dose, else the sepsis look-back start) and earliest time read. */
export function labRange(
  referenceTime: string | undefined,
  nowMs: number,
  rules: CrsRuleConfig,
): { referenceMs: number; fromMs: number } {
  const lookbackMs = rules.sepsis.diagnosisLookbackDays * DAY_MS;
  const referenceMs = referenceTime !== undefined ? timeMs(referenceTime) : nowMs - lookbackMs;
  return { referenceMs, fromMs: referenceMs - lookbackMs };
}

export function supportingLabs(input: SupportingLabsInput): SupportingLabs {
  const nowMs = input.now.getTime();
  const { referenceMs, fromMs } = labRange(input.referenceTime, nowMs, input.rules);
  // Kind first: the readings are mostly vital signs, and a time costs a parse.
  const inRange = input.readings.filter((r) => {
    if (!isMarker(r.kind)) return false;
    const t = timeMs(r.time);
    return t >= fromMs && t <= nowMs;
  });
  const markers = MARKERS.map((kind) => markerTrend(kind, inRange, referenceMs, input.rules)).filter(
    (t): t is LabTrend => t !== undefined,
  );
  const lactate = input.sepsisContext ? lactateFinding(input) : undefined;
  return { markers, ...(lactate && { lactate }) };
}

function markerTrend(
  kind: CytokineMarker,
  readings: readonly Reading[],
  referenceMs: number,
  rules: CrsRuleConfig,
): LabTrend | undefined {
  const series = readings.filter((r) => r.kind === kind);
  const latest = series[series.length - 1];
  if (!latest) return undefined;
  const before = series.filter((r) => timeMs(r.time) <= referenceMs);
  const baseline =
    before[before.length - 1] ?? series.find((r) => r !== latest && timeMs(r.time) > referenceMs);
  if (!baseline || baseline === latest) return { kind, latest };
  if (baseline.value <= 0) return { kind, latest, baseline };
  const ratio = latest.value / baseline.value;
  const tolerance = rules.labs.trendTolerance;
  const direction = ratio > 1 + tolerance ? 'rising' : ratio < 1 - tolerance ? 'falling' : 'stable';
  return { kind, latest, baseline, direction, changeFactor: Math.round(ratio * 10) / 10 };
}

function lactateFinding(input: SupportingLabsInput): LactateFinding | undefined {
  const nowMs = input.now.getTime();
  const recent = input.readings.filter((r) => {
    if (r.kind !== 'lactate') return false;
    const t = timeMs(r.time);
    return t >= input.windowStartMs && t <= nowMs;
  });
  const latest = recent[recent.length - 1];
  if (!latest) return undefined;
  const above = latest.value > input.rules.labs.lactateShockAbove;
  return { latest, aboveShockThreshold: above, sepsis3ShockCriterion: above && input.onVasopressors };
}
