/**
 * ASTCT 2019 CRS grade (Lee DW et al. BBMT 2019;25:625, Table 1): the worse of the hypotension and
 * hypoxia domains, with fever; fever alone is grade 1. Only in a CAR-T or bispecific context.
 *
 * Fever is required, with one exception, quoted from the consensus (Table 1 footnote): "In
 * patients who have CRS then receive antipyretic or anticytokine therapy such as tocilizumab or
 * steroids, fever is no longer required to grade subsequent CRS severity." So the waiver needs
 * CRS first (a documented fever >= 38.0 °C in the current episode, or a recorded CRS diagnosis)
 * and the treatment after it. Premedication given before any fever (acetaminophen before a CAR-T
 * infusion, a steroid before bispecific step-up doses) never waives it; a sepsis context never
 * does either (clinical reference section 1).
 */
import type { CellTherapyDiagnosis } from './cell-therapy-diagnoses.js';
import type { CrsVitals } from './crs-vitals.js';
import { DAY_MS, HOUR_MS, isoTime, timeMs } from './fhir-values.js';
import type { MedicationEvent } from './medication-events.js';
import type { Reading } from './normalize-observations.js';
import type { CrsRuleConfig } from './rule-config.js';
import { OXYGEN_CLASS_GRADE } from './rule-tables.js';
import type { TherapyContext } from './therapy-context.js';

export type CrsGrade = 1 | 2 | 3 | 4;
export type DomainGrade = 0 | 2 | 3 | 4;

export interface MaskingAgent {
  id: string;
  name: string;
  medicationClass: 'tocilizumab' | 'anticytokine' | 'corticosteroid' | 'antipyretic';
  lastGiven: string;
}

/** When and how CRS was first documented in the current episode. */
export interface CrsOnset {
  time: string;
  basis: 'fever' | 'diagnosis';
  /** "39.5 °C" or "ICD-10-CM D89.831". */
  detail: string;
}

export interface GradeResult {
  grade: CrsGrade | 'none';
  hypotensionDomain: DomainGrade;
  hypoxiaDomain: DomainGrade;
  feverPresent: boolean;
  feverRequired: boolean;
  /** Treatment given after CRS was present, which waives fever (empty when none). */
  feverMaskedBy: MaskingAgent[];
  /** Fever-lowering drugs given before CRS was present (premedication): never a waiver. */
  premedication: MaskingAgent[];
  /** First documented CRS of the episode (fever or diagnosis), when any. */
  crsOnset?: CrsOnset;
  /** Start of the current CRS episode: the latest therapy exposure (bounded). */
  episodeStart?: string;
  /** Therapy context, hypotension or hypoxia, but no fever and no waiver: ASTCT not met. */
  afebrilePhysiology: boolean;
  /** In sepsis context without fever: whether the patient was afebrile or hypothermic. */
  temperatureState?: 'afebrile' | 'hypothermic' | 'no-temperature';
  /**
   * The window's fever came before the latest therapy exposure (a neutropenic fever before the
   * CAR-T infusion, a fever before the new bispecific dose): not this exposure's CRS.
   */
  feverBeforeExposure?: { value: number; time: string };
  /** Each rule that fired, in words. */
  basis: string[];
}

export interface GradeInput {
  vitals: CrsVitals;
  events: readonly MedicationEvent[];
  now: Date;
  therapy: readonly TherapyContext[];
  /** Usable temperatures up to now, sorted by time (at least since the episode start). */
  temperatures: readonly Reading[];
  crsDiagnoses: readonly CellTherapyDiagnosis[];
  rules: CrsRuleConfig;
}

export function gradeCrs(input: GradeInput): GradeResult {
  const { vitals, rules } = input;
  const hypotensionDomain = hypotensionGrade(vitals);
  const hypoxiaDomain: DomainGrade = vitals.oxygen.hypoxiaWithoutSupport
    ? 2
    : OXYGEN_CLASS_GRADE[vitals.oxygen.supportClass];
  const basis = describeBasis(vitals, hypotensionDomain, hypoxiaDomain);
  const physiology = Math.max(hypotensionDomain, hypoxiaDomain) as DomainGrade;
  const nowMs = input.now.getTime();
  const episodeStartMs = episodeStart(input.therapy, nowMs, rules);
  const feverBeforeExposure = preExposureFever(input, episodeStartMs);
  const feverPresent = vitals.fever.present && !feverBeforeExposure;
  if (feverBeforeExposure)
    basis.push(
      `fever ${feverBeforeExposure.value} °C at ${feverBeforeExposure.time.slice(0, 16)}Z was before the latest therapy exposure: not counted`,
    );
  const crsOnset = episodeStartMs === undefined ? undefined : findCrsOnset(input, episodeStartMs, nowMs);
  const { waiving, premedication } = feverLoweringDrugs(input, crsOnset, episodeStartMs, nowMs);
  const feverRequired = waiving.length === 0;
  let grade: CrsGrade | 'none' = 'none';
  let afebrilePhysiology = false;
  if (input.therapy.length === 0) grade = 'none';
  else if (feverRequired && !feverPresent) {
    afebrilePhysiology = physiology > 0;
    if (physiology > 0)
      basis.push(
        'no fever: ASTCT requires fever before CRS is present and treated, so this is not graded as CRS',
      );
  } else if (physiology > 0) grade = physiology as CrsGrade;
  else if (feverPresent) grade = 1;
  if (grade !== 'none' && !feverPresent && crsOnset) {
    basis.push(
      `fever not required: CRS present since ${crsOnset.time.slice(0, 16)}Z (${crsOnset.detail}), then ${waiving
        .map((m) => m.name)
        .join(', ')} given (ASTCT 2019, Table 1 footnote)`,
    );
  }
  const temperatureState = !feverPresent ? temperatureStateOf(vitals) : undefined;
  return {
    grade,
    hypotensionDomain,
    hypoxiaDomain,
    feverPresent,
    feverRequired,
    feverMaskedBy: waiving,
    premedication,
    ...(crsOnset && { crsOnset }),
    ...(episodeStartMs !== undefined && { episodeStart: isoTime(episodeStartMs) }),
    afebrilePhysiology,
    ...(temperatureState && { temperatureState }),
    ...(feverBeforeExposure && { feverBeforeExposure }),
    basis,
  };
}

/**
 * The window's highest temperature when it is a fever and every fever of the window came before
 * the start of the latest therapy exposure (so no fever since). Not for a context dated by a
 * diagnosis only: its exposure time is unknown.
 */
function preExposureFever(
  input: GradeInput,
  episodeStartMs: number | undefined,
): { value: number; time: string } | undefined {
  const highest = input.vitals.fever.highest;
  if (!input.vitals.fever.present || !highest || episodeStartMs === undefined) return undefined;
  if (input.therapy.some((t) => t.matchedBy === 'diagnosis')) return undefined;
  const fromMs = Math.max(episodeStartMs, timeMs(input.vitals.windowStart));
  const threshold = input.rules.thresholds.feverCelsius;
  const sinceExposure = input.temperatures.some((r) => {
    const t = timeMs(r.time);
    return t >= fromMs && t <= input.now.getTime() && r.value >= threshold;
  });
  return sinceExposure ? undefined : { value: highest.value, time: highest.time };
}

/**
 * The current CRS episode starts at the latest therapy exposure (a CAR-T infusion, the latest
 * bispecific dose), looking back at most the CAR-T high-attention window. [DESIGN]
 */
export function episodeStart(
  therapy: readonly TherapyContext[],
  nowMs: number,
  rules: CrsRuleConfig,
): number | undefined {
  if (!therapy.length) return undefined;
  const latest = Math.max(...therapy.map((t) => timeMs(t.exposureStart)));
  return Math.max(latest, nowMs - rules.carT.highAttentionDays * DAY_MS);
}

/** The first fever >= threshold since the episode start, or a CRS diagnosis, whichever is first. */
function findCrsOnset(input: GradeInput, fromMs: number, nowMs: number): CrsOnset | undefined {
  const threshold = input.rules.thresholds.feverCelsius;
  const fever = input.temperatures.find((r) => {
    const t = timeMs(r.time);
    return t >= fromMs && t <= nowMs && r.value >= threshold;
  });
  const onsets: CrsOnset[] = [];
  if (fever) onsets.push({ time: fever.time, basis: 'fever', detail: `${fever.value} °C` });
  for (const dx of input.crsDiagnoses) {
    if (!dx.crs || dx.ms === undefined || dx.ms > nowMs || dx.ms < fromMs - DAY_MS) continue;
    onsets.push({ time: isoTime(dx.ms), basis: 'diagnosis', detail: `ICD-10-CM ${dx.code}` });
  }
  return onsets.sort((a, b) => (a.time < b.time ? -1 : 1))[0];
}

const MASKING_CLASSES = new Set(['tocilizumab', 'anticytokine', 'corticosteroid', 'antipyretic']);

/**
 * Fever-lowering drugs of the episode: those given after CRS onset waive fever (antipyretics only
 * while they act: masking.antipyreticHours); those before it are premedication.
 */
function feverLoweringDrugs(
  input: GradeInput,
  onset: CrsOnset | undefined,
  episodeStartMs: number | undefined,
  nowMs: number,
): { waiving: MaskingAgent[]; premedication: MaskingAgent[] } {
  const onsetMs = onset ? timeMs(onset.time) : undefined;
  const antipyreticFrom = nowMs - input.rules.masking.antipyreticHours * HOUR_MS;
  const premedFrom = (episodeStartMs ?? nowMs) - DAY_MS;
  const waiving = new Map<string, MaskingAgent>();
  const premedication = new Map<string, MaskingAgent>();
  for (const e of input.events) {
    // A dose that acts where applied (eye drops, cream, inhaled) is no antipyretic, anticytokine
    // or steroid therapy of CRS: it neither waives fever nor counts as premedication.
    if (!MASKING_CLASSES.has(e.medicationClass) || e.surfaceOnly === true) continue;
    const given = timeMs(e.start);
    if (given > nowMs) continue;
    const agent: MaskingAgent = {
      id: e.conceptId,
      name: e.name,
      medicationClass: e.medicationClass as MaskingAgent['medicationClass'],
      lastGiven: e.start,
    };
    const afterOnset = onsetMs !== undefined && given >= onsetMs;
    const stillActing = e.medicationClass !== 'antipyretic' || given >= antipyreticFrom;
    if (afterOnset && stillActing) keepLatest(waiving, agent);
    else if (!afterOnset && given >= premedFrom) keepLatest(premedication, agent);
  }
  const byName = (a: MaskingAgent, b: MaskingAgent): number => a.name.localeCompare(b.name);
  return {
    waiving: [...waiving.values()].sort(byName),
    premedication: [...premedication.values()].sort(byName),
  };
}

function keepLatest(map: Map<string, MaskingAgent>, agent: MaskingAgent): void {
  const previous = map.get(agent.id);
  if (!previous || agent.lastGiven > previous.lastGiven) map.set(agent.id, agent);
}

function hypotensionGrade(vitals: CrsVitals): DomainGrade {
  const pressors = vitals.vasopressors;
  if (pressors.countedAgents >= 2) return 4;
  if (pressors.agents.length >= 1) return 3;
  return vitals.hypotension.present ? 2 : 0;
}

function temperatureStateOf(vitals: CrsVitals): GradeResult['temperatureState'] {
  if (vitals.fever.hypothermia) return 'hypothermic';
  return vitals.fever.highest ? 'afebrile' : 'no-temperature';
}

function describeBasis(vitals: CrsVitals, hypotension: DomainGrade, hypoxia: DomainGrade): string[] {
  const basis: string[] = [];
  const t = vitals.fever.highest;
  if (vitals.fever.present && t) basis.push(`fever: ${t.value} °C >= ${vitals.fever.thresholdCelsius} °C`);
  const pressors = vitals.vasopressors;
  const names = pressors.agents.map((a) => a.name).join(' + ');
  const vasopressinNote = pressors.agents.some((a) => !a.countsTowardSeveral)
    ? `; ${pressors.agents
        .filter((a) => !a.countsTowardSeveral)
        .map((a) => a.name)
        .join(', ')} not counted toward several`
    : '';
  if (hypotension === 4)
    basis.push(
      `${pressors.countedAgents} vasopressors (${names}${vasopressinNote}): hypotension domain grade 4`,
    );
  else if (hypotension === 3)
    basis.push(`one vasopressor (${names}${vasopressinNote}): hypotension domain grade 3`);
  else if (hypotension === 2)
    basis.push(`${hypotensionText(vitals)} without vasopressors: hypotension domain grade 2`);
  const oxygen = vitals.oxygen;
  if (oxygen.hypoxiaWithoutSupport && oxygen.lowestSpo2) {
    basis.push(
      `SpO2 ${oxygen.lowestSpo2.value} % with no oxygen support charted: treated as hypoxia needing support, hypoxia domain grade 2`,
    );
  } else if (hypoxia > 0) {
    basis.push(
      `oxygen support ${oxygen.supportClass} (${oxygen.basis.join(', ')}): hypoxia domain grade ${hypoxia}`,
    );
  }
  return basis;
}

/** "SBP 84 mmHg < 90 (2 readings)"; a child's line names the age-adjusted threshold applied. */
export function hypotensionText(vitals: CrsVitals): string {
  const h = vitals.hypotension;
  const parts: string[] = [];
  const child =
    h.paediatricBand !== undefined
      ? ` (age-adjusted for ${String(h.paediatricAgeYears ?? '')} y, Goldstein band ${h.paediatricBand})`
      : '';
  if (h.lowestSystolic && h.lowestSystolic.value < h.systolicBelow) {
    parts.push(`SBP ${h.lowestSystolic.value} mmHg < ${h.systolicBelow}${child}`);
  }
  if (
    h.meanArterialBelow !== undefined &&
    h.lowestMeanArterial &&
    h.lowestMeanArterial.value < h.meanArterialBelow
  ) {
    parts.push(`MAP ${h.lowestMeanArterial.value} mmHg < ${h.meanArterialBelow}`);
  }
  const text = parts.length ? parts.join(', ') : 'hypotension';
  return `${text} (${h.lowReadingTimes} readings)`;
}
