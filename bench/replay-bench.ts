/**
 * `npm run bench:replay [-- --ndjson <folder>]` (issue 12): the whole MIMIC-IV demo ICU cohort
 * (../shared/data/mimic-iv-demo-icu by default) replayed at 1-hour steps on one thread, then the
 * same cohort copied 4 times with new ids (written to a temporary folder), to show the per-step
 * cost stays flat as the cohort grows. Each replay runs in its own child process so its peak RSS
 * is its own. Prints wall time, CPU time, peak RSS, steps and cost per step. Goal (issue 12):
 * under 30 s and 400 MB for the cohort on one core.
 */
import { execFileSync } from 'node:child_process';
import { createReadStream, createWriteStream, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createInterface } from 'node:readline';
import { fileURLToPath } from 'node:url';
import { createGunzip } from 'node:zlib';
import { DEFAULT_REFERENCE_EVENTS } from '../src/replay/reference-events.js';
import { runReplay } from '../src/replay/run-replay.js';
import { exportFiles } from '../src/replay/split-export.js';

const ROOT = fileURLToPath(new URL('../..', import.meta.url));
const UUID = /[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}/g;

interface Figures {
  steps: number;
  patients: number;
  patientDays: number;
  wallS: number;
  cpuS: number;
  peakRssMb: number;
}

/** Child mode: one replay, figures as JSON on stdout. */
async function measure(folder: string): Promise<void> {
  const started = performance.now();
  const run = await runReplay({
    ndjson: folder,
    settings: {
      stepMs: 3_600_000,
      eventWindowMs: 24 * 3_600_000,
      events: [...DEFAULT_REFERENCE_EVENTS],
      plotSeries: false,
      cardsDir: join(ROOT, 'cards'),
      siteCodes: JSON.parse(readFileSync(join(ROOT, 'config/site-codes/mimic-iv-demo.json'), 'utf8')),
    },
  });
  const usage = process.resourceUsage();
  const figures: Figures = {
    steps: run.patients.reduce((n, p) => n + p.steps, 0),
    patients: run.patients.length,
    patientDays: run.patients.reduce((n, p) => n + p.patientDays, 0),
    wallS: (performance.now() - started) / 1000,
    cpuS: (usage.userCPUTime + usage.systemCPUTime) / 1e6,
    peakRssMb: usage.maxRSS / 1024,
  };
  process.stdout.write(JSON.stringify(figures));
}

/** The export copied `copies` times, every uuid (ids and references) made new per copy. */
async function copied(folder: string, copies: number): Promise<string> {
  const out = mkdtempSync(join(tmpdir(), 'crs-replay-bench-'));
  for (const file of exportFiles(folder)) {
    const target = createWriteStream(join(out, file.replace(/\.gz$/, '')));
    for (let c = 0; c < copies; c++) {
      const raw = createReadStream(join(folder, file));
      const lines = createInterface({ input: file.endsWith('.gz') ? raw.pipe(createGunzip()) : raw });
      for await (const line of lines) {
        const renamed = c === 0 ? line : line.replace(UUID, (u) => `c${String(c)}-${u}`);
        if (!target.write(`${renamed}\n`)) await new Promise<void>((r) => target.once('drain', () => r()));
      }
    }
    await new Promise<void>((r) => target.end(() => r()));
  }
  return out;
}

function child(folder: string): Figures {
  const stdout = execFileSync(process.execPath, [fileURLToPath(import.meta.url), '--one', folder], {
    encoding: 'utf8',
    maxBuffer: 1024 * 1024,
  });
  return JSON.parse(stdout) as Figures;
}

function row(label: string, f: Figures): string {
  const perStepMs = ((f.cpuS * 1000) / f.steps).toFixed(2);
  return `| ${label} | ${String(f.patients)} | ${f.patientDays.toFixed(0)} | ${String(f.steps)} | ${f.wallS.toFixed(1)} | ${f.cpuS.toFixed(1)} | ${perStepMs} | ${f.peakRssMb.toFixed(0)} |`;
}

async function main(): Promise<void> {
  const args = process.argv.slice(2);
  if (args[0] === '--one' && args[1]) return measure(args[1]);
  const folder = args[0] === '--ndjson' && args[1] ? args[1] : join(ROOT, '../shared/data/mimic-iv-demo-icu');
  try {
    exportFiles(folder);
  } catch {
    process.stderr.write(`bench:replay: no bulk export at ${folder} (--ndjson <folder>)\n`);
    process.exit(2);
  }
  const lines = [
    '| cohort | patients | patient-days | steps | wall s | CPU s | CPU ms/step | peak RSS MB |',
    '| --- | ---: | ---: | ---: | ---: | ---: | ---: | ---: |',
    row('as exported', child(folder)),
  ];
  process.stdout.write(`${lines.join('\n')}\n`);
  const four = await copied(folder, 4);
  try {
    process.stdout.write(`${row('copied 4x, new ids', child(four))}\n`);
  } finally {
    rmSync(four, { recursive: true, force: true });
  }
}

await main();
