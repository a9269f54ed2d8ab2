/**
 * Writes a replay's output folder: `patients.jsonl` and `run.json` (what `replay-merge` reads
 * back), `report.json`, `report.md`, `report.html` (standalone: styles and SVG plots inline, opens
 * from disk, prints) and `plots/*.svg`. Patients appear by pseudonym only (split-export.ts).
 */
import { mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { cohortReport, type CohortReport } from '../cohort-metrics.js';
import type { ReferenceEventDefinition } from '../reference-events.js';
import type { PatientReplay, StayReplay } from '../replay-patient.js';
import type { SplitSummary } from '../split-export.js';
import { renderHtml } from './render-html.js';
import { renderMarkdown } from './render-markdown.js';
import { renderSvg, timelineSpec } from './timeline-plot.js';

export const PATIENTS_FILE = 'patients.jsonl';
export const RUN_FILE = 'run.json';

/** What was replayed and how: the header of every report. */
export interface RunDescription {
  export: string;
  step: string;
  from?: string;
  to?: string;
  encounterClasses?: string[];
  eventWindow: string;
  governance: string;
  events: ReferenceEventDefinition[];
  split: SplitSummary;
  /** `i/N` of a shard, or the shards merged. */
  shards: string[];
}

export interface PlotRef {
  patientKey: string;
  stayIndex: number;
  file: string;
  svg: string;
  title: string;
}

export interface Report {
  run: RunDescription;
  cohort: CohortReport;
  patients: PatientSummary[];
  plots: { patientKey: string; stayIndex: number; file: string }[];
}

export interface PatientSummary {
  patientKey: string;
  stays: number;
  patientDays: number;
  cards: number;
  shown: number;
  episodes: number;
  events: { id: string; atMs: number; leadLagMinutes?: number }[];
}

function summarise(p: PatientReplay): PatientSummary {
  return {
    patientKey: p.patientKey,
    stays: p.stays.length,
    patientDays: Number(p.patientDays.toFixed(2)),
    cards: p.decisions.length,
    shown: p.decisions.filter((d) => d.shown).length,
    episodes: p.stays.reduce((n, s) => n + s.episodes.length, 0),
    events: p.stays.flatMap((s) =>
      s.events.map((e) => ({
        id: e.id,
        atMs: e.atMs,
        ...(e.firstAlertMs !== undefined && {
          leadLagMinutes: Math.round((e.firstAlertMs - e.atMs) / 60_000),
        }),
      })),
    ),
  };
}

/**
 * Which stays get a plot: those of the `topAlerted` most-alerted patients and of every patient
 * with a reference event, at most `maxPlots` in all (most alerted first).
 */
export function plotSelection(
  patients: readonly PatientReplay[],
  topAlerted: number,
  maxPlots: number,
): { patient: PatientReplay; stay: StayReplay; stayIndex: number }[] {
  const withPlot = patients.filter((p) => p.plot !== undefined);
  const alerted = [...withPlot]
    .filter((p) => p.decisions.length > 0)
    .sort((a, b) => b.decisions.length - a.decisions.length || (a.patientKey < b.patientKey ? -1 : 1))
    .slice(0, topAlerted);
  const chosen = new Set(alerted);
  for (const p of withPlot) if (p.stays.some((s) => s.events.length > 0)) chosen.add(p);
  const out: { patient: PatientReplay; stay: StayReplay; stayIndex: number }[] = [];
  for (const patient of chosen) {
    patient.stays.forEach((stay, stayIndex) => {
      const decided = patient.decisions.some((d) => d.atMs >= stay.startMs && d.atMs <= stay.endMs);
      if (decided || stay.events.length > 0) out.push({ patient, stay, stayIndex });
    });
  }
  return out.slice(0, maxPlots);
}

export async function writeReport(
  outDir: string,
  run: RunDescription,
  patients: readonly PatientReplay[],
  options: { stepMs: number; topAlerted?: number; maxPlots?: number },
): Promise<Report> {
  mkdirSync(join(outDir, 'plots'), { recursive: true });
  writeFileSync(join(outDir, PATIENTS_FILE), patients.map((p) => JSON.stringify(p)).join('\n') + '\n');
  writeFileSync(join(outDir, RUN_FILE), `${JSON.stringify(run, null, 2)}\n`);
  const cohort = cohortReport(patients, run.events);
  const plots: PlotRef[] = [];
  for (const { patient, stay, stayIndex } of plotSelection(
    patients,
    options.topAlerted ?? 20,
    options.maxPlots ?? 60,
  )) {
    const title = `patient ${patient.patientKey}, stay ${String(stayIndex + 1)} (${new Date(stay.startMs).toISOString().slice(0, 16)}Z, ${((stay.endMs - stay.startMs) / 86_400_000).toFixed(1)} days)`;
    const svg = await renderSvg(timelineSpec(patient, stay, options.stepMs, title));
    const file = `plots/${patient.patientKey}-${String(stayIndex + 1)}.svg`;
    writeFileSync(join(outDir, file), svg);
    plots.push({ patientKey: patient.patientKey, stayIndex, file, svg, title });
  }
  const report: Report = {
    run,
    cohort,
    patients: patients.map(summarise),
    plots: plots.map(({ patientKey, stayIndex, file }) => ({ patientKey, stayIndex, file })),
  };
  writeFileSync(join(outDir, 'report.json'), `${JSON.stringify(report, null, 2)}\n`);
  writeFileSync(join(outDir, 'report.md'), renderMarkdown(report));
  writeFileSync(join(outDir, 'report.html'), renderHtml(report, plots));
  return report;
}

/** Reads back a replay output folder (a shard's) for merging. */
export function readRunFolder(dir: string): { run: RunDescription; patients: PatientReplay[] } {
  const run = JSON.parse(readFileSync(join(dir, RUN_FILE), 'utf8')) as RunDescription;
  const patients = readFileSync(join(dir, PATIENTS_FILE), 'utf8')
    .split('\n')
    .filter((l) => l !== '')
    .map((l) => JSON.parse(l) as PatientReplay);
  return { run, patients };
}
