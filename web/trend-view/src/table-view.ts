/**
 * The same data as the charts, as tables (keyboard and screen-reader users, and print): one table
 * per panel, every reading with its time, value, unit and source code, the unusable ones with why,
 * and the grade band hour by hour. Built on demand (a long chart has thousands of rows).
 */
import type { BandHour } from './grade-band.js';
import { BAND_LABELS } from './palette.js';
import type { PlottedKind, TrendModel } from './trend-model.js';
import { formatTime } from './format.js';

const KIND_NAMES: Record<PlottedKind, string> = {
  temperature: 'Temperature',
  'systolic-bp': 'Systolic blood pressure',
  'mean-arterial-pressure': 'Mean arterial pressure',
  spo2: 'SpO2',
  'oxygen-flow': 'Oxygen flow',
  'heart-rate': 'Heart rate',
  'respiratory-rate': 'Respiratory rate',
  'il-6': 'IL-6',
  crp: 'CRP',
  ferritin: 'Ferritin',
  lactate: 'Lactate',
};

type Row = [ms: number, what: string, value: string, code: string, note: string];

export function renderTables(
  container: HTMLElement,
  model: TrendModel,
  band: readonly BandHour[],
  fromMs: number,
  toMs: number,
): void {
  container.replaceChildren();
  const inWindow = (ms: number) => ms >= fromMs && ms <= toMs;
  const readings: Row[] = [];
  for (const kind of Object.keys(KIND_NAMES) as PlottedKind[])
    for (const p of model.series[kind])
      readings.push([
        p.ms,
        KIND_NAMES[kind],
        `${p.value} ${p.unit}`,
        p.code,
        p.original === undefined ? '' : `charted as ${p.original}`,
      ]);
  for (const d of model.devices) readings.push([d.ms, 'Oxygen device', d.supportClass, d.code, d.text]);
  const medications: Row[] = [
    ...model.markers.map((m): Row => [m.ms, m.name, m.lane, m.code, `route: ${m.route}`]),
    ...model.infusions.map((i): Row => [
      i.startMs,
      i.agent,
      i.medicationClass,
      i.code,
      i.endMs === undefined ? 'infusion running' : `infusion until ${formatTime(i.endMs)}`,
    ]),
  ];
  const unusable: Row[] = model.unreadable.map((r) => [r.ms, r.kind, r.reason, r.code, r.detail]);
  const bandRows: Row[] = band.map((h) => [
    h.ms,
    'ASTCT grade',
    BAND_LABELS[h.state],
    'crs-sentinel engine',
    h.basis,
  ]);
  container.append(
    table(
      'Readings',
      ['Time', 'Measure', 'Value', 'Source code', 'Note'],
      readings.filter((r) => inWindow(r[0])),
    ),
    table(
      'Medications',
      ['Time', 'Medication', 'Class', 'Matched on', 'Note'],
      medications.filter((r) => inWindow(r[0])),
    ),
    table(
      'Readings not used',
      ['Time', 'Measure', 'Reason', 'Source code', 'Detail'],
      unusable.filter((r) => inWindow(r[0])),
    ),
    table(
      'ASTCT grade by hour',
      ['Time', 'What', 'Grade', 'Computed by', 'Basis'],
      bandRows.filter((r) => inWindow(r[0])),
    ),
  );
}

function table(caption: string, headings: readonly string[], rows: Row[]): HTMLTableElement {
  const t = document.createElement('table');
  t.dataset.table = caption;
  const c = t.createCaption();
  c.textContent = `${caption} (${rows.length})`;
  const head = t.createTHead().insertRow();
  for (const h of headings) {
    const th = document.createElement('th');
    th.scope = 'col';
    th.textContent = h;
    head.append(th);
  }
  const body = t.createTBody();
  for (const [ms, ...cells] of rows.sort((a, b) => a[0] - b[0])) {
    const tr = body.insertRow();
    const th = document.createElement('th');
    th.scope = 'row';
    th.textContent = formatTime(ms);
    tr.append(th);
    for (const cell of cells) tr.insertCell().textContent = cell;
  }
  return t;
}
