/**
 * A patient's timeline plot (one stay): temperature, blood pressure, SpO2 and O2 support, the
 * infusions as bars and the card decisions as a grade band, on one time axis. Drawn by Vega-Lite
 * (https://vega.github.io/vega-lite/) compiled to Vega and rendered to SVG headless in Node
 * (`view.toSVG()`, no browser, no canvas): the report stays one standalone file.
 */
import * as vega from 'vega';
import * as vl from 'vega-lite';
import type { TopLevelSpec } from 'vega-lite';
import type { PatientReplay, StayReplay } from '../replay-patient.js';

const WIDTH = 720;
const INDICATOR_COLOURS = { info: '#8da0cb', warning: '#fdae61', critical: '#d7191c' } as const;
const READING_LABELS: Record<string, string> = {
  temperature: 'temperature °C',
  'systolic-bp': 'SBP mmHg',
  'mean-arterial-pressure': 'MAP mmHg',
  spo2: 'SpO2 %',
  'oxygen-flow': 'O2 flow L/min',
  fio2: 'FiO2 %',
};

const PANELS: readonly { kinds: readonly string[]; title: string; thresholds: readonly number[] }[] = [
  { kinds: ['temperature'], title: '°C', thresholds: [38] },
  { kinds: ['systolic-bp', 'mean-arterial-pressure'], title: 'mmHg', thresholds: [90, 65] },
  { kinds: ['spo2', 'fio2'], title: '%', thresholds: [] },
  { kinds: ['oxygen-flow'], title: 'O2 L/min', thresholds: [] },
];

type Row = Record<string, string | number>;

/** The Vega-Lite spec of one stay's timeline (exported for tests). */
export function timelineSpec(
  patient: PatientReplay,
  stay: StayReplay,
  stepMs: number,
  title: string,
): TopLevelSpec {
  const inStay = (ms: number) => ms >= stay.startMs && ms <= stay.endMs;
  const rows: Row[] = [];
  for (const [t, kind, value] of patient.plot?.readings ?? [])
    if (inStay(t)) rows.push({ type: 'reading', t, kind, value, label: READING_LABELS[kind] ?? kind });
  for (const [start, end, name] of patient.plot?.infusions ?? [])
    if (end >= stay.startMs && start <= stay.endMs)
      rows.push({ type: 'infusion', t: Math.max(start, stay.startMs), t2: Math.min(end, stay.endMs), name });
  for (const d of patient.decisions)
    if (inStay(d.atMs))
      rows.push({
        type: 'decision',
        t: d.atMs,
        t2: d.atMs + stepMs,
        indicator: d.indicator,
        band: `${d.indicator} grade ${d.grade}`,
        shown: d.shown ? 'shown' : 'suppressed',
      });
  for (const e of stay.events) rows.push({ type: 'event', t: e.atMs, id: e.id });
  const x = (axisTitle?: string) => ({
    field: 't',
    type: 'temporal' as const,
    scale: { type: 'utc' as const, domain: [stay.startMs, stay.endMs] },
    axis:
      axisTitle === undefined ? { title: null, labels: false } : { title: axisTitle, format: '%m-%d %H:%M' },
  });
  const only = (test: string) => ({ filter: test });
  // A panel with no data breaks Vega's vertical layout (later panels drawn at the top): left out.
  const has = (test: (r: Row) => boolean) => rows.some(test);
  const readingPanels = PANELS.filter((p) =>
    has((r) => r.type === 'reading' && p.kinds.includes(r.kind as string)),
  ).map((p) => ({
    height: 80,
    width: WIDTH,
    layer: [
      {
        transform: [only(`datum.type === 'reading' && indexof(${JSON.stringify(p.kinds)}, datum.kind) >= 0`)],
        mark: { type: 'line', strokeWidth: 1 },
        encoding: {
          x: x(),
          y: { field: 'value', type: 'quantitative', title: p.title, scale: { zero: false } },
          color: { field: 'label', type: 'nominal', legend: { title: null, orient: 'right' } },
        },
      },
      ...p.thresholds.map((y) => ({
        mark: { type: 'rule', strokeDash: [4, 3], color: '#888' },
        encoding: { y: { datum: y, type: 'quantitative' } },
      })),
    ],
  }));
  const infusionPanel = {
    height: 50,
    width: WIDTH,
    transform: [only("datum.type === 'infusion'")],
    mark: { type: 'bar', height: 8, color: '#4575b4' },
    encoding: { x: x(), x2: { field: 't2' }, y: { field: 'name', type: 'nominal', title: 'infusions' } },
  };
  const decisionLayer = {
    transform: [only("datum.type === 'decision'")],
    mark: { type: 'rect' },
    encoding: {
      x: x('time (UTC)'),
      x2: { field: 't2' },
      color: {
        field: 'indicator',
        type: 'nominal',
        scale: { domain: Object.keys(INDICATOR_COLOURS), range: Object.values(INDICATOR_COLOURS) },
        legend: { title: 'cards', orient: 'right' },
      },
      opacity: {
        field: 'shown',
        type: 'ordinal',
        scale: { domain: ['shown', 'suppressed'], range: [1, 0.3] },
        legend: { title: null, orient: 'right' },
      },
    },
  };
  const eventLayers = [
    {
      transform: [only("datum.type === 'event'")],
      mark: { type: 'rule', color: '#000', strokeWidth: 1.5 },
      encoding: { x: x('time (UTC)') },
    },
    {
      transform: [only("datum.type === 'event'")],
      mark: { type: 'text', dy: -12, fontSize: 9, align: 'left' },
      encoding: { x: x('time (UTC)'), text: { field: 'id' } },
    },
  ];
  const band = [
    ...(has((r) => r.type === 'decision') ? [decisionLayer] : []),
    ...(has((r) => r.type === 'event') ? eventLayers : []),
  ];
  return {
    $schema: 'https://vega.github.io/schema/vega-lite/v5.json',
    title: { text: title, anchor: 'start', fontSize: 13 },
    config: { font: 'sans-serif', view: { stroke: '#ddd' } },
    data: { values: rows },
    resolve: { scale: { color: 'independent' } },
    vconcat: [
      ...readingPanels,
      ...(has((r) => r.type === 'infusion') ? [infusionPanel] : []),
      ...(band.length ? [{ height: 36, width: WIDTH, layer: band }] : []),
    ],
  } as TopLevelSpec;
}

/** Renders a Vega-Lite spec to a standalone SVG string (headless, in Node). */
export async function renderSvg(spec: TopLevelSpec): Promise<string> {
  // Vega-Lite warns when the shared time domain reaches a layer both as a signal and as numbers
  // (same values; it takes their union): errors only, so a report run prints its own lines.
  const quiet = vega.logger(vega.Error);
  const view = new vega.View(vega.parse(vl.compile(spec, { logger: quiet }).spec), {
    renderer: 'none',
    logger: quiet,
  });
  try {
    return await view.toSVG();
  } finally {
    view.finalize();
  }
}
