/**
 * What the trend view plots, from the same PatientData the service reads and with the clinical
 * core's own functions (src/rules/crs-sentinel): readings normalized by normalizeObservations,
 * medications classified by medicationEvents, thresholds from the rule config. Nothing here
 * re-implements a rule: it only sorts the core's output into panels. Pure: data and `now` in.
 */
import { assessCrs } from '../../../src/rules/crs-sentinel/assess-crs.js';
import { HOUR_MS, timeMs } from '../../../src/rules/crs-sentinel/fhir-values.js';
import { medicationEvents, type MedicationEvent } from '../../../src/rules/crs-sentinel/medication-events.js';
import {
  normalizeObservations,
  type Reading,
  type ReadingSource,
} from '../../../src/rules/crs-sentinel/normalize-observations.js';
import { paediatricBand, patientAge } from '../../../src/rules/crs-sentinel/patient-age.js';
import type { PatientData } from '../../../src/rules/crs-sentinel/patient-data.js';
import type { CrsRuleConfig } from '../../../src/rules/crs-sentinel/rule-config.js';
import type {
  MedicationClass,
  OxygenSupportClass,
  ReadingKind,
} from '../../../src/rules/crs-sentinel/rule-tables.js';
import type { AppContext } from './app-context.js';
import { VIEW } from './view-settings.js';

/** One plotted value with what the hover and the table show. */
export interface TrendPoint {
  ms: number;
  value: number;
  unit: string;
  /** "system|code" of the Observation (or its component). */
  code: string;
  /** The value as charted, when the core converted it (e.g. °F to °C). */
  original?: string;
}

export interface DevicePoint {
  ms: number;
  supportClass: OxygenSupportClass;
  text: string;
  code: string;
}

/** An Observation the core could not use (unreadable, implausible, unknown unit, no value...). */
export interface UnreadablePoint {
  ms: number;
  kind: string;
  reason: string;
  detail: string;
  code: string;
}

export type MarkerLane = 'therapy' | 'tocilizumab' | 'corticosteroid' | 'antipyretic' | 'anticytokine';

export interface MedicationMarker {
  lane: MarkerLane;
  ms: number;
  name: string;
  route: MedicationEvent['route'];
  code: string;
}

export interface InfusionBar {
  agent: string;
  medicationClass: 'vasopressor' | 'inotrope';
  startMs: number;
  /** Absent while running: the bar runs to now. */
  endMs: number | undefined;
  code: string;
}

export const PLOTTED_KINDS = [
  'temperature',
  'systolic-bp',
  'mean-arterial-pressure',
  'spo2',
  'oxygen-flow',
  'heart-rate',
  'respiratory-rate',
  'il-6',
  'crp',
  'ferritin',
  'lactate',
] as const satisfies readonly ReadingKind[];
export type PlottedKind = (typeof PLOTTED_KINDS)[number];

export interface TrendModel {
  nowMs: number;
  /** The therapy index dose: from appContext, else the engine's latest therapy context. */
  index: { ms: number; agent: string; from: 'app-context' | 'engine' } | undefined;
  /** The default view starts shortly before the index dose (or a look-back when there is none). */
  defaultFromMs: number;
  series: Record<PlottedKind, TrendPoint[]>;
  devices: DevicePoint[];
  unreadable: UnreadablePoint[];
  markers: MedicationMarker[];
  infusions: InfusionBar[];
  thresholds: {
    feverCelsius: number;
    systolicBelow: number;
    /** Set for a child: the age band the SBP threshold comes from. */
    systolicBand?: string;
    meanArterialBelow: number;
    lowFlowMaxLitresPerMinute: number;
  };
}

const MARKER_LANE: Partial<Record<MedicationClass, MarkerLane>> = {
  'car-t': 'therapy',
  bispecific: 'therapy',
  tocilizumab: 'tocilizumab',
  corticosteroid: 'corticosteroid',
  antipyretic: 'antipyretic',
  anticytokine: 'anticytokine',
};

export function buildTrendModel(
  data: PatientData,
  now: Date,
  rules: CrsRuleConfig,
  appContext: AppContext | undefined,
): TrendModel {
  const nowMs = now.getTime();
  const normalized = normalizeObservations(data.vitals.concat(data.labs), rules.siteCodes, rules.codes);
  const events = medicationEvents(data, now, rules.siteCodes, rules.codes);
  const index = indexDose(data, now, rules, appContext);
  const age = patientAge(data.patient, now);
  const band = paediatricBand(age, rules);
  return {
    nowMs,
    index,
    defaultFromMs: Math.max(
      nowMs - VIEW.maxWindowDays * 24 * HOUR_MS,
      index ? index.ms - VIEW.beforeIndexHours * HOUR_MS : nowMs - VIEW.defaultLookBackDays * 24 * HOUR_MS,
    ),
    series: seriesOf(normalized.readings),
    devices: normalized.devices.map((d) => ({
      ms: timeMs(d.time),
      supportClass: d.supportClass,
      text: d.text,
      code: codeOf(d.source),
    })),
    unreadable: normalized.ignored
      .filter((r) => r.time !== undefined)
      .map((r) => ({
        ms: timeMs(r.time as string),
        kind: r.kind,
        reason: r.reason,
        detail: r.detail,
        code: codeOf(r.source),
      })),
    markers: events.flatMap((e) => {
      const lane = MARKER_LANE[e.medicationClass];
      return lane ? [{ lane, ms: timeMs(e.start), name: e.name, route: e.route, code: e.matchedOn }] : [];
    }),
    infusions: events.flatMap((e) =>
      e.medicationClass === 'vasopressor' || e.medicationClass === 'inotrope'
        ? [
            {
              agent: e.name,
              medicationClass: e.medicationClass,
              startMs: timeMs(e.start),
              endMs: e.end === undefined ? undefined : timeMs(e.end),
              code: e.matchedOn,
            },
          ]
        : [],
    ),
    thresholds: {
      feverCelsius: rules.thresholds.feverCelsius,
      systolicBelow: band?.systolicBelow ?? rules.thresholds.systolicBelow,
      ...(band && { systolicBand: band.label }),
      meanArterialBelow: rules.thresholds.meanArterialBelow,
      lowFlowMaxLitresPerMinute: rules.thresholds.lowFlowMaxLitresPerMinute,
    },
  };
}

function seriesOf(readings: readonly Reading[]): Record<PlottedKind, TrendPoint[]> {
  const series = Object.fromEntries(PLOTTED_KINDS.map((k) => [k, [] as TrendPoint[]])) as Record<
    PlottedKind,
    TrendPoint[]
  >;
  for (const r of readings) {
    const points = (series as Partial<Record<ReadingKind, TrendPoint[]>>)[r.kind];
    points?.push({
      ms: timeMs(r.time),
      value: r.value,
      unit: r.unit,
      code: codeOf(r.source),
      ...(r.original && { original: `${r.original.value} ${r.original.unit}` }),
    });
  }
  return series;
}

function codeOf(source: ReadingSource): string {
  const code = `${source.system}|${source.code}`;
  return source.componentOf === undefined ? code : `${code} (in ${source.componentOf})`;
}

/**
 * The index dose: appContext's when the EHR passed it; otherwise the engine's own therapy
 * context at `now` (the start of the latest exposure), so a launch without appContext still
 * opens on the therapy window.
 */
function indexDose(
  data: PatientData,
  now: Date,
  rules: CrsRuleConfig,
  appContext: AppContext | undefined,
): TrendModel['index'] {
  if (appContext?.indexTime !== undefined)
    return { ms: timeMs(appContext.indexTime), agent: appContext.agent ?? 'therapy', from: 'app-context' };
  const therapy = assessCrs({ data, now, rules }).therapy;
  const first = therapy.map((t) => t.exposureStart).sort()[0];
  if (first === undefined) return undefined;
  const agent = therapy.find((t) => t.exposureStart === first)?.agent.name ?? 'therapy';
  return { ms: timeMs(first), agent, from: 'engine' };
}
