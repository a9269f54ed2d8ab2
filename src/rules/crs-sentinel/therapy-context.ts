/**
 * Therapy context: a CAR-T infusion or a bispecific T-cell engager dose recent enough for CRS.
 * The index date is the LATEST dose (clinical reference section 2: onset counts from the latest
 * dose). Windows [DESIGN, configurable]: CAR-T days 0-14 high attention, 15-30 extended (infection
 * likelier); bispecific 7 days after any dose.
 */
import { DAY_MS, HOUR_MS } from './fhir-values.js';
import type { MatchedBy, MedicationEvent } from './medication-events.js';
import type { CrsRuleConfig } from './rule-config.js';

export type TherapyKind = 'car-t' | 'bispecific';
export type TherapyWindow = 'high-attention' | 'extended';

export interface TherapyContext {
  kind: TherapyKind;
  agent: { id: string; name: string };
  /** Latest dose (end of an infusion, e.g. continuous blinatumomab). */
  latestDose: string;
  doseCount: number;
  /** Whole days elapsed since the latest dose: day 0 is the first 24 h. */
  daysSinceDose: number;
  hoursSinceDose: number;
  window: TherapyWindow;
  matchedBy: MatchedBy;
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
): TherapyFindings {
  const contexts: TherapyContext[] = [];
  const past: PastTherapy[] = [];
  for (const kind of ['car-t', 'bispecific'] as const) {
    const doses = events.filter((e) => e.medicationClass === kind);
    const latest = latestDose(doses);
    if (!latest) continue;
    const doseMs = Date.parse(latest.end ?? latest.start);
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
      doseCount: doses.filter((d) => d.conceptId === latest.conceptId).length,
      daysSinceDose,
      hoursSinceDose: Math.floor(elapsedMs / HOUR_MS),
      window,
      matchedBy: latest.matchedBy,
      matchedOn: latest.matchedOn,
    });
  }
  return { contexts, past };
}

function latestDose(doses: readonly MedicationEvent[]): MedicationEvent | undefined {
  let latest: MedicationEvent | undefined;
  for (const dose of doses) {
    if (!latest || (dose.end ?? dose.start) > (latest.end ?? latest.start)) latest = dose;
  }
  return latest;
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
