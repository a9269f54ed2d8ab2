/**
 * Therapy context: a CAR-T infusion or a bispecific T-cell engager dose recent enough for CRS.
 * The index date is the LATEST dose (clinical reference section 2: onset counts from the latest
 * dose). Windows [DESIGN, configurable]: CAR-T days 0-14 high attention, 15-30 extended (infection
 * likelier); bispecific 7 days after any dose.
 */
import type { CellTherapyDiagnosis } from './cell-therapy-diagnoses.js';
import { DAY_MS, HOUR_MS, isoTime, timeMs } from './fhir-values.js';
import type { MatchedBy, MedicationEvent } from './medication-events.js';
import type { CrsRuleConfig } from './rule-config.js';

export type TherapyKind = 'car-t' | 'bispecific';
export type TherapyWindow = 'high-attention' | 'extended';

export interface TherapyContext {
  kind: TherapyKind;
  agent: { id: string; name: string };
  /**
   * Latest exposure: end of the latest dose or infusion; `now` while an infusion still runs
   * (continuous blinatumomab keeps the window open from the last exposure, not the start).
   */
  latestDose: string;
  /** Start of the latest dose or infusion: the start of the current CRS episode. */
  exposureStart: string;
  /** An infusion of the agent is still running. */
  running: boolean;
  doseCount: number;
  /** Whole days elapsed since the latest dose: day 0 is the first 24 h. */
  daysSinceDose: number;
  hoursSinceDose: number;
  window: TherapyWindow;
  matchedBy: MatchedBy | 'diagnosis';
  matchedOn: string;
}

/** A therapy seen but outside every window: reported, no context. */
export interface PastTherapy {
  kind: TherapyKind;
  agent: { id: string; name: string };
  latestDose: string;
  daysSinceDose: number;
}

export interface TherapyFindings {
  contexts: TherapyContext[];
  past: PastTherapy[];
}

export function findTherapyContexts(
  events: readonly MedicationEvent[],
  now: Date,
  rules: CrsRuleConfig,
  diagnoses: readonly CellTherapyDiagnosis[] = [],
): TherapyFindings {
  const contexts: TherapyContext[] = [];
  const past: PastTherapy[] = [];
  const nowMs = now.getTime();
  for (const kind of ['car-t', 'bispecific'] as const) {
    const doses = events.filter((e) => e.medicationClass === kind);
    const latest = latestDose(doses, nowMs, rules);
    if (!latest) continue;
    const doseMs = exposureEnd(latest, nowMs, rules);
    const elapsedMs = Math.max(0, now.getTime() - doseMs);
    const daysSinceDose = Math.floor(elapsedMs / DAY_MS);
    const window = therapyWindow(kind, elapsedMs, rules);
    const agent = { id: latest.conceptId, name: latest.name };
    if (!window) {
      past.push({ kind, agent, latestDose: new Date(doseMs).toISOString(), daysSinceDose });
      continue;
    }
    contexts.push({
      kind,
      agent,
      latestDose: new Date(doseMs).toISOString(),
      exposureStart: isoTime(exposureStart(latest, doses, nowMs, rules)),
      running: latest.end === undefined && latest.status === 'in-progress' && doseMs >= nowMs,
      doseCount: doses.filter((d) => d.conceptId === latest.conceptId).length,
      daysSinceDose,
      hoursSinceDose: Math.floor(elapsedMs / HOUR_MS),
      window,
      matchedBy: latest.matchedBy,
      matchedOn: latest.matchedOn,
    });
  }
  if (!contexts.some((c) => c.kind === 'car-t')) {
    const byDiagnosis = diagnosisContext(diagnoses, nowMs, rules);
    if (byDiagnosis) contexts.push(byDiagnosis);
  }
  return { contexts, past };
}

/**
 * Where the drug stops acting on the window: the infusion's end, now while it runs (for at most
 * maxOpenInfusionDays from its start), else the dose.
 */
function exposureEnd(dose: MedicationEvent, nowMs: number, rules: CrsRuleConfig): number {
  if (dose.end !== undefined) return Math.min(timeMs(dose.end), nowMs);
  if (dose.status !== 'in-progress') return timeMs(dose.start);
  return Math.min(nowMs, timeMs(dose.start) + rules.bispecific.maxOpenInfusionDays * DAY_MS);
}

/**
 * Start of the exposure the latest dose belongs to: a continuous infusion charted as consecutive
 * bags (blinatumomab runs 28 days, a bag every 1-4 days) is one exposure from its first bag, so a
 * bag change starts no new CRS episode. [DESIGN] a bag that ends at most
 * `bispecific.bagChangeGapHours` before the next one starts is the same infusion.
 */
function exposureStart(
  latest: MedicationEvent,
  doses: readonly MedicationEvent[],
  nowMs: number,
  rules: CrsRuleConfig,
): number {
  const gapMs = rules.bispecific.bagChangeGapHours * HOUR_MS;
  let start = timeMs(latest.start);
  const infusions = doses.filter((d) => d.end === undefined || timeMs(d.end) > timeMs(d.start));
  if (!infusions.includes(latest)) return start;
  for (let extended = true; extended;) {
    extended = false;
    for (const d of infusions) {
      const dStart = timeMs(d.start);
      if (dStart < start && exposureEnd(d, nowMs, rules) >= start - gapMs) {
        start = dStart;
        extended = true;
      }
    }
  }
  return start;
}

function latestDose(
  doses: readonly MedicationEvent[],
  nowMs: number,
  rules: CrsRuleConfig,
): MedicationEvent | undefined {
  let latest: MedicationEvent | undefined;
  for (const dose of doses) {
    if (!latest || exposureEnd(dose, nowMs, rules) > exposureEnd(latest, nowMs, rules)) latest = dose;
  }
  return latest;
}

/**
 * No charted dose, but a dated diagnosis of a complication of immune effector cell therapy
 * (T80.82-) or of CRS (D89.83x) within the CAR-T window: a cell-therapy context by diagnosis, the infusion date
 * unknown, the window counted from the diagnosis date. [DESIGN]
 */
function diagnosisContext(
  diagnoses: readonly CellTherapyDiagnosis[],
  nowMs: number,
  rules: CrsRuleConfig,
): TherapyContext | undefined {
  const dated = diagnoses.filter(
    (d): d is CellTherapyDiagnosis & { ms: number } => d.ms !== undefined && !d.history,
  );
  const latest = dated.sort((a, b) => b.ms - a.ms)[0];
  if (!latest) return undefined;
  const elapsedMs = Math.max(0, nowMs - latest.ms);
  const window = therapyWindow('car-t', elapsedMs, rules);
  if (!window) return undefined;
  return {
    kind: 'car-t',
    agent: {
      id: 'immune-effector-cell-therapy',
      name: 'immune effector cell therapy (date from a diagnosis)',
    },
    latestDose: isoTime(latest.ms),
    exposureStart: isoTime(latest.ms),
    running: false,
    doseCount: 0,
    daysSinceDose: Math.floor(elapsedMs / DAY_MS),
    hoursSinceDose: Math.floor(elapsedMs / HOUR_MS),
    window,
    matchedBy: 'diagnosis',
    matchedOn: `${latest.system}|${latest.code}`,
  };
}

function therapyWindow(
  kind: TherapyKind,
  elapsedMs: number,
  rules: CrsRuleConfig,
): TherapyWindow | undefined {
  if (kind === 'bispecific')
    return elapsedMs <= rules.bispecific.windowDays * DAY_MS ? 'high-attention' : undefined;
  const day = Math.floor(elapsedMs / DAY_MS);
  if (day <= rules.carT.highAttentionDays) return 'high-attention';
  if (day <= rules.carT.extendedDays) return 'extended';
  return undefined;
}
