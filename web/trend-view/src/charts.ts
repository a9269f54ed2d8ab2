/**
 * The panels, drawn by uPlot (https://github.com/leeoniya/uPlot): one shared time axis (the same
 * x range on every chart, cursors synced), lines broken where readings are further apart than
 * VIEW.maxLineGapHours (uPlot draws a gap at `null`), every reading also drawn as a point,
 * thresholds as dashed lines, medications as markers on lanes, infusions as bars on lanes.
 * Each panel carries data-* counts of what it plots (the browser tests read them).
 */
import uPlot from 'uplot';
import type { BandHour, BandState } from './grade-band.js';
import { BAND_COLOURS, BAND_LABELS, OKABE_ITO } from './palette.js';
import type { MarkerLane, TrendModel, TrendPoint } from './trend-model.js';
import { formatTime } from './format.js';
import { VIEW } from './view-settings.js';

const HOUR_MS = 3_600_000;
const YEAR_MS = 365 * 24 * HOUR_MS;

/** A plotted thing with what the hover says at each of its x values. */
interface SeriesSpec {
  label: string;
  colour: string;
  scale: string;
  /** x -> y, plus what the hover and data-* say. */
  points: { ms: number; y: number; text: string }[];
  kind: 'line' | 'markers' | 'bars' | 'band' | 'threshold';
  dash?: number[];
  /** For lines: break the line where two points are further apart than this. */
  maxGapMs?: number;
  /** For bars: each bar's end (same order as points): drawn from start to end at y. */
  ends?: number[];
}

interface AxisSpec {
  scale: string;
  label: string;
  /** uPlot's Axis.Side: 3 left, 1 right (a const enum, not importable under isolatedModules). */
  side: 1 | 3;
  /** Lane names for a lane axis (value i -> names[i]). */
  lanes?: readonly string[];
  range?: [number, number];
  /** At least this range is shown (more when the data needs it): a flat series stays readable. */
  softRange?: [number, number];
  log?: boolean;
  /** An empty axis that only keeps the space (see withRightSlot). */
  blank?: boolean;
}

/** Every panel keeps a right axis slot, so all plots start and end at the same pixel. */
function withRightSlot(axes: readonly AxisSpec[]): AxisSpec[] {
  if (axes.some((a) => a.side === 1)) return [...axes];
  return [...axes, { scale: axes[0]?.scale ?? 'y', label: '', side: 1, blank: true }];
}

interface PanelSpec {
  id: string;
  title: string;
  height: number;
  axes: AxisSpec[];
  series: SeriesSpec[];
  /** Shown under the title when the panel has nothing to plot in the loaded data. */
  emptyText?: string;
}

export interface ChartsHandle {
  setWindow(fromMs: number, toMs: number): void;
  setBand(hours: readonly BandHour[]): void;
  resize(): void;
  destroy(): void;
}

const SYNC_KEY = 'crs-trend';
/** Axis widths, the same on every panel: the time axes line up. */
const LEFT_AXIS_PX = 120;
const RIGHT_AXIS_PX = 56;
/** Each hour of the band as a bar reaching back to the previous hour. */
const BAND_BARS = uPlot.paths.bars?.({ size: [1, Infinity], align: -1 });

export function renderCharts(
  container: HTMLElement,
  model: TrendModel,
  fromMs: number,
  toMs: number,
): ChartsHandle {
  const specs = panelSpecs(model);
  const charts: { plot: uPlot; spec: PanelSpec; figure: HTMLElement }[] = [];
  let window = { fromMs, toMs };
  const bandSpec: PanelSpec = bandPanel([]);
  const all = [bandSpec, ...specs];
  for (const spec of all) {
    const figure = document.createElement('figure');
    figure.className = 'panel';
    figure.dataset.panel = spec.id;
    const caption = document.createElement('figcaption');
    caption.textContent = spec.title;
    figure.append(caption);
    if (spec.emptyText !== undefined) {
      const empty = document.createElement('p');
      empty.className = 'empty';
      empty.textContent = spec.emptyText;
      figure.append(empty);
    }
    container.append(figure);
    const plot = makePlot(spec, figure, window);
    charts.push({ plot, spec, figure });
    describe(figure, spec);
  }
  return {
    setWindow(from, to) {
      window = { fromMs: from, toMs: to };
      for (const { plot } of charts) plot.setScale('x', { min: from, max: to });
    },
    setBand(hours) {
      const chart = charts[0];
      if (!chart) return;
      const spec = bandPanel(hours);
      chart.spec = spec;
      chart.plot.setData(alignedData(spec, window), false);
      chart.plot.setScale('x', { min: window.fromMs, max: window.toMs });
      describe(chart.figure, spec);
      const last = hours.at(-1);
      if (last) chart.figure.dataset.lastState = last.state;
    },
    resize() {
      for (const { plot, figure } of charts) plot.setSize({ width: widthOf(figure), height: plot.height });
    },
    destroy() {
      for (const { plot } of charts) plot.destroy();
    },
  };
}

function widthOf(figure: HTMLElement): number {
  return Math.max(320, figure.clientWidth - 8);
}

/** data-series='{"label": count}': what each panel plots, for tests and the curious. */
function describe(figure: HTMLElement, spec: PanelSpec): void {
  const counts: Record<string, number> = {};
  for (const s of spec.series) if (s.kind !== 'threshold') counts[s.label] = s.points.length;
  figure.dataset.series = JSON.stringify(counts);
  const canvas = figure.querySelector('canvas');
  canvas?.setAttribute('aria-hidden', 'true');
}

function makePlot(spec: PanelSpec, figure: HTMLElement, window: { fromMs: number; toMs: number }): uPlot {
  const tooltip = document.createElement('div');
  tooltip.className = 'tooltip';
  tooltip.hidden = true;
  const opts: uPlot.Options = {
    width: widthOf(figure),
    height: spec.height,
    ms: 1,
    cursor: { sync: { key: SYNC_KEY }, drag: { x: false, y: false }, points: { show: false } },
    legend: { live: false },
    scales: {
      x: { time: true, auto: false, range: (_u, min, max) => [min, max] },
      ...Object.fromEntries(
        spec.axes.map((a) => [
          a.scale,
          a.log ? { distr: 3 as const } : a.range ? { auto: false, range: a.range } : softRange(a.softRange),
        ]),
      ),
    },
    axes: [
      { scale: 'x' },
      ...withRightSlot(spec.axes).map((a): uPlot.Axis => ({
        scale: a.scale,
        // eslint-disable-next-line @typescript-eslint/no-unsafe-enum-assignment -- AxisSpec.side
        side: a.side,
        label: a.label,
        size: a.side === 3 ? LEFT_AXIS_PX : RIGHT_AXIS_PX,
        grid: { show: a.side === 3 },
        ...(a.lanes && {
          splits: () => (a.lanes ?? []).map((_, i) => i),
          values: (_u: uPlot, splits: number[]) => splits.map((i) => a.lanes?.[i] ?? ''),
        }),
        ...(a.blank && { values: () => [], ticks: { show: false } }),
      })),
    ],
    series: [{}, ...spec.series.map(seriesOptions)],
    hooks: {
      setCursor: [(u) => showTooltip(u, spec, tooltip)],
    },
  };
  const plot = new uPlot(opts, alignedData(spec, window), figure);
  plot.over.append(tooltip);
  plot.setScale('x', { min: window.fromMs, max: window.toMs });
  return plot;
}

function softRange(soft: [number, number] | undefined): uPlot.Scale {
  if (!soft) return {};
  return {
    range: (_u, min, max) => [Math.min(min, soft[0]), Math.max(max, soft[1])],
  };
}

function seriesOptions(s: SeriesSpec): uPlot.Series {
  const base = { label: s.label, scale: s.scale, stroke: s.colour, spanGaps: false };
  switch (s.kind) {
    case 'line':
      return {
        ...base,
        width: 1.5,
        points: { show: true, size: 5, fill: s.colour },
        ...(s.dash && { dash: s.dash }),
      };
    case 'threshold':
      return { ...base, width: 1, dash: s.dash ?? [6, 4], points: { show: false } };
    case 'markers':
      return { ...base, paths: () => null, points: { show: true, size: 11, width: 2, fill: s.colour } };
    case 'bars':
      return { ...base, width: 9, points: { show: true, size: 9, fill: s.colour } };
    case 'band':
      return {
        ...base,
        fill: s.colour,
        width: 0,
        ...(BAND_BARS && { paths: BAND_BARS }),
        points: { show: false },
      };
  }
}

/**
 * uPlot's aligned columns: the union of every series' x values. A series is `undefined` where it
 * has no point (spanned: another series' x) and `null` at every x inside one of its gaps: uPlot
 * blanks the stretch between the neighbours of a run of nulls, so the whole gap must be null.
 */
function alignedData(spec: PanelSpec, window: { fromMs: number; toMs: number }): uPlot.AlignedData {
  const xs = new Set<number>();
  const prepared = spec.series.map((s) => {
    const values = new Map<number, number>();
    const gaps: [number, number][] = [];
    const order = s.points.map((p, i) => ({ p, end: s.ends?.[i] ?? p.ms })).sort((a, b) => a.p.ms - b.p.ms);
    order.forEach(({ p, end }, i) => {
      values.set(p.ms, p.y);
      values.set(end, p.y);
      const next = order[i + 1];
      const gap =
        s.kind === 'bars' || (s.maxGapMs !== undefined && next !== undefined && next.p.ms - end > s.maxGapMs);
      if (!gap) return;
      const until = next?.p.ms ?? Number.POSITIVE_INFINITY;
      gaps.push([end, until]);
      // One x inside the gap at least, so the run of nulls is never empty.
      xs.add(end + 1);
      if (next) xs.add(until - 1);
    });
    for (const x of values.keys()) xs.add(x);
    return { values, gaps };
  });
  if (xs.size === 0) for (const edge of [window.fromMs, window.toMs]) xs.add(edge);
  const hasThreshold = spec.series.some((s) => s.kind === 'threshold');
  if (hasThreshold) for (const edge of [window.fromMs - YEAR_MS, window.toMs + YEAR_MS]) xs.add(edge);
  const x = [...xs].sort((a, b) => a - b);
  const ys = spec.series.map((s, i) => {
    if (s.kind === 'threshold') {
      const y = s.points[0]?.y ?? null;
      return x.map(() => y);
    }
    const { values, gaps } = prepared[i] as (typeof prepared)[number];
    return x.map((ms) => {
      const value = values.get(ms);
      if (value !== undefined) return value;
      return gaps.some(([from, to]) => ms > from && ms < to) ? null : undefined;
    });
  });
  return [x, ...ys] as uPlot.AlignedData;
}

function showTooltip(u: uPlot, spec: PanelSpec, tooltip: HTMLElement): void {
  const idx = u.cursor.idx;
  const left = u.cursor.left ?? -1;
  if (idx == null || left < 0) {
    tooltip.hidden = true;
    return;
  }
  const xs = u.data[0];
  const cursorMs = u.posToVal(left, 'x');
  const lines: string[] = [];
  // What is near the cursor: within 1.5 % of the visible range, any series.
  const x = u.scales.x;
  const span = ((x?.max ?? 0) - (x?.min ?? 0)) * 0.015;
  for (const s of spec.series) {
    if (s.kind === 'threshold') continue;
    for (const p of s.points) if (Math.abs(p.ms - cursorMs) <= span) lines.push(`${s.label}: ${p.text}`);
  }
  if (!lines.length || xs.length === 0) {
    tooltip.hidden = true;
    return;
  }
  tooltip.hidden = false;
  tooltip.textContent = lines.slice(0, 8).join('\n');
  tooltip.style.left = `${Math.min(left + 12, u.over.clientWidth - 260)}px`;
  tooltip.style.top = '4px';
}

const line = (
  label: string,
  colour: string,
  scale: string,
  points: TrendPoint[],
  dash?: number[],
): SeriesSpec => ({
  label,
  colour,
  scale,
  kind: 'line',
  maxGapMs: VIEW.maxLineGapHours * HOUR_MS,
  points: points.map((p) => ({ ms: p.ms, y: p.value, text: pointText(p) })),
  ...(dash && { dash }),
});

function pointText(p: TrendPoint): string {
  const original = p.original === undefined ? '' : ` (charted ${p.original})`;
  return `${p.value} ${p.unit}${original} at ${formatTime(p.ms)} [${p.code}]`;
}

const threshold = (
  label: string,
  scale: string,
  y: number,
  colour: string = OKABE_ITO.black,
): SeriesSpec => ({
  label,
  colour,
  scale,
  kind: 'threshold',
  points: [{ ms: 0, y, text: '' }],
});

const LANES: readonly { lane: MarkerLane; label: string; colour: string }[] = [
  { lane: 'therapy', label: 'CAR-T / bispecific', colour: OKABE_ITO.blue },
  { lane: 'tocilizumab', label: 'Tocilizumab', colour: OKABE_ITO.vermillion },
  { lane: 'anticytokine', label: 'Other anti-cytokine', colour: OKABE_ITO.purple },
  { lane: 'corticosteroid', label: 'Corticosteroid', colour: OKABE_ITO.green },
  { lane: 'antipyretic', label: 'Antipyretic', colour: OKABE_ITO.orange },
];

const DEVICE_LEVEL = { none: 0, 'low-flow': 1, 'high-flow': 2, 'positive-pressure': 3 } as const;
const DEVICE_NAMES = ['room air', 'low-flow', 'high-flow', 'positive pressure'] as const;

function panelSpecs(m: TrendModel): PanelSpec[] {
  const s = m.series;
  const t = m.thresholds;
  const sbpLabel =
    t.systolicBand === undefined
      ? `SBP ${t.systolicBelow}`
      : `SBP ${t.systolicBelow} (age ${t.systolicBand})`;
  const labs = (['il-6', 'crp', 'ferritin', 'lactate'] as const).filter((k) => s[k].length > 0);
  const labColours = [OKABE_ITO.purple, OKABE_ITO.blue, OKABE_ITO.orange, OKABE_ITO.green];
  const labNames = { 'il-6': 'IL-6', crp: 'CRP', ferritin: 'Ferritin', lactate: 'Lactate' } as const;
  const agents = [...new Set(m.infusions.map((i) => i.agent))];
  const panels: PanelSpec[] = [
    {
      id: 'temperature',
      title: `Temperature (°C); dashed: fever ${t.feverCelsius} °C`,
      height: 150,
      axes: [{ scale: 'C', label: '°C', side: 3, softRange: [35.5, 40.5] }],
      series: [
        line('Temperature', OKABE_ITO.vermillion, 'C', s.temperature),
        threshold(`${t.feverCelsius} °C`, 'C', t.feverCelsius),
      ],
      ...empty(s.temperature.length),
    },
    {
      id: 'blood-pressure',
      title: `Blood pressure (mmHg); dashed: ${sbpLabel}, MAP ${t.meanArterialBelow}`,
      height: 160,
      axes: [{ scale: 'mmHg', label: 'mmHg', side: 3, softRange: [40, 160] }],
      series: [
        line('SBP', OKABE_ITO.blue, 'mmHg', s['systolic-bp']),
        line('MAP', OKABE_ITO.orange, 'mmHg', s['mean-arterial-pressure'], [2, 3]),
        threshold(sbpLabel, 'mmHg', t.systolicBelow, OKABE_ITO.blue),
        threshold(`MAP ${t.meanArterialBelow}`, 'mmHg', t.meanArterialBelow, OKABE_ITO.orange),
      ],
      ...empty(s['systolic-bp'].length + s['mean-arterial-pressure'].length),
    },
    {
      id: 'oxygen',
      title: `SpO2 (%) and oxygen flow (L/min); dashed: ${t.lowFlowMaxLitresPerMinute} L/min (above: high-flow)`,
      height: 160,
      axes: [
        { scale: '%', label: 'SpO2 %', side: 3, range: [70, 100] },
        { scale: 'L/min', label: 'L/min', side: 1, range: [0, 60] },
      ],
      series: [
        line('SpO2', OKABE_ITO.blue, '%', s.spo2),
        line('O2 flow', OKABE_ITO.green, 'L/min', s['oxygen-flow'], [4, 2]),
        threshold(
          `${t.lowFlowMaxLitresPerMinute} L/min`,
          'L/min',
          t.lowFlowMaxLitresPerMinute,
          OKABE_ITO.green,
        ),
      ],
      ...empty(s.spo2.length + s['oxygen-flow'].length),
    },
    {
      id: 'oxygen-device',
      title: 'Oxygen device (class as the rules read it)',
      height: 110,
      axes: [{ scale: 'device', label: '', side: 3, lanes: DEVICE_NAMES, range: [-0.5, 3.5] }],
      series: [
        {
          label: 'Device',
          colour: OKABE_ITO.green,
          scale: 'device',
          kind: 'markers',
          points: m.devices.map((d) => ({
            ms: d.ms,
            y: DEVICE_LEVEL[d.supportClass],
            text: `${d.text} (${d.supportClass}) at ${formatTime(d.ms)} [${d.code}]`,
          })),
        },
      ],
      ...empty(m.devices.length),
    },
    {
      id: 'heart-respiratory',
      title: 'Heart rate and respiratory rate (/min)',
      height: 150,
      axes: [
        { scale: 'hr', label: 'HR /min', side: 3, softRange: [40, 160] },
        { scale: 'rr', label: 'RR /min', side: 1, softRange: [5, 40] },
      ],
      series: [
        line('Heart rate', OKABE_ITO.purple, 'hr', s['heart-rate']),
        line('Resp. rate', OKABE_ITO.black, 'rr', s['respiratory-rate'], [4, 2]),
      ],
      ...empty(s['heart-rate'].length + s['respiratory-rate'].length),
    },
    {
      id: 'vasoactive',
      title: 'Vasopressor and inotrope infusions',
      height: Math.max(90, 40 + agents.length * 28),
      axes: [
        {
          scale: 'agent',
          label: '',
          side: 3,
          lanes: agents.length ? agents : ['none'],
          range: [-0.5, Math.max(agents.length, 1) - 0.5],
        },
      ],
      series: agents.map((agent, i) => {
        const bars = m.infusions.filter((b) => b.agent === agent).sort((a, b) => a.startMs - b.startMs);
        return {
          label: agent,
          colour: [OKABE_ITO.vermillion, OKABE_ITO.blue, OKABE_ITO.purple, OKABE_ITO.orange][i % 4] as string,
          scale: 'agent',
          kind: 'bars' as const,
          points: bars.map((b) => ({
            ms: b.startMs,
            y: i,
            text: `${b.medicationClass} from ${formatTime(b.startMs)} ${b.endMs === undefined ? '(running)' : `to ${formatTime(b.endMs)}`} [${b.code}]`,
          })),
          ends: bars.map((b) => b.endMs ?? m.nowMs),
        };
      }),
      ...empty(agents.length, 'No vasopressor or inotrope recorded'),
    },
    {
      id: 'medications',
      title: 'Therapy doses, tocilizumab, steroids, antipyretics; unusable readings',
      height: 40 + (LANES.length + 1) * 24,
      axes: [
        {
          scale: 'lane',
          label: '',
          side: 3,
          lanes: [...LANES.map((l) => l.label), 'Not usable'],
          range: [-0.5, LANES.length + 0.5],
        },
      ],
      series: [
        ...LANES.map(({ lane, label, colour }, i) => ({
          label,
          colour,
          scale: 'lane',
          kind: 'markers' as const,
          points: m.markers
            .filter((mk) => mk.lane === lane)
            .map((mk) => ({
              ms: mk.ms,
              y: i,
              text: `${mk.name} (${mk.route}) at ${formatTime(mk.ms)} [${mk.code}]`,
            })),
        })),
        {
          label: 'Not usable',
          colour: OKABE_ITO.black,
          scale: 'lane',
          kind: 'markers' as const,
          points: m.unreadable.map((r) => ({
            ms: r.ms,
            y: LANES.length,
            text: `${r.kind}: ${r.reason} (${r.detail}) at ${formatTime(r.ms)} [${r.code}]`,
          })),
        },
      ],
    },
  ];
  if (labs.length)
    panels.push({
      id: 'labs',
      title: 'Supporting labs (log scale; they never change the grade)',
      height: 150,
      axes: [{ scale: 'lab', label: 'value', side: 3, log: true }],
      series: labs.map((k, i) =>
        line(`${labNames[k]} (${s[k][0]?.unit ?? ''})`, labColours[i] as string, 'lab', s[k]),
      ),
    });
  return panels;
}

function empty(count: number, text = 'No readings in the loaded data'): { emptyText?: string } {
  return count === 0 ? { emptyText: text } : {};
}

const BAND_ORDER: readonly BandState[] = [
  'no-context',
  'no-crs',
  'afebrile',
  'data-gap',
  'grade-1',
  'grade-2',
  'grade-3',
  'grade-4',
];

function bandPanel(hours: readonly BandHour[]): PanelSpec {
  return {
    id: 'grade-band',
    title: 'ASTCT grade hour by hour (the service’s own engine, run as of each hour)',
    height: 90,
    axes: [{ scale: 'band', label: '', side: 3, range: [0, 1], lanes: ['', 'grade'] }],
    series: BAND_ORDER.map((state) => ({
      label: BAND_LABELS[state],
      colour: BAND_COLOURS[state],
      scale: 'band',
      kind: 'band' as const,
      points: hours
        .filter((h) => h.state === state)
        // Plotted at the end of its hour (the last, partial hour too): every bar one hour wide.
        .map((h) => ({
          ms: Math.ceil(h.ms / HOUR_MS) * HOUR_MS,
          y: 1,
          text: `${BAND_LABELS[state]} as of ${formatTime(h.ms)}: ${h.basis}`,
        })),
    })),
  };
}
