/**
 * The ASTCT grade band, hour by hour, computed by the service's own engine (assessCrs from the
 * pure core, the function behind every card): at each hour it is run with `now` = that hour and
 * the Observations and administrations recorded up to that hour, as if the EHR had called then.
 */
import { assessCrs, type CrsAssessment } from '../../../src/rules/crs-sentinel/assess-crs.js';
import { HOUR_MS, parseFhirTime, periodBounds } from '../../../src/rules/crs-sentinel/fhir-values.js';
import { observationTime } from '../../../src/rules/crs-sentinel/normalize-observations.js';
import type { PatientData } from '../../../src/rules/crs-sentinel/patient-data.js';
import type { CrsRuleConfig } from '../../../src/rules/crs-sentinel/rule-config.js';
import type { MedicationAdministration, Observation } from 'fhir/r4';

/** What one hour of the band shows. */
export type BandState =
  'no-context' | 'no-crs' | 'grade-1' | 'grade-2' | 'grade-3' | 'grade-4' | 'afebrile' | 'data-gap';

export interface BandHour {
  ms: number;
  state: BandState;
  /** The engine's words: the rules that fired, or why there is no grade. */
  basis: string;
}

/** Hours on the hour from `fromMs` (rounded up) to `toMs`, the last one `toMs` itself. */
export function bandHours(fromMs: number, toMs: number): number[] {
  const hours: number[] = [];
  for (let ms = Math.ceil(fromMs / HOUR_MS) * HOUR_MS; ms < toMs; ms += HOUR_MS) hours.push(ms);
  hours.push(toMs);
  return hours;
}

/** PatientData with its timed lists sorted once, so each hour takes a prefix. */
export interface TimedData {
  data: PatientData;
  observations: { ms: number; obs: Observation }[];
  administrations: { ms: number; ma: MedicationAdministration }[];
}

export function prepareTimedData(data: PatientData): TimedData {
  const observations = data.vitals
    .concat(data.labs)
    .map((obs) => ({ obs, ms: msOr(observationTime(obs)?.time) }))
    .sort((a, b) => a.ms - b.ms);
  const administrations = data.medicationAdministrations
    .map((ma) => ({ ma, ms: msOr(ma.effectiveDateTime ?? periodBounds(ma.effectivePeriod).start) }))
    .sort((a, b) => a.ms - b.ms);
  return { data, observations, administrations };
}

/** Undated entries sort first and are always passed on: the engine reports them as unusable. */
function msOr(time: string | number | undefined): number {
  if (typeof time === 'number') return time;
  return parseFhirTime(time) ?? Number.NEGATIVE_INFINITY;
}

/** The band state at one hour: the engine run as of that hour. */
export function bandAt(timed: TimedData, ms: number, rules: CrsRuleConfig): BandHour {
  const upTo = <T extends { ms: number }>(list: readonly T[]): T[] => list.slice(0, countUpTo(list, ms));
  const data: PatientData = {
    ...timed.data,
    vitals: upTo(timed.observations).map((o) => o.obs),
    labs: [],
    medicationAdministrations: upTo(timed.administrations).map((a) => a.ma),
  };
  const assessment = assessCrs({ data, now: new Date(ms), rules });
  return { ms, state: stateOf(assessment), basis: basisOf(assessment) };
}

function countUpTo(list: readonly { ms: number }[], ms: number): number {
  let lo = 0;
  let hi = list.length;
  while (lo < hi) {
    const mid = (lo + hi) >>> 1;
    if ((list[mid] as { ms: number }).ms <= ms) lo = mid + 1;
    else hi = mid;
  }
  return lo;
}

/** Outside a CAR-T or bispecific window the ASTCT grade does not apply: the band says so. */
function stateOf(a: CrsAssessment): BandState {
  if (a.therapy.length === 0) return 'no-context';
  switch (a.outcome.kind) {
    case 'crs-card':
      return a.grade.grade === 'none' ? 'no-crs' : `grade-${a.grade.grade}`;
    case 'afebrile-card':
      return 'afebrile';
    case 'data-gap-card':
      return 'data-gap';
    case 'sepsis-card':
    case 'no-card':
      return 'no-crs';
  }
}

function basisOf(a: CrsAssessment): string {
  if (a.outcome.kind === 'no-card') return a.outcome.reason;
  if (a.outcome.kind === 'data-gap-card') return a.dataGaps.map((g) => g.detail).join('; ');
  return a.grade.basis.join('; ');
}

/**
 * Runs the band in slices, yielding to the browser between them so the charts are drawn first
 * and stay responsive; `onSlice` gets each finished slice.
 */
export async function computeBand(
  timed: TimedData,
  hours: readonly number[],
  rules: CrsRuleConfig,
  onSlice: (done: BandHour[]) => void,
  sliceSize = 24,
): Promise<BandHour[]> {
  const out: BandHour[] = [];
  for (let i = 0; i < hours.length; i += sliceSize) {
    const slice = hours.slice(i, i + sliceSize).map((ms) => bandAt(timed, ms, rules));
    out.push(...slice);
    onSlice(out);
    await new Promise((resolve) => setTimeout(resolve, 0));
  }
  return out;
}
