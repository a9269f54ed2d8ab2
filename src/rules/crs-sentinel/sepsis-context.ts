/**
 * Sepsis context, following Sepsis-3's "suspected infection" as operationalised in EHR data
 * (Singer M et al. JAMA 2016;315:801; Seymour CW et al. JAMA 2016;315:762; clinical reference
 * section 4). Any one of:
 * 1. `diagnosis`: a sepsis or septic-shock diagnosis of the present admission (never one from a
 *    previous admission carried into a readmission);
 * 2. `suspected-infection-with-sirs` / `-with-qsofa`: antimicrobials with treatment intent, plus
 *    SIRS (>= 2; age-specific in children, Goldstein 2005) or qSOFA (>= 2) in the recent window
 *    or around the onset of the suspected infection (48 h before to 24 h after the first dose,
 *    Seymour 2016), so the context does not flicker off when one reading leaves the window.
 *    Treatment intent: paired with a culture, a treatment agent started or continued in the
 *    look-back, or a surgical-prophylaxis agent continued past the prophylaxis period. Prophylaxis
 *    (TMP-SMX, acyclovir, levofloxacin, fluconazole...) alone never counts; nor do non-systemic
 *    agents (rifaximin, oral vancomycin).
 * 3. `suspected-infection-with-vasopressor`: antimicrobials with treatment intent and a vasopressor
 *    infusion in the recent window. Sepsis-3 defines sepsis by organ dysfunction (SOFA >= 2), not
 *    by SIRS or qSOFA, and any vasopressor infusion scores 2 to 4 on the cardiovascular SOFA
 *    (Vincent JL et al. Intensive Care Med 1996;22:707): a new pressor during a course of
 *    treatment is circulatory failure with suspected infection, whatever SIRS says.
 * 4. `vasopressor-with-infection-signs`: a vasopressor infusion together with signs of infection
 *    (a confirmed fever, an abnormal WBC, or a culture drawn) before any antimicrobial is charted,
 *    so shock is not missed because the pressor came first; outside a CAR-T or bispecific window
 *    only, where fever is CRS's own sign. [DESIGN]
 * 5. `vasopressor-shock-with-sirs`: two or more vasopressor agents infusing together with SIRS,
 *    before any antimicrobial is charted (outside a therapy window): shock that needed a second
 *    agent is septic in most ICU patients, and antimicrobials are due within the hour when septic
 *    shock is possible (Surviving Sepsis Campaign 2021). [DESIGN]
 * Rules 4 and 5 read from a day before the shock's onset (aroundShockOnset).
 * Windows are [DESIGN] and configurable (rule-config.ts).
 */
import type { Condition, Encounter } from 'fhir/r4';
import { isRuledOut } from './cell-therapy-diagnoses.js';
import {
  canonicalSystem,
  codingsOf,
  DAY_MS,
  HOUR_MS,
  parseFhirTime,
  periodBounds,
  referenceId,
  timeMs,
} from './fhir-values.js';
import { overlaps, type MedicationEvent } from './medication-events.js';
import type { Reading } from './normalize-observations.js';
import { paediatricBand, type PatientAge } from './patient-age.js';
import { sepsisCriteriaLookBackHours, type CrsRuleConfig, type PaediatricBand } from './rule-config.js';
import type { AntimicrobialIntent, ReadingKind } from './rule-tables.js';
import { vasopressorExclusion } from './crs-vitals.js';
import { perResource, type ResourceMemo } from './per-resource-memo.js';

export type SepsisRule =
  | 'diagnosis'
  | 'suspected-infection-with-sirs'
  | 'suspected-infection-with-qsofa'
  | 'suspected-infection-with-vasopressor'
  | 'vasopressor-with-infection-signs'
  | 'vasopressor-shock-with-sirs';

export interface SepsisDiagnosis {
  system: string;
  code: string;
  display?: string;
  conditionId?: string;
  /** Why it counts as present illness. */
  basis: 'onset' | 'recorded' | 'hook-encounter' | 'active-encounter';
}

export interface AntimicrobialUse {
  id: string;
  name: string;
  intent: AntimicrobialIntent;
  firstGiven: string;
  lastGiven: string;
  /** The earliest culture paired with it (Seymour 2016), if any. */
  pairedCulture?: string;
  /** Why it is (or is not) evidence of infection. */
  basis: string;
}

export interface SepsisContext {
  rulesFired: SepsisRule[];
  diagnoses: SepsisDiagnosis[];
  /** Antimicrobials that show treatment intent (the drugs behind the rule). */
  antibiotics: AntimicrobialUse[];
  /** Antimicrobials seen that were not evidence of infection (prophylaxis, surgical, oral). */
  notCounted: AntimicrobialUse[];
  /**
   * Criteria met, as text ("RR 24/min > 20"): in the recent window, around the infection's onset
   * (`onsetWindow`), or, for `vasopressor-shock-with-sirs`, since a day before the shock's onset.
   */
  sirsCriteria: string[];
  qsofaCriteria: string[];
  /** Set when the criteria were met around the infection's onset, not in the recent window. */
  onsetWindow?: OnsetWindow;
  /** The vasopressors behind `vasopressor-shock-with-sirs`, when it fired. */
  shockVasopressors?: string[];
  /** Signs of infection behind `vasopressor-with-infection-signs`. */
  infectionSigns: string[];
  /** The Goldstein band applied to SIRS in a child. */
  paediatricBand?: string;
}

/** Seymour 2016: from 48 h before to 24 h after the onset of the suspected infection (ISO times). */
export interface OnsetWindow {
  onset: string;
  from: string;
  to: string;
}

export interface SepsisInput {
  conditions: readonly Condition[];
  encounters: readonly Encounter[];
  events: readonly MedicationEvent[];
  /** Readings in the recent window. */
  recent: readonly Reading[];
  /** SIRS and qSOFA readings back to the earliest onset window (none: recent window only). */
  earlier?: readonly Reading[];
  /** Times (ms) of cultures drawn (blood or other body fluids), any age. */
  cultures: readonly number[];
  age: PatientAge;
  /** In a CAR-T or bispecific window fever is CRS's own sign, not a sign of infection. */
  therapyContext: boolean;
  now: Date;
  encounterId?: string;
  rules: CrsRuleConfig;
  /** Remembers per-resource work across calls on the same resources (a replay). */
  memo?: ResourceMemo;
}

export function findSepsisContext(input: SepsisInput): SepsisContext | undefined {
  const diagnoses = presentSepsisDiagnoses(input);
  const { counted, notCounted } = antimicrobialUse(input);
  const band = paediatricBand(input.age, input.rules);
  const criteria = suspectedInfectionCriteria(input, counted, band);
  const rulesFired: SepsisRule[] = [];
  if (diagnoses.length) rulesFired.push('diagnosis');
  if (criteria.sirsFires) rulesFired.push('suspected-infection-with-sirs');
  if (criteria.qsofaFires) rulesFired.push('suspected-infection-with-qsofa');
  if (counted.length && vasopressorRunning(input)) rulesFired.push('suspected-infection-with-vasopressor');
  const beforeAntimicrobials = counted.length === 0 && !input.therapyContext;
  const infectionSigns = beforeAntimicrobials ? signsOfInfection(input, band) : [];
  if (infectionSigns.length && vasopressorRunning(input)) rulesFired.push('vasopressor-with-infection-signs');
  const shock = beforeAntimicrobials ? shockWithSirs(input, band) : undefined;
  if (shock) rulesFired.push('vasopressor-shock-with-sirs');
  if (!rulesFired.length) return undefined;
  return {
    rulesFired,
    diagnoses,
    antibiotics: counted,
    notCounted,
    sirsCriteria: shock?.sirs ?? criteria.sirs,
    qsofaCriteria: criteria.qsofa,
    ...(criteria.window && { onsetWindow: criteria.window }),
    infectionSigns: rulesFired.includes('vasopressor-with-infection-signs') ? infectionSigns : [],
    ...(shock && { shockVasopressors: shock.vasopressors }),
    ...(band && { paediatricBand: band.label }),
  };
}

interface SuspectedInfectionCriteria {
  sirs: string[];
  qsofa: string[];
  window?: OnsetWindow;
  sirsFires: boolean;
  qsofaFires: boolean;
}

/**
 * SIRS and qSOFA for the suspected-infection rules: the recent window first; else the window
 * around the onset of each counted course that began within the look-back (latest onset first).
 */
function suspectedInfectionCriteria(
  input: SepsisInput,
  counted: readonly AntimicrobialUse[],
  band: PaediatricBand | undefined,
): SuspectedInfectionCriteria {
  const judge = (readings: readonly Reading[], window?: OnsetWindow): SuspectedInfectionCriteria => {
    const sirs = sirsMet(readings, input.rules, band);
    const qsofa = qsofaMet(readings, input.rules);
    return {
      sirs,
      qsofa,
      ...(window && { window }),
      sirsFires: counted.length > 0 && sirs.length >= 2 && sirsValidForAge(sirs, band),
      // qSOFA was derived and validated in adults only (Seymour 2016): never in a child.
      qsofaFires: band === undefined && counted.length > 0 && qsofa.length >= 2,
    };
  };
  const recent = judge(input.recent);
  if (recent.sirsFires || recent.qsofaFires) return recent;
  for (const onsetMs of infectionOnsets(input, counted)) {
    const s = input.rules.sepsis;
    const fromMs = onsetMs - s.onsetWindowBeforeHours * HOUR_MS;
    const toMs = Math.min(onsetMs + s.onsetWindowAfterHours * HOUR_MS, input.now.getTime());
    const inWindow = (input.earlier ?? []).filter((r) => {
      const ms = timeMs(r.time);
      return ms >= fromMs && ms <= toMs;
    });
    const around = judge(inWindow, {
      onset: new Date(onsetMs).toISOString(),
      from: new Date(fromMs).toISOString(),
      to: new Date(toMs).toISOString(),
    });
    if (around.sirsFires || around.qsofaFires) return around;
  }
  return recent;
}

/** Onsets of the counted courses that began within the antibiotic look-back, latest first. */
function infectionOnsets(input: SepsisInput, counted: readonly AntimicrobialUse[]): number[] {
  const nowMs = input.now.getTime();
  const fromMs = nowMs - input.rules.sepsis.antibioticLookbackHours * HOUR_MS;
  const onsets = counted
    .map((c) =>
      Math.min(timeMs(c.firstGiven), c.pairedCulture !== undefined ? timeMs(c.pairedCulture) : Infinity),
    )
    .filter((ms) => ms >= fromMs && ms <= nowMs);
  return [...new Set(onsets)].sort((a, b) => b - a);
}

// ---- diagnoses ---------------------------------------------------------------------------------

function presentSepsisDiagnoses(input: SepsisInput): SepsisDiagnosis[] {
  const nowMs = input.now.getTime();
  const result: SepsisDiagnosis[] = [];
  const current = currentEncounter(input, nowMs);
  for (const condition of input.conditions) {
    const coding = sepsisCoding(condition, input.rules.siteCodes, input.rules.codes, input.memo);
    if (!coding || isRuledOut(condition)) continue;
    const basis = presentIllnessBasis(condition, input, current, nowMs);
    if (!basis) continue;
    result.push({
      system: coding.system,
      code: coding.code,
      ...(coding.display !== undefined && { display: coding.display }),
      ...(condition.id !== undefined && { conditionId: condition.id }),
      basis,
    });
  }
  return result;
}

/** The sepsis or septic-shock coding of a Condition (the `sepsis-diagnoses` list), if any. */
export const sepsisCoding = perResource(
  (
    condition: Condition,
    siteCodes,
    codes,
  ): Readonly<{ system: string; code: string; display?: string }> | undefined => {
    for (const c of codingsOf(condition.code)) {
      const system = canonicalSystem(c.system, siteCodes);
      if (system === undefined || c.code === undefined) continue;
      if (codes.has('sepsis-diagnoses', system, c.code))
        return { system, code: c.code, ...(c.display !== undefined && { display: c.display }) };
    }
    return undefined;
  },
);

interface CurrentEncounter {
  id?: string;
  startMs: number;
}

/** The hook's encounter, else the open encounter containing now (latest start wins). */
function currentEncounter(input: SepsisInput, nowMs: number): CurrentEncounter | undefined {
  const hookId = referenceId(input.encounterId);
  let best: CurrentEncounter | undefined;
  for (const encounter of input.encounters) {
    const { start, end } = periodBounds(encounter.period);
    if (start === undefined || start > nowMs) continue;
    const isHook = hookId !== undefined && encounter.id === hookId;
    const open =
      (end === undefined || end >= nowMs) &&
      encounter.status !== 'finished' &&
      encounter.status !== 'cancelled';
    if (isHook) return { ...(encounter.id !== undefined && { id: encounter.id }), startMs: start };
    if (open && (!best || start > best.startMs))
      best = { ...(encounter.id !== undefined && { id: encounter.id }), startMs: start };
  }
  return best;
}

/**
 * A diagnosis belongs to the present illness when it is coded on the hook's encounter, or on an
 * encounter that is still open or ended within a day of the current one's start (an emergency
 * visit before the admission, an ICU stay inside it); a diagnosis coded on an admission that ended
 * earlier is a previous admission's and never counts on readmission. [DESIGN] Without an
 * encounter, it counts when dated (onset or recorded) inside the current encounter, or within the
 * look-back when no encounter is known.
 */
function presentIllnessBasis(
  condition: Condition,
  input: SepsisInput,
  current: CurrentEncounter | undefined,
  nowMs: number,
): SepsisDiagnosis['basis'] | undefined {
  const encounterRef = referenceId(condition.encounter?.reference);
  if (encounterRef !== undefined && encounterRef === referenceId(input.encounterId)) return 'hook-encounter';
  const coded = encounterRef === undefined ? undefined : input.encounters.find((e) => e.id === encounterRef);
  if (coded) {
    const { start, end } = periodBounds(coded.period);
    if (start === undefined || start > nowMs) return undefined;
    const continuousFrom = (current?.startMs ?? nowMs) - DAY_MS;
    return end === undefined || end >= continuousFrom ? 'active-encounter' : undefined;
  }
  const onset = parseFhirTime(condition.onsetDateTime ?? condition.onsetPeriod?.start);
  const recorded = parseFhirTime(condition.recordedDate);
  const fromMs = current
    ? current.startMs - DAY_MS
    : nowMs - input.rules.sepsis.diagnosisLookbackDays * DAY_MS;
  if (onset !== undefined && onset >= fromMs && onset <= nowMs) return 'onset';
  if (recorded !== undefined && recorded >= fromMs && recorded <= nowMs) return 'recorded';
  return undefined;
}

// ---- antimicrobials ----------------------------------------------------------------------------

function antimicrobialUse(input: SepsisInput): {
  counted: AntimicrobialUse[];
  notCounted: AntimicrobialUse[];
} {
  const nowMs = input.now.getTime();
  const s = input.rules.sepsis;
  const fromMs = nowMs - s.antibioticLookbackHours * HOUR_MS;
  const byAgent = new Map<string, { first: number; last: number; systemic: boolean; name: string }>();
  for (const e of input.events) {
    if (e.medicationClass !== 'antibiotic' || timeMs(e.start) > nowMs) continue;
    const concept = input.rules.codes.medicationConcept(e.conceptId);
    const systemic = e.route !== 'local' && !(concept?.systemicOnlyIv === true && e.route !== 'iv');
    const start = timeMs(e.start);
    const end = Math.min(e.end !== undefined ? timeMs(e.end) : start, nowMs);
    const key = `${e.conceptId}|${String(systemic)}`;
    const seen = byAgent.get(key);
    byAgent.set(key, {
      first: Math.min(seen?.first ?? start, start),
      last: Math.max(seen?.last ?? end, end),
      systemic,
      name: e.name,
    });
  }
  const counted: AntimicrobialUse[] = [];
  const notCounted: AntimicrobialUse[] = [];
  for (const [key, use] of byAgent) {
    if (use.last < fromMs) continue; // not given in the look-back
    const id = key.slice(0, key.lastIndexOf('|'));
    const intent = input.rules.codes.medicationConcept(id)?.intent ?? 'treatment';
    const pairedCultures = input.cultures.filter(
      (c) =>
        c <= nowMs &&
        ((c <= use.first && use.first - c <= s.cultureThenAntibioticHours * HOUR_MS) ||
          (c >= use.first && c - use.first <= s.antibioticThenCultureHours * HOUR_MS)),
    );
    const paired = pairedCultures.length > 0;
    const row = (basis: string): AntimicrobialUse => ({
      id,
      name: use.name,
      intent,
      firstGiven: new Date(use.first).toISOString(),
      lastGiven: new Date(use.last).toISOString(),
      ...(paired && { pairedCulture: new Date(Math.min(...pairedCultures)).toISOString() }),
      basis,
    });
    const continuedHours = (use.last - use.first) / HOUR_MS;
    if (!use.systemic) notCounted.push(row('not systemic (topical, inhaled or enteral only)'));
    else if (intent === 'non-systemic') notCounted.push(row('not absorbed: acts in the gut only'));
    else if (paired) counted.push(row('paired with a culture'));
    else if (intent === 'treatment') counted.push(row('treatment agent'));
    else if (intent === 'surgical-prophylaxis' && continuedHours > s.surgicalProphylaxisHours)
      counted.push(row(`continued ${String(Math.round(continuedHours))} h, beyond surgical prophylaxis`));
    else if (intent === 'surgical-prophylaxis')
      notCounted.push(row('may be surgical prophylaxis (not continued, no culture)'));
    else notCounted.push(row('routine prophylaxis around these therapies'));
  }
  const byName = (a: AntimicrobialUse, b: AntimicrobialUse): number => a.name.localeCompare(b.name);
  return { counted: counted.sort(byName), notCounted: notCounted.sort(byName) };
}

// ---- signs of infection before any antimicrobial -----------------------------------------------

function signsOfInfection(input: SepsisInput, band: PaediatricBand | undefined): string[] {
  const signs: string[] = [];
  const around = aroundShockOnset(input);
  // A confirmed fever or an abnormal leukocyte count; hypothermia is left out (common after
  // cardiac surgery).
  const fever = confirmedFever(around.readings, input.rules, band);
  if (fever !== undefined) signs.push(fever);
  signs.push(...sirsMet(around.readings, input.rules, band).filter((c) => c.startsWith('WBC')));
  const nowMs = input.now.getTime();
  if (input.cultures.some((c) => c >= around.fromMs && c <= nowMs)) signs.push('culture drawn');
  return signs;
}

/**
 * The readings the rules before any antimicrobial read: the recent window, reaching back to one
 * window before the start of the vasopressors infusing in it (the onset of the shock), so a sign
 * seen when the shock began still counts while it lasts, as Seymour 2016 anchors the criteria on
 * the infection's onset. [DESIGN] Without a vasopressor, the recent window; at most as far back
 * as the onset windows of the suspected-infection rules.
 */
function aroundShockOnset(input: SepsisInput): { readings: readonly Reading[]; fromMs: number } {
  const windowMs = input.rules.recentWindowHours * HOUR_MS;
  const nowMs = input.now.getTime();
  const recentFromMs = nowMs - windowMs;
  const starts = vasopressorInfusions(input).map((e) => timeMs(e.start));
  // Never further back than the onset windows read (an open infusion record may be stale).
  const horizonMs = nowMs - sepsisCriteriaLookBackHours(input.rules) * HOUR_MS;
  const fromMs = Math.max(horizonMs, Math.min(recentFromMs, ...starts.map((start) => start - windowMs)));
  if (fromMs >= recentFromMs) return { readings: input.recent, fromMs: recentFromMs };
  const before = (input.earlier ?? []).filter((r) => {
    const ms = timeMs(r.time);
    return ms >= fromMs && ms < recentFromMs;
  });
  return { readings: [...before, ...input.recent], fromMs };
}

/**
 * Fever as a sign of infection before any antimicrobial: a reading at or above the ICU fever of
 * the SCCM/IDSA guideline (38.3 °C; the child's SIRS temperature in a child), confirmed by another
 * fever reading (ASTCT 38.0 °C) at a different time in the window. [DESIGN] one spike is often an
 * artefact or a transfusion or drug reaction, as one low blood pressure is (rule-config.ts).
 */
function confirmedFever(
  recent: readonly Reading[],
  rules: CrsRuleConfig,
  band: PaediatricBand | undefined,
): string | undefined {
  const high = band ? rules.thresholds.paediatricSirsTempAbove : rules.sepsis.infectionFeverCelsius;
  const temps = recent.filter((r) => r.kind === 'temperature');
  const peak = temps.filter((r) => r.value >= high).sort((a, b) => b.value - a.value)[0];
  if (!peak) return undefined;
  const confirm = temps.find(
    (r) => r !== peak && r.time !== peak.time && r.value >= rules.thresholds.feverCelsius,
  );
  if (!confirm) return undefined;
  return `temperature ${peak.value} °C >= ${high}, confirmed by ${confirm.value} °C`;
}

/**
 * The agents behind `vasopressor-shock-with-sirs`: at some moment of the recent window at least
 * `shockVasopressorAgents` different vasopressors infusing at once, and SIRS met in the window.
 * Vasopressin counts (the usual second agent in septic shock, Surviving Sepsis Campaign 2021);
 * the strongly inotropic ones (epinephrine, dopamine: vasopressors-inotropic.json) do not, being
 * the agents of cardiac failure and cardiac surgery. [DESIGN] Undefined when not met.
 */
function shockWithSirs(
  input: SepsisInput,
  band: PaediatricBand | undefined,
): { vasopressors: string[]; sirs: string[] } | undefined {
  const sirs = sirsMet(aroundShockOnset(input).readings, input.rules, band);
  if (sirs.length < 2 || !sirsValidForAge(sirs, band)) return undefined;
  const fromMs = input.now.getTime() - input.rules.recentWindowHours * HOUR_MS;
  const infusions = vasopressorInfusions(input).filter(
    (e) => input.rules.codes.medicationConcept(e.conceptId)?.inotropic !== true,
  );
  for (const e of infusions) {
    const at = Math.max(timeMs(e.start), fromMs);
    const together = new Map<string, string>();
    for (const other of infusions) if (overlaps(other, at, at)) together.set(other.conceptId, other.name);
    if (together.size >= input.rules.sepsis.shockVasopressorAgents)
      return { vasopressors: [...together.values()].sort(), sirs };
  }
  return undefined;
}

/** Systemic vasopressor infusions (crs-vitals.ts vasopressorExclusion) in the recent window. */
function vasopressorInfusions(input: SepsisInput): MedicationEvent[] {
  const nowMs = input.now.getTime();
  const fromMs = nowMs - input.rules.recentWindowHours * HOUR_MS;
  return input.events.filter(
    (e) =>
      e.medicationClass === 'vasopressor' &&
      overlaps(e, fromMs, nowMs) &&
      vasopressorExclusion(e) === undefined,
  );
}

function vasopressorRunning(input: SepsisInput): boolean {
  return vasopressorInfusions(input).length > 0;
}

// ---- SIRS and qSOFA ----------------------------------------------------------------------------

function extreme(
  readings: readonly Reading[],
  kind: Reading['kind'],
  pick: 'max' | 'min',
): number | undefined {
  let best: number | undefined;
  for (const r of readings) {
    if (r.kind !== kind) continue;
    if (best === undefined || (pick === 'max' ? r.value > best : r.value < best)) best = r.value;
  }
  return best;
}

/** The reading kinds SIRS and qSOFA read (the engine reads them back to the onset windows). */
export const SEPSIS_CRITERIA_KINDS: readonly ReadingKind[] = [
  'temperature',
  'heart-rate',
  'respiratory-rate',
  'wbc',
  'systolic-bp',
  'gcs-total',
];

/**
 * SIRS criteria met by the worst value of each in the window: adult cut-offs (Bone 1992, as
 * quoted in Sepsis-3), or the child's Goldstein 2005 band (temperature > 38.5 °C or < 36 °C;
 * heart rate, respiratory rate and WBC by age).
 */
export function sirsMet(recent: readonly Reading[], rules: CrsRuleConfig, band?: PaediatricBand): string[] {
  const s = rules.sirs;
  const tempAbove = band ? rules.thresholds.paediatricSirsTempAbove : s.tempAbove;
  const hrAbove = band ? band.heartRateAbove : s.heartRateAbove;
  const rrAbove = band ? band.respRateAbove : s.respRateAbove;
  const wbcAbove = band ? band.wbcAbove : s.wbcAbove;
  const wbcBelow = band ? band.wbcBelow : s.wbcBelow;
  const met: string[] = [];
  const tMax = extreme(recent, 'temperature', 'max');
  const tMin = extreme(recent, 'temperature', 'min');
  if (tMax !== undefined && tMax > tempAbove) met.push(`temperature ${tMax} °C > ${tempAbove}`);
  else if (tMin !== undefined && tMin < s.tempBelow) met.push(`temperature ${tMin} °C < ${s.tempBelow}`);
  const hr = extreme(recent, 'heart-rate', 'max');
  const hrMin = extreme(recent, 'heart-rate', 'min');
  if (hr !== undefined && hr > hrAbove) met.push(`heart rate ${hr}/min > ${hrAbove}`);
  else if (band?.heartRateBelow !== undefined && hrMin !== undefined && hrMin < band.heartRateBelow)
    met.push(`heart rate ${hrMin}/min < ${band.heartRateBelow}`);
  const rr = extreme(recent, 'respiratory-rate', 'max');
  if (rr !== undefined && rr > rrAbove) met.push(`respiratory rate ${rr}/min > ${rrAbove}`);
  const wMax = extreme(recent, 'wbc', 'max');
  const wMin = extreme(recent, 'wbc', 'min');
  if (wMax !== undefined && wMax > wbcAbove) met.push(`WBC ${wMax} ×10⁹/L > ${wbcAbove}`);
  else if (wbcBelow !== undefined && wMin !== undefined && wMin < wbcBelow)
    met.push(`WBC ${wMin} ×10⁹/L < ${wbcBelow}`);
  return met;
}

/** [Goldstein 2005] in children one of the criteria must be temperature or leukocyte count. */
function sirsValidForAge(criteria: readonly string[], band: PaediatricBand | undefined): boolean {
  return !band || criteria.some((c) => c.startsWith('temperature') || c.startsWith('WBC'));
}

/** qSOFA criteria met by the worst value of each in the window. */
export function qsofaMet(recent: readonly Reading[], rules: CrsRuleConfig): string[] {
  const q = rules.qsofa;
  const met: string[] = [];
  const rr = extreme(recent, 'respiratory-rate', 'max');
  if (rr !== undefined && rr >= q.respRateAtLeast)
    met.push(`respiratory rate ${rr}/min >= ${q.respRateAtLeast}`);
  const sbp = extreme(recent, 'systolic-bp', 'min');
  if (sbp !== undefined && sbp <= q.systolicAtMost) met.push(`SBP ${sbp} mmHg <= ${q.systolicAtMost}`);
  const gcs = extreme(recent, 'gcs-total', 'min');
  if (gcs !== undefined && gcs < q.gcsBelow) met.push(`GCS ${gcs} < ${q.gcsBelow}`);
  return met;
}
