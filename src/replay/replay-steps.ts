/**
 * When the replay asks the engine: each stay (an encounter's period; overlapping encounters such
 * as an ICU stay inside its hospital admission make one stay), at a fixed step from the stay's
 * start. Pure.
 */
import type { Encounter } from 'fhir/r4';
import type { Dated } from './patient-timeline.js';

export const HOUR_MS = 3_600_000;
export const DAY_MS = 24 * HOUR_MS;
/** The latest instant a JavaScript Date can hold (ECMA-262 21.4.1.1): "after everything". */
export const END_OF_TIME_MS = 8.64e15;

export interface Stay {
  startMs: number;
  endMs: number;
  encounterIds: string[];
}

export interface StepOptions {
  stepMs: number;
  /** Only steps at or after this instant. */
  fromMs?: number;
  /** Only steps at or before this instant. */
  toMs?: number;
  /** Only encounters of these classes (Encounter.class.code), e.g. `ACUTE` for MIMIC ICU stays. */
  encounterClasses?: readonly string[];
}

/**
 * Stays from the encounters with a start and an end (an open one ends at `openEndMs`, the last
 * time the export knows anything of the patient), merged where they overlap, cut to from/to.
 */
export function staysOf(
  encounters: readonly Dated<Encounter>[],
  openEndMs: number,
  options: StepOptions,
): Stay[] {
  const classes = options.encounterClasses;
  const periods = encounters
    .filter((d) => !classes || classes.includes(d.resource.class.code ?? ''))
    .map((d) => ({
      startMs: Math.max(d.knownMs, options.fromMs ?? Number.NEGATIVE_INFINITY),
      endMs: Math.min(d.endMs ?? Math.max(openEndMs, d.knownMs), options.toMs ?? Number.POSITIVE_INFINITY),
      id: d.resource.id ?? '',
    }))
    .filter((p) => p.endMs >= p.startMs)
    .sort((a, b) => a.startMs - b.startMs);
  const stays: Stay[] = [];
  for (const p of periods) {
    const last = stays[stays.length - 1];
    if (last && p.startMs <= last.endMs) {
      last.endMs = Math.max(last.endMs, p.endMs);
      last.encounterIds.push(p.id);
    } else stays.push({ startMs: p.startMs, endMs: p.endMs, encounterIds: [p.id] });
  }
  return stays;
}

/** start, start + step, ... up to the end of the stay. */
export function stepTimes(stay: Stay, stepMs: number): number[] {
  const times: number[] = [];
  for (let t = stay.startMs; t <= stay.endMs; t += stepMs) times.push(t);
  return times;
}

/** Length of the stays in days (the denominator of every per-patient-day rate). */
export function stayDays(stays: readonly Stay[]): number {
  return stays.reduce((sum, s) => sum + (s.endMs - s.startMs) / DAY_MS, 0);
}

/** `90m`, `1h`, `2d`, `30s` -> ms; undefined when not of that form or not positive. */
export function parseDuration(text: string): number | undefined {
  const match = /^(\d+(?:\.\d+)?)(s|m|h|d)$/.exec(text.trim());
  if (!match) return undefined;
  const unit = { s: 1000, m: 60_000, h: HOUR_MS, d: DAY_MS }[match[2] as 's' | 'm' | 'h' | 'd'];
  const ms = Number(match[1]) * unit;
  return ms > 0 ? ms : undefined;
}
