/**
 * The replay of a bulk export, end to end (the I/O around the pure per-patient replay): split the
 * export per patient (split-export.ts), replay the patients one at a time, in this thread or in
 * `workers` worker threads, and return the per-patient results sorted by pseudonym.
 */
import { mkdtempSync, readFileSync, readdirSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Worker } from 'node:worker_threads';
import { loadCardTemplates } from '../cards/load-card-templates.js';
import { resolveRuleConfig } from '../rules/crs-sentinel/rule-config.js';
import { resolvePolicyConfig } from '../governance/policy-config.js';
import { assumeAcknowledgement, showEveryCard } from './governance-step.js';
import { buildTimeline } from './patient-timeline.js';
import type { ReferenceEventDefinition } from './reference-events.js';
import { replayPatient, type PatientReplay, type ReplayOptions } from './replay-patient.js';
import {
  PATIENTS_DIR,
  SHARED_FILE,
  patientOf,
  splitExport,
  type Shard,
  type SplitSummary,
} from './split-export.js';

/** Everything a replay needs, serialisable (sent to worker threads as is). */
export interface ReplaySettings {
  stepMs: number;
  fromMs?: number;
  toMs?: number;
  encounterClasses?: string[];
  eventWindowMs: number;
  events: ReferenceEventDefinition[];
  plotSeries: boolean;
  cardsDir: string;
  /** Simulated acknowledgement delay: the service's governance policy runs (else none). */
  assumeAckMs?: number;
  /** Parsed GOVERNANCE_CONFIG JSON (the policy's quiet periods), with assumeAckMs. */
  governanceConfig?: unknown;
  /** Parsed RULES_CONFIG and SITE_CODES JSON (as the service reads them). */
  ruleOverrides?: unknown;
  siteCodes?: unknown;
}

export interface ReplayRun {
  split: SplitSummary;
  shard?: Shard;
  patients: PatientReplay[];
}

export function replayOptions(settings: ReplaySettings): ReplayOptions {
  return {
    stepMs: settings.stepMs,
    ...(settings.fromMs !== undefined && { fromMs: settings.fromMs }),
    ...(settings.toMs !== undefined && { toMs: settings.toMs }),
    ...(settings.encounterClasses !== undefined && { encounterClasses: settings.encounterClasses }),
    rules: resolveRuleConfig(settings.ruleOverrides ?? {}, settings.siteCodes),
    templates: loadCardTemplates(settings.cardsDir),
    events: settings.events,
    policy:
      settings.assumeAckMs === undefined
        ? showEveryCard
        : assumeAcknowledgement(settings.assumeAckMs, resolvePolicyConfig(settings.governanceConfig)),
    eventWindowMs: settings.eventWindowMs,
    plotSeries: settings.plotSeries,
  };
}

/** The resources of an ndjson file written by the split (none when it does not exist). */
export function readLines(path: string): unknown[] {
  let text: string;
  try {
    text = readFileSync(path, 'utf8');
  } catch {
    return [];
  }
  return text
    .split('\n')
    .filter((l) => l !== '')
    .map((l) => JSON.parse(l) as unknown);
}

/** Replays one patient file of a split (plus the export's shared resources). */
export function replayPatientFile(
  path: string,
  shared: readonly unknown[],
  options: ReplayOptions,
): PatientReplay {
  const resources = readLines(path);
  const id = resources.map((r) => patientOf(r as Record<string, unknown>)).find((x) => x !== undefined) ?? '';
  const key = path.replace(/^.*[\\/]/, '').replace(/\.ndjson$/, '');
  return replayPatient(buildTimeline(id, [...shared, ...resources]), key, options);
}

export interface RunOptions {
  ndjson: string;
  settings: ReplaySettings;
  workers?: number;
  shard?: Shard;
  /** Where the per-patient split goes (default: a new temporary folder, removed afterwards). */
  workDir?: string;
}

export async function runReplay(options: RunOptions): Promise<ReplayRun> {
  const workDir = options.workDir ?? mkdtempSync(join(tmpdir(), 'crs-replay-'));
  try {
    const split = await splitExport(options.ndjson, workDir, options.shard ? { shard: options.shard } : {});
    const dir = join(workDir, PATIENTS_DIR);
    const files = readdirSync(dir)
      .sort()
      .map((f) => join(dir, f));
    const sharedPath = join(workDir, SHARED_FILE);
    const workers = Math.max(1, Math.min(options.workers ?? 1, files.length));
    const patients =
      workers <= 1
        ? inThisThread(files, sharedPath, options.settings)
        : await inWorkers(files, sharedPath, options.settings, workers);
    patients.sort((a, b) => (a.patientKey < b.patientKey ? -1 : a.patientKey > b.patientKey ? 1 : 0));
    return { split, ...(options.shard && { shard: options.shard }), patients };
  } finally {
    if (options.workDir === undefined) rmSync(workDir, { recursive: true, force: true });
  }
}

function inThisThread(
  files: readonly string[],
  sharedPath: string,
  settings: ReplaySettings,
): PatientReplay[] {
  const options = replayOptions(settings);
  const shared = readLines(sharedPath);
  return files.map((f) => replayPatientFile(f, shared, options));
}

export interface WorkerRequest {
  files: string[];
  sharedPath: string;
  settings: ReplaySettings;
}

/** Files dealt round-robin to `count` worker threads (replay-worker.ts), results gathered. */
async function inWorkers(
  files: readonly string[],
  sharedPath: string,
  settings: ReplaySettings,
  count: number,
): Promise<PatientReplay[]> {
  const url = new URL('./replay-worker.js', import.meta.url);
  const slices = Array.from({ length: count }, (_, i) => files.filter((_, j) => j % count === i));
  const results = await Promise.all(
    slices.map(
      (slice) =>
        new Promise<PatientReplay[]>((resolve, reject) => {
          const request: WorkerRequest = { files: slice, sharedPath, settings };
          const worker = new Worker(url, { workerData: request });
          worker.once('message', (m: PatientReplay[]) => resolve(m));
          worker.once('error', reject);
          worker.once('exit', (code) => {
            if (code !== 0) reject(new Error(`replay worker stopped with exit code ${String(code)}`));
          });
        }),
    ),
  );
  return results.flat();
}
