/**
 * The cohort figures of a replay, from the per-patient results (pure). Computed from the sorted
 * patient results only, so the merge of shards gives exactly the report of one run.
 */
import type { PatientReplay } from './replay-patient.js';
import type { ReferenceEventDefinition } from './reference-events.js';
import type { Decision } from './governance-step.js';
import { DAY_MS, HOUR_MS } from './replay-steps.js';

/**
 * A critical card in a sepsis-only context set by oxygen alone: no hypotension domain and no
 * vasopressor in its findings (Decision.fingerprint: [hypotension, hypoxia, fever, vasopressors]).
 */
export function isOxygenOnlySepsisCritical(d: Decision): boolean {
  if (d.indicator !== 'critical' || d.contexts.join() !== 'sepsis') return false;
  const [hypotension, hypoxia, , pressors] = JSON.parse(d.fingerprint) as [number, number, boolean, string[]];
  return hypotension === 0 && pressors.length === 0 && hypoxia > 0;
}

export interface Distribution {
  count: number;
  /** Minutes (negative: the alert came before the event). */
  min?: number;
  p25?: number;
  median?: number;
  p75?: number;
  max?: number;
}

export interface EventSummary {
  id: string;
  label: string;
  /** Stays with the event. */
  stays: number;
  /** ... with a shown alert within the event window. */
  alerted: number;
  /** ... alerted at the latest 1 h after the event. */
  alertedWithin1h: number;
  leadLagMinutes: Distribution;
  /** What the engine said at the first step after the events not alerted by +1 h (top reasons). */
  notAlertedWithin1hBecause: [string, number][];
}

export interface CohortReport {
  patients: number;
  stays: number;
  steps: number;
  patientDays: number;
  /** Would-be cards per patient-day, by `indicator` and by `indicator/grade`. */
  cardsPerPatientDay: { raw: Record<string, number>; governed: Record<string, number> };
  cards: { raw: Record<string, number>; governed: Record<string, number> };
  alertEpisodes: { raw: number; governed: number; perPatientDay: { raw: number; governed: number } };
  patientsEverAlerted: { raw: number; governed: number; share: { raw: number; governed: number } };
  /** The same burden in stays whose admission was never coded as sepsis (hindsight split). */
  notCodedSepsis: {
    stays: number;
    patientDays: number;
    alertEpisodes: { raw: number; governed: number };
    perPatientDay: { raw: number; governed: number };
  };
  /** Critical cards in a sepsis-only context with no hypotension and no vasopressor (raw). */
  oxygenOnlyCriticalInSepsis: number;
  events: EventSummary[];
  top: { summaries: [string, number][]; contexts: [string, number][]; rules: [string, number][] };
  dataGapSteps: Record<string, number>;
  undated: Record<string, number>;
  unreadable: Record<string, number>;
  unused: Record<string, number>;
}

const TOP = 10;

function bump(counts: Record<string, number>, key: string, by = 1): void {
  counts[key] = (counts[key] ?? 0) + by;
}

function addAll(into: Record<string, number>, from: Record<string, number>): void {
  for (const [k, v] of Object.entries(from)) bump(into, k, v);
}

function sortedKeys(counts: Record<string, number>): Record<string, number> {
  return Object.fromEntries(Object.entries(counts).sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0)));
}

function top(counts: Record<string, number>): [string, number][] {
  return Object.entries(counts)
    .sort(([ka, a], [kb, b]) => b - a || (ka < kb ? -1 : 1))
    .slice(0, TOP);
}

/** Numbers in a summary replaced by `#`, so the same finding with other values counts once. */
export function summaryPattern(summary: string): string {
  return summary.replace(/\d+(?:\.\d+)?/g, '#');
}

/** Nearest-rank quantile of sorted values. */
function quantile(sorted: readonly number[], q: number): number {
  return sorted[Math.min(sorted.length - 1, Math.max(0, Math.ceil(q * sorted.length) - 1))] as number;
}

export function distribution(values: readonly number[]): Distribution {
  if (values.length === 0) return { count: 0 };
  const s = [...values].sort((a, b) => a - b);
  return {
    count: s.length,
    min: s[0] as number,
    p25: quantile(s, 0.25),
    median: quantile(s, 0.5),
    p75: quantile(s, 0.75),
    max: s[s.length - 1] as number,
  };
}

const round = (x: number, digits = 4): number => Number(x.toFixed(digits));

export function cohortReport(
  patients: readonly PatientReplay[],
  events: readonly ReferenceEventDefinition[],
): CohortReport {
  const raw: Record<string, number> = {};
  const governed: Record<string, number> = {};
  const summaries: Record<string, number> = {};
  const contexts: Record<string, number> = {};
  const rules: Record<string, number> = {};
  const dataGapSteps: Record<string, number> = {};
  const undated: Record<string, number> = {};
  const unreadable: Record<string, number> = {};
  const unused: Record<string, number> = {};
  let steps = 0;
  let days = 0;
  let stays = 0;
  let episodesRaw = 0;
  let episodesGoverned = 0;
  let everRaw = 0;
  let everGoverned = 0;
  const byEvent = new Map(
    events.map((e) => [e.id, { stays: 0, alerted: 0, within1h: 0, lags: [] as number[], missed: {} }]),
  );
  const notCoded = { stays: 0, days: 0, raw: 0, governed: 0 };
  let oxygenOnly = 0;
  for (const p of patients) {
    steps += p.steps;
    days += p.patientDays;
    stays += p.stays.length;
    for (const d of p.decisions) {
      for (const counts of d.shown ? [raw, governed] : [raw]) {
        bump(counts, d.indicator);
        bump(counts, `${d.indicator}/grade ${d.grade}`);
      }
      bump(summaries, summaryPattern(d.summary));
      bump(contexts, d.contexts.length ? d.contexts.join(' + ') : 'none');
      bump(rules, d.rule);
      if (isOxygenOnlySepsisCritical(d)) oxygenOnly++;
    }
    for (const s of p.stays.filter((x) => !x.codedSepsis)) {
      notCoded.stays++;
      notCoded.days += (s.endMs - s.startMs) / DAY_MS;
      notCoded.raw += s.episodes.length;
      notCoded.governed += s.episodes.filter((e) => e.shown).length;
    }
    const episodes = p.stays.flatMap((s) => s.episodes);
    episodesRaw += episodes.length;
    episodesGoverned += episodes.filter((e) => e.shown).length;
    if (episodes.length) everRaw++;
    if (episodes.some((e) => e.shown)) everGoverned++;
    for (const e of p.stays.flatMap((s) => s.events)) {
      const agg = byEvent.get(e.id);
      if (!agg) continue;
      agg.stays++;
      const lag = e.firstAlertMs === undefined ? undefined : e.firstAlertMs - e.atMs;
      if (lag !== undefined && lag <= HOUR_MS) agg.within1h++;
      else bump(agg.missed, e.outcomeAfter ?? 'no step after the event in the stay');
      if (lag === undefined) continue;
      agg.alerted++;
      agg.lags.push(lag / 60_000);
    }
    addAll(dataGapSteps, p.dataGapSteps);
    addAll(undated, p.undated);
    addAll(unreadable, p.unreadable);
    addAll(unused, p.unused);
  }
  const perDay = (counts: Record<string, number>) =>
    sortedKeys(Object.fromEntries(Object.entries(counts).map(([k, v]) => [k, days ? round(v / days) : 0])));
  return {
    patients: patients.length,
    stays,
    steps,
    patientDays: round(days, 2),
    cardsPerPatientDay: { raw: perDay(raw), governed: perDay(governed) },
    cards: { raw: sortedKeys(raw), governed: sortedKeys(governed) },
    alertEpisodes: {
      raw: episodesRaw,
      governed: episodesGoverned,
      perPatientDay: {
        raw: days ? round(episodesRaw / days) : 0,
        governed: days ? round(episodesGoverned / days) : 0,
      },
    },
    patientsEverAlerted: {
      raw: everRaw,
      governed: everGoverned,
      share: {
        raw: patients.length ? round(everRaw / patients.length) : 0,
        governed: patients.length ? round(everGoverned / patients.length) : 0,
      },
    },
    notCodedSepsis: {
      stays: notCoded.stays,
      patientDays: round(notCoded.days, 2),
      alertEpisodes: { raw: notCoded.raw, governed: notCoded.governed },
      perPatientDay: {
        raw: notCoded.days ? round(notCoded.raw / notCoded.days) : 0,
        governed: notCoded.days ? round(notCoded.governed / notCoded.days) : 0,
      },
    },
    oxygenOnlyCriticalInSepsis: oxygenOnly,
    events: events.map((e) => {
      const agg = byEvent.get(e.id) ?? { stays: 0, alerted: 0, within1h: 0, lags: [], missed: {} };
      return {
        id: e.id,
        label: e.label,
        stays: agg.stays,
        alerted: agg.alerted,
        alertedWithin1h: agg.within1h,
        leadLagMinutes: distribution(agg.lags),
        notAlertedWithin1hBecause: top(agg.missed),
      };
    }),
    top: { summaries: top(summaries), contexts: top(contexts), rules: top(rules) },
    dataGapSteps: sortedKeys(dataGapSteps),
    undated: sortedKeys(undated),
    unreadable: sortedKeys(unreadable),
    unused: sortedKeys(unused),
  };
}
