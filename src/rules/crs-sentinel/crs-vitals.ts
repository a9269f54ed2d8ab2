/**
 * CRS-consistent physiology in the recent window: fever, hypotension, vasopressors by agent, and
 * oxygen support class. [ASTCT] for the domains; thresholds from CrsRuleConfig.
 */
import { timeMs } from './fhir-values.js';
import { overlaps, type MatchedBy, type MedicationEvent } from './medication-events.js';
import type { OxygenDeviceReading, Reading } from './normalize-observations.js';
import type { PatientAge } from './patient-age.js';
import { paediatricBand } from './patient-age.js';
import type { CodeIndex } from './code-index.js';
import type { CrsRuleConfig } from './rule-config.js';
import {
  VITAL_SIGN_KINDS,
  type OxygenSupportClass,
  type ReadingKind,
  OXYGEN_CLASS_GRADE,
} from './rule-tables.js';

export interface FeverFinding {
  present: boolean;
  thresholdCelsius: number;
  /** Highest temperature in the window. */
  highest?: Reading;
  /** Lowest temperature, shown when below 36 °C (septic patients can be hypothermic). */
  hypothermia?: Reading;
}

export interface HypotensionFinding {
  /** Confirmed: enough readings below threshold at distinct times (rules.hypotension). */
  present: boolean;
  systolicBelow: number;
  /** MAP criterion (adults only). */
  meanArterialBelow?: number;
  /** Age in years when a paediatric threshold applied. */
  paediatricAgeYears?: number;
  /** The Goldstein 2005 age band whose threshold applied. */
  paediatricBand?: string;
  lowestSystolic?: Reading;
  lowestMeanArterial?: Reading;
  /** Distinct times (confirmMinutes apart) with a reading below threshold. */
  lowReadingTimes: number;
  /** Readings needed to confirm. */
  confirmReadings: number;
  /**
   * Still low now: the latest blood-pressure measurements (the last `confirmReadings` distinct
   * times) are all below threshold. A dip that resolved (after fluids) is not ongoing.
   */
  ongoing: boolean;
}

export interface VasoactiveAgent {
  id: string;
  name: string;
  /** Counts toward "several vasopressors" (vasopressin does not). */
  countsTowardSeveral: boolean;
  /** Running at `now` (infusion period reaching now, or in-progress). */
  running: boolean;
  /** Start of the earliest infusion of the agent in the window. */
  since: string;
  lastSeen: string;
  matchedBy: MatchedBy;
  matchedOn: string;
}

export interface VasopressorFinding {
  /** Systemic IV vasopressor infusions in the window: these count. */
  agents: VasoactiveAgent[];
  /** Vasopressor doses seen that do not count, and why (IM epinephrine, a single IV push...). */
  notCounted: { id: string; name: string; time: string; reason: string }[];
  /** Agents that count toward "several" (norepinephrine, epinephrine, phenylephrine, dopamine). */
  countedAgents: number;
  /** Inotropes seen (dobutamine, milrinone): shown, never counted. */
  inotropes: { id: string; name: string }[];
}

export interface OxygenFinding {
  supportClass: OxygenSupportClass;
  /** What set the class: device texts and flows, e.g. "nasal cannula", "8 L/min". */
  basis: string[];
  highestFlow?: Reading;
  highestFio2?: Reading;
  devices: OxygenDeviceReading[];
  lowestSpo2?: Reading;
  /** SpO2 below threshold with no support charted: treated as hypoxia needing support. [DESIGN] */
  hypoxiaWithoutSupport: boolean;
  /** Positive pressure charted without any oxygen need (home CPAP on room air): not counted. */
  positivePressureWithoutOxygenNeed: boolean;
}

export interface CrsVitals {
  windowStart: string;
  fever: FeverFinding;
  hypotension: HypotensionFinding;
  vasopressors: VasopressorFinding;
  oxygen: OxygenFinding;
  /** Vital-sign kinds with no usable reading in the window. */
  missingVitals: ReadingKind[];
}

export interface CrsVitalsInput {
  /** Readings already limited to the recent window. */
  recent: readonly Reading[];
  devices: readonly OxygenDeviceReading[];
  events: readonly MedicationEvent[];
  age: PatientAge;
  now: Date;
  windowStartMs: number;
  rules: CrsRuleConfig;
}

export function assessCrsVitals(input: CrsVitalsInput): CrsVitals {
  return {
    windowStart: new Date(input.windowStartMs).toISOString(),
    fever: feverFinding(input.recent, input.rules),
    hypotension: hypotensionFinding(input),
    vasopressors: vasopressorFinding(
      input.events,
      input.windowStartMs,
      input.now.getTime(),
      input.rules.codes,
    ),
    oxygen: oxygenFinding(input.recent, input.devices, input.rules),
    missingVitals: VITAL_SIGN_KINDS.filter(
      (k) => k !== 'mean-arterial-pressure' && !input.recent.some((r) => r.kind === k),
    ),
  };
}

function byKind(readings: readonly Reading[], kind: ReadingKind): Reading[] {
  return readings.filter((r) => r.kind === kind);
}

/** Highest (or lowest) reading; ties go to the latest. */
export function extremeReading(readings: readonly Reading[], pick: 'max' | 'min'): Reading | undefined {
  let best: Reading | undefined;
  for (const r of readings) {
    if (!best || (pick === 'max' ? r.value >= best.value : r.value <= best.value)) best = r;
  }
  return best;
}

function feverFinding(recent: readonly Reading[], rules: CrsRuleConfig): FeverFinding {
  const temps = byKind(recent, 'temperature');
  const highest = extremeReading(temps, 'max');
  const lowest = extremeReading(temps, 'min');
  const threshold = rules.thresholds.feverCelsius;
  return {
    present: highest !== undefined && highest.value >= threshold,
    thresholdCelsius: threshold,
    ...(highest && { highest }),
    ...(lowest && lowest.value < rules.sirs.tempBelow && { hypothermia: lowest }),
  };
}

function hypotensionFinding(input: CrsVitalsInput): HypotensionFinding {
  const t = input.rules.thresholds;
  const band = paediatricBand(input.age, input.rules);
  const systolicBelow = band ? band.systolicBelow : t.systolicBelow;
  const lowestSystolic = extremeReading(byKind(input.recent, 'systolic-bp'), 'min');
  const lowestMeanArterial = extremeReading(byKind(input.recent, 'mean-arterial-pressure'), 'min');
  const lowTimes: number[] = [];
  // Each measurement time is low when any of its SBP / MAP readings is below threshold.
  const measured = new Map<number, boolean>();
  for (const r of input.recent) {
    if (r.kind !== 'systolic-bp' && (band || r.kind !== 'mean-arterial-pressure')) continue;
    const limit = r.kind === 'systolic-bp' ? systolicBelow : t.meanArterialBelow;
    const ms = timeMs(r.time);
    const low = r.value < limit;
    if (low) lowTimes.push(ms);
    measured.set(ms, (measured.get(ms) ?? false) || low);
  }
  const lowReadingTimes = distinctTimes(lowTimes, input.rules.hypotension.confirmMinutes * 60_000);
  const confirmReadings = input.rules.hypotension.confirmReadings;
  const ongoing = isOngoing(measured, input.rules.hypotension);
  return {
    present: lowReadingTimes >= confirmReadings,
    ongoing,
    systolicBelow,
    ...(!band && { meanArterialBelow: t.meanArterialBelow }),
    ...(band && input.age.known && { paediatricAgeYears: input.age.years, paediatricBand: band.label }),
    ...(lowestSystolic && { lowestSystolic }),
    ...(lowestMeanArterial && { lowestMeanArterial }),
    lowReadingTimes,
    confirmReadings,
  };
}

/**
 * Hypotension still present now: the latest measurements are all low, at least `ongoingReadings`
 * of them spanning at least `ongoingMinutes` (a dip that resolved, or one low reading between
 * normal ones, is not ongoing). [DESIGN]
 */
function isOngoing(
  measured: ReadonlyMap<number, boolean>,
  rule: { ongoingReadings: number; ongoingMinutes: number },
): boolean {
  const newestFirst = [...measured.entries()].sort((a, b) => b[0] - a[0]);
  let run = 0;
  for (const [, low] of newestFirst) {
    if (!low) break;
    run++;
  }
  if (run < rule.ongoingReadings) return false;
  const spanMs = (newestFirst[0]?.[0] ?? 0) - (newestFirst[run - 1]?.[0] ?? 0);
  return spanMs >= rule.ongoingMinutes * 60_000;
}

/** How many of the instants are at least `gapMs` after the previous one counted. */
function distinctTimes(times: number[], gapMs: number): number {
  let count = 0;
  let last = Number.NEGATIVE_INFINITY;
  for (const t of [...times].sort((a, b) => a - b)) {
    if (count === 0 || t - last >= Math.max(gapMs, 1)) {
      count++;
      last = t;
    }
  }
  return count;
}

/**
 * Why a vasopressor dose does not count as "requiring vasopressors" [ASTCT; clinical reference
 * section 1]: only systemic IV support for blood pressure counts. [DESIGN] a single IV push (a
 * time point with no rate, period or infusion wording) is not sustained support: shown, not
 * counted. An unknown route counts when the dose is an infusion (a drip is given IV).
 */
export function vasopressorExclusion(e: MedicationEvent): string | undefined {
  if (e.route === 'local')
    return 'not intravenous (e.g. IM, SC, nasal or eye): not a vasopressor for blood pressure';
  if (e.route === 'enteral') return 'given by mouth or tube: not a vasopressor for blood pressure';
  if (!e.infusion) return 'a single dose, not an infusion: not counted as vasopressor support';
  return undefined;
}

function vasopressorFinding(
  events: readonly MedicationEvent[],
  fromMs: number,
  nowMs: number,
  codes: CodeIndex,
): VasopressorFinding {
  const agents = new Map<string, VasoactiveAgent>();
  const notCounted = new Map<string, { id: string; name: string; time: string; reason: string }>();
  const inotropes = new Map<string, { id: string; name: string }>();
  for (const e of events) {
    if (
      (e.medicationClass !== 'vasopressor' && e.medicationClass !== 'inotrope') ||
      !overlaps(e, fromMs, nowMs)
    )
      continue;
    if (e.medicationClass === 'inotrope') {
      inotropes.set(e.conceptId, { id: e.conceptId, name: e.name });
      continue;
    }
    const excluded = vasopressorExclusion(e);
    if (excluded !== undefined) {
      notCounted.set(`${e.conceptId}|${excluded}`, {
        id: e.conceptId,
        name: e.name,
        time: e.start,
        reason: excluded,
      });
      continue;
    }
    const lastSeen =
      e.end !== undefined && Date.parse(e.end) <= nowMs ? e.end : new Date(nowMs).toISOString();
    const running = e.end === undefined ? e.status === 'in-progress' : Date.parse(e.end) >= nowMs;
    const previous = agents.get(e.conceptId);
    const latest = !previous || lastSeen >= previous.lastSeen;
    agents.set(e.conceptId, {
      id: e.conceptId,
      name: e.name,
      countsTowardSeveral: codes.medicationConcept(e.conceptId)?.countsTowardSeveral === true,
      running: running || previous?.running === true,
      since: previous !== undefined && previous.since < e.start ? previous.since : e.start,
      lastSeen: latest ? lastSeen : previous.lastSeen,
      matchedBy: latest ? e.matchedBy : previous.matchedBy,
      matchedOn: latest ? e.matchedOn : previous.matchedOn,
    });
  }
  const list = [...agents.values()].sort((a, b) => a.name.localeCompare(b.name));
  return {
    agents: list,
    notCounted: [...notCounted.values()].filter((n) => !agents.has(n.id)),
    countedAgents: list.filter((a) => a.countsTowardSeveral).length,
    inotropes: [...inotropes.values()].sort((a, b) => a.name.localeCompare(b.name)),
  };
}

function worse(a: OxygenSupportClass, b: OxygenSupportClass): OxygenSupportClass {
  return OXYGEN_CLASS_GRADE[b] > OXYGEN_CLASS_GRADE[a] ? b : a;
}

/** Times of readings that show an oxygen need: SpO2 below threshold, an O2 flow, FiO2 > 21 %. */
function oxygenNeedTimes(recent: readonly Reading[], rules: CrsRuleConfig): number[] {
  return recent
    .filter(
      (r) =>
        (r.kind === 'spo2' && r.value < rules.thresholds.spo2Below) ||
        (r.kind === 'oxygen-flow' && r.value > 0) ||
        (r.kind === 'fio2' && r.value > 21),
    )
    .map((r) => timeMs(r.time));
}

/**
 * Positive pressure is grade 4 only while it serves hypoxia (clinical reference section 1): home
 * CPAP for sleep apnoea on room air is not, and neither is it when the oxygen need came after the
 * patient was back on another device. [DESIGN] an oxygen need counts for a positive-pressure
 * reading when charted within `positivePressureNeedHours` of it, and not after a later reading of
 * another device (the patient was moved off it).
 */
function servesOxygenNeed(
  device: OxygenDeviceReading,
  devices: readonly OxygenDeviceReading[],
  needTimes: readonly number[],
  rules: CrsRuleConfig,
): boolean {
  const at = timeMs(device.time);
  const spanMs = rules.thresholds.positivePressureNeedHours * 3_600_000;
  const movedOff = devices
    .filter((d) => d.supportClass !== 'positive-pressure' && timeMs(d.time) > at)
    .map((d) => timeMs(d.time));
  const until = Math.min(at + spanMs, ...movedOff.map((t) => t - 1));
  return needTimes.some((t) => t >= at - spanMs && t <= until);
}

function oxygenFinding(
  recent: readonly Reading[],
  devices: readonly OxygenDeviceReading[],
  rules: CrsRuleConfig,
): OxygenFinding {
  let supportClass: OxygenSupportClass = 'none';
  const basis: string[] = [];
  const highestFlow = extremeReading(byKind(recent, 'oxygen-flow'), 'max');
  const highestFio2 = extremeReading(byKind(recent, 'fio2'), 'max');
  const lowestSpo2 = extremeReading(byKind(recent, 'spo2'), 'min');
  const hypoxic = lowestSpo2 !== undefined && lowestSpo2.value < rules.thresholds.spo2Below;
  const needTimes = oxygenNeedTimes(recent, rules);
  let positivePressureWithoutOxygenNeed = false;
  for (const device of devices) {
    if (device.supportClass === 'none') continue;
    if (device.supportClass === 'positive-pressure' && !servesOxygenNeed(device, devices, needTimes, rules)) {
      positivePressureWithoutOxygenNeed = true;
      continue;
    }
    supportClass = worse(supportClass, device.supportClass);
    if (!basis.includes(device.text)) basis.push(device.text);
  }
  if (highestFlow && highestFlow.value > 0) {
    const flowClass =
      highestFlow.value <= rules.thresholds.lowFlowMaxLitresPerMinute ? 'low-flow' : 'high-flow';
    supportClass = worse(supportClass, flowClass);
    basis.push(`${highestFlow.value} L/min`);
  }
  if (highestFio2 && highestFio2.value > 21) {
    // Supplemental oxygen at least; ASTCT grades by device and flow, not FiO2. [DESIGN]
    supportClass = worse(supportClass, 'low-flow');
    basis.push(`FiO2 ${highestFio2.value} %`);
  }
  return {
    supportClass,
    basis,
    ...(highestFlow && { highestFlow }),
    ...(highestFio2 && { highestFio2 }),
    devices: [...devices],
    ...(lowestSpo2 && { lowestSpo2 }),
    hypoxiaWithoutSupport: hypoxic && supportClass === 'none',
    positivePressureWithoutOxygenNeed,
  };
}
