/**
 * CRS-consistent physiology in the recent window: fever, hypotension, vasopressors by agent, and
 * oxygen support class. [ASTCT] for the domains; thresholds from CrsRuleConfig.
 */
import type { Patient } from 'fhir/r4';
import { overlaps, type MatchedBy, type MedicationEvent } from './medication-events.js';
import type { OxygenDeviceReading, Reading } from './normalize-observations.js';
import type { CrsRuleConfig } from './rule-config.js';
import {
  VITAL_SIGN_KINDS,
  VASOACTIVES,
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
  present: boolean;
  systolicBelow: number;
  /** MAP criterion (adults only). */
  meanArterialBelow?: number;
  /** Age in years when a paediatric threshold applied. */
  paediatricAgeYears?: number;
  lowestSystolic?: Reading;
  lowestMeanArterial?: Reading;
}

export interface VasoactiveAgent {
  id: string;
  name: string;
  /** Counts toward "several vasopressors" (vasopressin does not). */
  countsTowardSeveral: boolean;
  /** Running at `now` (infusion period reaching now, or in-progress). */
  running: boolean;
  lastSeen: string;
  matchedBy: MatchedBy;
  matchedOn: string;
}

export interface VasopressorFinding {
  agents: VasoactiveAgent[];
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
  patient?: Patient;
  now: Date;
  windowStartMs: number;
  rules: CrsRuleConfig;
}

export function assessCrsVitals(input: CrsVitalsInput): CrsVitals {
  return {
    windowStart: new Date(input.windowStartMs).toISOString(),
    fever: feverFinding(input.recent, input.rules),
    hypotension: hypotensionFinding(input),
    vasopressors: vasopressorFinding(input.events, input.windowStartMs, input.now.getTime()),
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

/** Whole years between birthDate and now, or undefined. */
export function ageInYears(birthDate: string | undefined, now: Date): number | undefined {
  if (birthDate === undefined) return undefined;
  const match = /^(\d{4})(?:-(\d{2}))?(?:-(\d{2}))?/.exec(birthDate);
  if (!match) return undefined;
  const year = Number(match[1]);
  const month = Number(match[2] ?? '1');
  const day = Number(match[3] ?? '1');
  let age = now.getUTCFullYear() - year;
  const beforeBirthday =
    now.getUTCMonth() + 1 < month || (now.getUTCMonth() + 1 === month && now.getUTCDate() < day);
  if (beforeBirthday) age -= 1;
  return age >= 0 ? age : undefined;
}

function hypotensionFinding(input: CrsVitalsInput): HypotensionFinding {
  const t = input.rules.thresholds;
  const age = ageInYears(input.patient?.birthDate, input.now);
  const paediatric = age !== undefined && age <= t.paediatric.maxAgeYears;
  const systolicBelow = paediatric
    ? t.paediatric.systolicBase + (age >= t.paediatric.minAgeYears ? t.paediatric.systolicPerYear * age : 0)
    : t.systolicBelow;
  const lowestSystolic = extremeReading(byKind(input.recent, 'systolic-bp'), 'min');
  const lowestMeanArterial = extremeReading(byKind(input.recent, 'mean-arterial-pressure'), 'min');
  const present =
    (lowestSystolic !== undefined && lowestSystolic.value < systolicBelow) ||
    (!paediatric && lowestMeanArterial !== undefined && lowestMeanArterial.value < t.meanArterialBelow);
  return {
    present,
    systolicBelow,
    ...(!paediatric && { meanArterialBelow: t.meanArterialBelow }),
    ...(paediatric && { paediatricAgeYears: age }),
    ...(lowestSystolic && { lowestSystolic }),
    ...(lowestMeanArterial && { lowestMeanArterial }),
  };
}

function vasopressorFinding(
  events: readonly MedicationEvent[],
  fromMs: number,
  nowMs: number,
): VasopressorFinding {
  const agents = new Map<string, VasoactiveAgent>();
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
    const lastSeen =
      e.end !== undefined && Date.parse(e.end) <= nowMs ? e.end : new Date(nowMs).toISOString();
    const running = e.end === undefined ? e.status === 'in-progress' : Date.parse(e.end) >= nowMs;
    const previous = agents.get(e.conceptId);
    const latest = !previous || lastSeen >= previous.lastSeen;
    agents.set(e.conceptId, {
      id: e.conceptId,
      name: e.name,
      countsTowardSeveral: VASOACTIVES.find((v) => v.id === e.conceptId)?.countsTowardSeveral === true,
      running: running || previous?.running === true,
      lastSeen: latest ? lastSeen : previous.lastSeen,
      matchedBy: latest ? e.matchedBy : previous.matchedBy,
      matchedOn: latest ? e.matchedOn : previous.matchedOn,
    });
  }
  const list = [...agents.values()].sort((a, b) => a.name.localeCompare(b.name));
  return {
    agents: list,
    countedAgents: list.filter((a) => a.countsTowardSeveral).length,
    inotropes: [...inotropes.values()].sort((a, b) => a.name.localeCompare(b.name)),
  };
}

function worse(a: OxygenSupportClass, b: OxygenSupportClass): OxygenSupportClass {
  return OXYGEN_CLASS_GRADE[b] > OXYGEN_CLASS_GRADE[a] ? b : a;
}

function oxygenFinding(
  recent: readonly Reading[],
  devices: readonly OxygenDeviceReading[],
  rules: CrsRuleConfig,
): OxygenFinding {
  let supportClass: OxygenSupportClass = 'none';
  const basis: string[] = [];
  for (const device of devices) {
    if (device.supportClass === 'none') continue;
    supportClass = worse(supportClass, device.supportClass);
    if (!basis.includes(device.text)) basis.push(device.text);
  }
  const highestFlow = extremeReading(byKind(recent, 'oxygen-flow'), 'max');
  if (highestFlow && highestFlow.value > 0) {
    const flowClass =
      highestFlow.value <= rules.thresholds.lowFlowMaxLitresPerMinute ? 'low-flow' : 'high-flow';
    supportClass = worse(supportClass, flowClass);
    basis.push(`${highestFlow.value} L/min`);
  }
  const highestFio2 = extremeReading(byKind(recent, 'fio2'), 'max');
  if (highestFio2 && highestFio2.value > 21) {
    // Supplemental oxygen at least; ASTCT grades by device and flow, not FiO2. [DESIGN]
    supportClass = worse(supportClass, 'low-flow');
    basis.push(`FiO2 ${highestFio2.value} %`);
  }
  const lowestSpo2 = extremeReading(byKind(recent, 'spo2'), 'min');
  const hypoxic = lowestSpo2 !== undefined && lowestSpo2.value < rules.thresholds.spo2Below;
  return {
    supportClass,
    basis,
    ...(highestFlow && { highestFlow }),
    ...(highestFio2 && { highestFio2 }),
    devices: [...devices],
    ...(lowestSpo2 && { lowestSpo2 }),
    hypoxiaWithoutSupport: hypoxic && supportClass === 'none',
  };
}
