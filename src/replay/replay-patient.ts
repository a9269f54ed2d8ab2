/**
 * Replays one patient: at each step of each stay, the engine (assessCrs + renderCrsCards, the
 * very functions the service calls in src/service/patient-view.ts) gets exactly what the EHR held
 * then (time-travel.ts) and `now` = the step; every would-be card goes through the governance
 * step. Out comes a serialisable PatientReplay: decisions, alert episodes, time to alert around
 * each reference event, data gaps, and the series a timeline plot needs. Pure (no I/O, no clock).
 */
import { assessCrs, type CrsAssessment } from '../rules/crs-sentinel/assess-crs.js';
import type { CrsCardTemplates } from '../rules/crs-sentinel/card-templates.js';
import { medicationEvents } from '../rules/crs-sentinel/medication-events.js';
import { normalizeObservations } from '../rules/crs-sentinel/normalize-observations.js';
import { ASSESSMENT_EXTENSION, renderCrsCards } from '../rules/crs-sentinel/render-crs-cards.js';
import { ruleLookBackMs, type CrsRuleConfig } from '../rules/crs-sentinel/rule-config.js';
import type { ReadingKind } from '../rules/crs-sentinel/rule-tables.js';
import { sepsisCoding } from '../rules/crs-sentinel/sepsis-context.js';
import { ResourceMemo } from '../rules/crs-sentinel/per-resource-memo.js';
import type { CdsCard } from '../cds-hooks/cds-hooks-types.js';
import { cardFacts } from '../governance/card-facts.js';
import type { Decision, GovernancePolicy, Indicator, WouldBeCard } from './governance-step.js';
import type { PatientTimeline } from './patient-timeline.js';
import {
  eventOccurrences,
  firstEventsIn,
  type EventOccurrence,
  type ReferenceEventDefinition,
} from './reference-events.js';
import { staysOf, stepTimes, DAY_MS, END_OF_TIME_MS, type StepOptions, type Stay } from './replay-steps.js';
import { dataAt } from './time-travel.js';

export interface ReplayOptions extends StepOptions {
  rules: CrsRuleConfig;
  templates: CrsCardTemplates;
  events: readonly ReferenceEventDefinition[];
  policy: GovernancePolicy;
  /** How far before or after an event an alert still counts as "for" that event. */
  eventWindowMs: number;
  /** Keep the plot series (off in benchmarks). */
  plotSeries: boolean;
}

/** A run of consecutive steps with an alert (warning or critical) card. */
export interface Episode {
  startMs: number;
  endMs: number;
  indicator: 'warning' | 'critical';
  /** At least one card of the run was shown after governance. */
  shown: boolean;
}

export interface EventResult {
  id: string;
  atMs: number;
  /** The first shown alert within the event window, if any. */
  firstAlertMs?: number;
  /** What the engine said at the first step after the event (why no card, or which card). */
  outcomeAfter?: string;
}

export interface StayReplay {
  startMs: number;
  endMs: number;
  steps: number;
  /**
   * The stay's admission was coded as sepsis at some point (any time, discharge codes included):
   * hindsight the engine never sees, only used to split the alert burden in the report.
   */
  codedSepsis: boolean;
  episodes: Episode[];
  events: EventResult[];
}

export interface PlotSeries {
  /** [ms, kind, value]: temperature °C, SBP and MAP mmHg, SpO2 %, O2 flow L/min, FiO2 %. */
  readings: [number, string, number][];
  /** Infusions (vasopressors, inotropes) as bars: [startMs, endMs, name]. */
  infusions: [number, number, string][];
}

export interface PatientReplay {
  /** A pseudonym (hash of the patient id) set by the caller: reports carry no patient id. */
  patientKey: string;
  steps: number;
  patientDays: number;
  stays: StayReplay[];
  decisions: Decision[];
  /** Steps at which each data gap was reported. */
  dataGapSteps: Record<string, number>;
  undated: Record<string, number>;
  unreadable: Record<string, number>;
  unused: Record<string, number>;
  plot?: PlotSeries;
}

const ALERT: readonly Indicator[] = ['warning', 'critical'];
const PLOT_KINDS: readonly ReadingKind[] = [
  'temperature',
  'systolic-bp',
  'mean-arterial-pressure',
  'spo2',
  'oxygen-flow',
  'fio2',
];
const PLOT_INFUSION_CLASSES = new Set(['vasopressor', 'inotrope', 'car-t', 'bispecific', 'tocilizumab']);

export function replayPatient(
  timeline: PatientTimeline,
  patientKey: string,
  options: ReplayOptions,
): PatientReplay {
  const lookBackMs = ruleLookBackMs(options.rules);
  const whole = dataAt(timeline, END_OF_TIME_MS, Number.POSITIVE_INFINITY);
  const stays = staysOf(timeline.encounters, lastKnownMs(timeline), options);
  const occurrences = eventOccurrences(whole, options.events, options.rules.siteCodes, options.rules.codes);
  const decisions: Decision[] = [];
  const dataGapSteps: Record<string, number> = {};
  const stayResults: StayReplay[] = [];
  // The same resources at every step: classify each once (per-resource-memo.ts).
  const memo = new ResourceMemo(options.rules.siteCodes, options.rules.codes);
  let steps = 0;
  for (const stay of stays) {
    const times = stepTimes(stay, options.stepMs);
    const stayEvents = firstEventsIn(occurrences, stay.startMs, stay.endMs);
    const outcomes = new Map<number, string>();
    const alertSteps: { atMs: number; indicator: Indicator; shown: boolean }[] = [];
    for (const t of times) {
      const assessment = assessCrs({
        data: dataAt(timeline, t, lookBackMs),
        now: new Date(t),
        rules: options.rules,
        memo,
      });
      if (stayEvents.some((e) => e.atMs <= t && e.atMs > t - options.stepMs))
        outcomes.set(t, outcomeText(assessment));
      for (const gap of assessment.dataGaps) dataGapSteps[gap.code] = (dataGapSteps[gap.code] ?? 0) + 1;
      const stepDecisions = decide(assessment, t, options, decisions);
      const alerts = stepDecisions.filter((d) => ALERT.includes(d.indicator));
      if (alerts.length)
        alertSteps.push({
          atMs: t,
          indicator: alerts.some((d) => d.indicator === 'critical') ? 'critical' : 'warning',
          shown: alerts.some((d) => d.shown),
        });
    }
    steps += times.length;
    stayResults.push({
      startMs: stay.startMs,
      endMs: stay.endMs,
      steps: times.length,
      codedSepsis: codedSepsis(timeline, stay, options.rules),
      episodes: episodesOf(alertSteps, options.stepMs),
      events: eventResults(stayEvents, decisions, options, outcomes),
    });
  }
  const result: PatientReplay = {
    patientKey,
    steps,
    patientDays: stays.reduce((sum, s) => sum + (s.endMs - s.startMs) / DAY_MS, 0),
    stays: stayResults,
    decisions,
    dataGapSteps,
    undated: timeline.undated,
    unreadable: timeline.unreadable,
    unused: timeline.unused,
  };
  if (options.plotSeries && (decisions.length > 0 || stayResults.some((s) => s.events.length > 0)))
    result.plot = plotSeries(whole, stays, options.rules);
  return result;
}

function lastKnownMs(timeline: PatientTimeline): number {
  let last = Number.NEGATIVE_INFINITY;
  for (const list of [timeline.vitals, timeline.labs, timeline.administrations, timeline.encounters]) {
    for (const d of list) last = Math.max(last, d.endMs ?? d.knownMs);
  }
  return last;
}

function decide(
  assessment: CrsAssessment,
  atMs: number,
  options: ReplayOptions,
  previous: Decision[],
): Decision[] {
  if (assessment.outcome.kind === 'no-card') return [];
  const cards = renderCrsCards(assessment, options.templates, () => 'replay');
  return cards.map((card) => {
    const wouldBe = wouldBeCard(assessment, card, atMs);
    const decision: Decision = { ...wouldBe, shown: options.policy(previous, wouldBe) === 'shown' };
    previous.push(decision);
    return decision;
  });
}

function wouldBeCard(a: CrsAssessment, card: CdsCard, atMs: number): WouldBeCard {
  const ext = (card.extension?.[ASSESSMENT_EXTENSION] ?? {}) as Record<string, unknown>;
  const sepsisRules = a.sepsis?.rulesFired ?? [];
  const kind = typeof ext.cardKind === 'string' ? ext.cardKind : a.outcome.kind;
  return {
    atMs,
    indicator: card.indicator,
    kind: a.outcome.kind,
    grade: String(a.grade.grade),
    contexts: [...a.contexts],
    summary: card.summary,
    rule:
      sepsisRules.length && a.outcome.kind === 'sepsis-card' ? `${kind} (${sepsisRules.join(', ')})` : kind,
    facts: cardFacts(a, card),
    fingerprint: JSON.stringify([
      a.grade.hypotensionDomain,
      a.grade.hypoxiaDomain,
      a.grade.feverPresent,
      a.vitals.vasopressors.agents.map((p) => p.name),
    ]),
  };
}

/** Consecutive alert steps (no gap longer than one step) make one episode. */
export function episodesOf(
  alertSteps: readonly { atMs: number; indicator: Indicator; shown: boolean }[],
  stepMs: number,
): Episode[] {
  const episodes: Episode[] = [];
  for (const s of alertSteps) {
    const last = episodes[episodes.length - 1];
    if (last && s.atMs - last.endMs <= stepMs) {
      last.endMs = s.atMs;
      if (s.indicator === 'critical') last.indicator = 'critical';
      last.shown ||= s.shown;
    } else
      episodes.push({
        startMs: s.atMs,
        endMs: s.atMs,
        indicator: s.indicator === 'critical' ? 'critical' : 'warning',
        shown: s.shown,
      });
  }
  return episodes;
}

function eventResults(
  events: readonly EventOccurrence[],
  decisions: readonly Decision[],
  options: ReplayOptions,
  outcomes: ReadonlyMap<number, string>,
): EventResult[] {
  const windowMs = options.eventWindowMs;
  return events.map((e) => {
    const first = decisions.find(
      (d) =>
        d.shown && ALERT.includes(d.indicator) && d.atMs >= e.atMs - windowMs && d.atMs <= e.atMs + windowMs,
    );
    const stepAfter = [...outcomes.keys()].find((t) => t >= e.atMs && t < e.atMs + options.stepMs);
    const outcomeAfter = stepAfter === undefined ? undefined : outcomes.get(stepAfter);
    return {
      ...e,
      ...(first && { firstAlertMs: first.atMs }),
      ...(outcomeAfter !== undefined && { outcomeAfter }),
    };
  });
}

function outcomeText(a: CrsAssessment): string {
  const o = a.outcome;
  return o.kind === 'no-card' ? `no card: ${o.reason}` : `${o.kind} (${o.indicator})`;
}

/** Any sepsis-coded Condition on an encounter overlapping the stay (hindsight, for the report). */
function codedSepsis(timeline: PatientTimeline, stay: Stay, rules: CrsRuleConfig): boolean {
  const overlapping = new Set(
    timeline.encounters
      .filter((e) => e.knownMs <= stay.endMs && (e.endMs ?? e.knownMs) >= stay.startMs)
      .map((e) => `Encounter/${e.resource.id ?? ''}`),
  );
  return timeline.conditions.some(
    (c) =>
      c.resource.encounter?.reference !== undefined &&
      overlapping.has(c.resource.encounter.reference) &&
      sepsisCoding(c.resource, rules.siteCodes, rules.codes) !== undefined,
  );
}

function plotSeries(
  whole: ReturnType<typeof dataAt>,
  stays: readonly Stay[],
  rules: CrsRuleConfig,
): PlotSeries {
  const inStay = (ms: number) => stays.some((s) => ms >= s.startMs && ms <= s.endMs);
  const readings: [number, string, number][] = [];
  for (const r of normalizeObservations(whole.vitals, rules.siteCodes, rules.codes).readings) {
    const ms = Date.parse(r.time);
    if (PLOT_KINDS.includes(r.kind) && inStay(ms)) readings.push([ms, r.kind, r.value]);
  }
  const infusions: [number, number, string][] = [];
  for (const m of medicationEvents(whole, new Date(END_OF_TIME_MS), rules.siteCodes, rules.codes)) {
    if (!m.infusion || !PLOT_INFUSION_CLASSES.has(m.medicationClass)) continue;
    const start = Date.parse(m.start);
    const end = m.end === undefined ? start : Date.parse(m.end);
    if (stays.some((s) => end >= s.startMs && start <= s.endMs)) infusions.push([start, end, m.name]);
  }
  return { readings, infusions };
}
