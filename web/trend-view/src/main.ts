/**
 * index.html: the view (and the SMART redirect URL). Completes the launch, reads the patient's
 * data, draws the panels, then computes the grade band hour by hour without blocking the page.
 */
import FHIR from 'fhirclient';
import 'uplot/dist/uPlot.min.css';
import './styles.css';
import type { CrsRuleConfig } from '../../../src/rules/crs-sentinel/rule-config.js';
import { parseAppContext } from './app-context.js';
import { renderCharts, type ChartsHandle } from './charts.js';
import { loadPatientData } from './fhir-load.js';
import { formatTime } from './format.js';
import { bandHours, computeBand, prepareTimedData, type BandHour } from './grade-band.js';
import { APP_CONTEXT_STORAGE_KEY, showFatal } from './page.js';
import { loadSiteRules } from './site-rules.js';
import { renderTables } from './table-view.js';
import { buildTrendModel, type TrendModel } from './trend-model.js';
import { VIEW } from './view-settings.js';

const HOUR_MS = 3_600_000;
const RANGES: Record<string, number | undefined> = {
  therapy: undefined,
  '24h': 24,
  '72h': 72,
  '7d': 168,
  '30d': 720,
};

function element(id: string): HTMLElement {
  const found = document.getElementById(id);
  if (!found) throw new Error(`page element #${id} missing`);
  return found;
}

async function main(): Promise<void> {
  const status = element('status');
  const client = await FHIR.oauth2.ready();
  const patientId = client.patient.id;
  if (patientId === null) throw new Error('the launch gave no patient in context');
  const tokenContext: unknown = client.state.tokenResponse?.appContext;
  const appContext = parseAppContext(tokenContext ?? sessionStorage.getItem(APP_CONTEXT_STORAGE_KEY));
  const now = new Date();
  const nowMs = now.getTime();
  const indexMs = appContext?.indexTime === undefined ? undefined : Date.parse(appContext.indexTime);
  // The rules' look-back, or from shortly before the card's index dose, but never past the
  // longest window (a stale or wrong appContext must not read years of data).
  const sinceMs = Math.max(
    nowMs - VIEW.maxWindowDays * 24 * HOUR_MS,
    Math.min(
      nowMs - VIEW.loadLookBackDays * 24 * HOUR_MS,
      indexMs === undefined ? Number.POSITIVE_INFINITY : indexMs - VIEW.beforeIndexHours * HOUR_MS,
    ),
  );
  status.textContent = 'Reading the chart…';
  performance.mark('crs-trend:loading');
  const site = await loadSiteRules();
  const { data, requests } = await loadPatientData(
    client,
    patientId,
    new Date(sinceMs).toISOString(),
    site.keys,
  );
  performance.mark('crs-trend:loaded');
  const model = buildTrendModel(data, now, site.rules, appContext);
  element('patient').textContent = describePatient(model, patientId, data.patient?.name?.[0]?.text);
  const charts = renderCharts(element('charts'), model, model.defaultFromMs, nowMs);
  performance.mark('crs-trend:rendered');
  document.body.dataset.state = 'rendered';
  status.textContent = `${requests} FHIR requests; computing the grade band…`;
  window.addEventListener('resize', () => charts.resize());

  const view = new BandView(model, data, charts, site.rules);
  await view.show(model.defaultFromMs, nowMs);
  status.textContent = `${String(requests)} FHIR requests. Grades computed by the crs-sentinel engine with ${
    site.source === 'site' ? "the service's rules" : 'its default rules (the service did not publish its own)'
  }.`;
  document.body.dataset.band = 'done';
  performance.mark('crs-trend:band');

  element('range').addEventListener('change', (event) => {
    const hours = RANGES[(event.target as HTMLSelectElement).value];
    const from = hours === undefined ? model.defaultFromMs : nowMs - hours * HOUR_MS;
    void view.show(from, nowMs);
  });
  const toggle = element('table-toggle');
  toggle.addEventListener('click', () => {
    const open = toggle.getAttribute('aria-expanded') !== 'true';
    toggle.setAttribute('aria-expanded', String(open));
    element('tables').hidden = !open;
    if (open) view.renderTables();
  });
  window.addEventListener('beforeprint', () => view.renderTables());
}

/** The band for the window shown: hours computed once and kept when the window changes. */
class BandView {
  private readonly hours = new Map<number, BandHour>();
  private readonly timed;
  private window = { fromMs: 0, toMs: 0 };

  constructor(
    private readonly model: TrendModel,
    data: Parameters<typeof prepareTimedData>[0],
    private readonly charts: ChartsHandle,
    private readonly rules: CrsRuleConfig,
  ) {
    this.timed = prepareTimedData(data);
  }

  async show(fromMs: number, toMs: number): Promise<void> {
    this.window = { fromMs, toMs };
    this.charts.setWindow(fromMs, toMs);
    const missing = bandHours(fromMs, toMs).filter((ms) => !this.hours.has(ms));
    await computeBand(this.timed, missing, this.rules, (done) => {
      for (const h of done) this.hours.set(h.ms, h);
      this.charts.setBand(this.sorted());
    });
    if (!element('tables').hidden) this.renderTables();
  }

  renderTables(): void {
    renderTables(element('tables'), this.model, this.sorted(), this.window.fromMs, this.window.toMs);
  }

  private sorted(): BandHour[] {
    return [...this.hours.values()].sort((a, b) => a.ms - b.ms);
  }
}

function describePatient(model: TrendModel, patientId: string, name: string | undefined): string {
  const who = name ?? `Patient ${patientId}`;
  if (!model.index)
    return `${who}: no CAR-T or bispecific dose found in the last ${VIEW.loadLookBackDays} days`;
  const source = model.index.from === 'app-context' ? 'from the card' : 'found in the chart';
  return `${who}: ${model.index.agent} at ${formatTime(model.index.ms)} (${source})`;
}

main().catch(showFatal);
