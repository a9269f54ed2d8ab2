/**
 * Splits a FHIR Bulk Data export (one or more `<Type>*.ndjson` or `.ndjson.gz` files) into one
 * temporary ndjson file per patient, without holding the export in memory: each file is streamed
 * line by line, each resource routed by its patient (`Patient.id`, else `subject` or `patient`
 * reference `Patient/<id>`) into a write buffer that is flushed (appended to the patients' files)
 * whenever it exceeds `bufferBytes`. Memory is that buffer plus one line, whatever the export's
 * size; the replay then reads one patient at a time (memory grows with the largest patient).
 *
 * Why files and not an embedded store (docs/replay.md has the figures): the replay reads each
 * patient once, whole and in order, so a store's indexes buy nothing; appending to files needs no
 * dependency and streams at disk speed.
 *
 * A line that is not JSON or not a resource is reported with its file and line number and
 * skipped, never fatal. Resources without a patient (Medication) go to a shared file every
 * patient gets; other patient-less resources are counted.
 */
import { createHash } from 'node:crypto';
import { appendFileSync, createReadStream, mkdirSync, readdirSync } from 'node:fs';
import { join } from 'node:path';
import { createInterface } from 'node:readline';
import { createGunzip } from 'node:zlib';

export const SHARED_FILE = 'shared.ndjson';
export const PATIENTS_DIR = 'patients';
const NDJSON_FILE = /\.ndjson(\.gz)?$/;
/** Resource types shared by all patients of an export (referenced, not owning a subject). */
const SHARED_TYPES = new Set(['Medication']);
const MAX_LISTED_PROBLEMS = 50;

export interface Shard {
  /** 1-based slice number, as in `--shard 2/8`. */
  index: number;
  count: number;
}

export interface LineProblem {
  file: string;
  line: number;
  problem: string;
}

export interface SplitSummary {
  files: string[];
  lines: number;
  resources: number;
  /** Resources routed to this shard's patients. */
  routed: number;
  /** Lines that could not be read, the first MAX_LISTED_PROBLEMS listed. */
  malformed: { count: number; first: LineProblem[] };
  /** Resources with no patient, by type (not Medication). */
  noPatient: Record<string, number>;
}

/** The 1-based shard of a patient: deterministic, the same on every machine. */
export function shardOf(patientId: string, count: number): number {
  return (createHash('sha256').update(patientId).digest().readUInt32BE(0) % count) + 1;
}

/** Pseudonym and file name of a patient: no id in file names, reports or logs. */
export function patientKey(patientId: string): string {
  return createHash('sha256').update(`crs-sentinel-replay|${patientId}`).digest('hex').slice(0, 16);
}

const PATIENT_REF = /(?:^|\/)Patient\/([^/]+)(?:\/_history\/[^/]+)?$/;

/** The patient a resource belongs to, or undefined. */
export function patientOf(resource: Record<string, unknown>): string | undefined {
  if (resource.resourceType === 'Patient') return typeof resource.id === 'string' ? resource.id : undefined;
  for (const field of ['subject', 'patient']) {
    const ref = (resource[field] as { reference?: unknown } | undefined)?.reference;
    if (typeof ref === 'string') return PATIENT_REF.exec(ref)?.[1];
  }
  return undefined;
}

/** The ndjson files of an export folder, sorted by name (throws when there is none). */
export function exportFiles(folder: string): string[] {
  const files = readdirSync(folder)
    .filter((f) => NDJSON_FILE.test(f))
    .sort();
  if (files.length === 0) throw new Error(`no .ndjson or .ndjson.gz file in ${folder}`);
  return files;
}

class PatientWriter {
  private buffers = new Map<string, string[]>();
  private bytes = 0;
  constructor(
    private readonly dir: string,
    private readonly bufferBytes: number,
  ) {}
  add(fileName: string, line: string): void {
    let list = this.buffers.get(fileName);
    if (!list) this.buffers.set(fileName, (list = []));
    list.push(line);
    this.bytes += line.length + 1;
    if (this.bytes >= this.bufferBytes) this.flush();
  }
  flush(): void {
    for (const [fileName, lines] of this.buffers)
      appendFileSync(join(this.dir, fileName), `${lines.join('\n')}\n`);
    this.buffers.clear();
    this.bytes = 0;
  }
}

export async function splitExport(
  folder: string,
  workDir: string,
  options: { shard?: Shard; bufferBytes?: number } = {},
): Promise<SplitSummary> {
  const files = exportFiles(folder);
  mkdirSync(join(workDir, PATIENTS_DIR), { recursive: true });
  const patients = new PatientWriter(join(workDir, PATIENTS_DIR), options.bufferBytes ?? 16 * 1024 * 1024);
  const shared = new PatientWriter(workDir, 1024 * 1024);
  const summary: SplitSummary = {
    files,
    lines: 0,
    resources: 0,
    routed: 0,
    malformed: { count: 0, first: [] },
    noPatient: {},
  };
  const problem = (file: string, line: number, text: string) => {
    summary.malformed.count++;
    if (summary.malformed.first.length < MAX_LISTED_PROBLEMS)
      summary.malformed.first.push({ file, line, problem: text });
  };
  for (const file of files) {
    const path = join(folder, file);
    const raw = createReadStream(path);
    const input = file.endsWith('.gz') ? raw.pipe(createGunzip()) : raw;
    const lines = createInterface({ input, crlfDelay: Number.POSITIVE_INFINITY });
    let n = 0;
    try {
      for await (const text of lines) {
        n++;
        summary.lines++;
        const line = text.trim();
        if (line === '') continue;
        const resource = parseResource(line);
        if (typeof resource === 'string') {
          problem(file, n, resource);
          continue;
        }
        summary.resources++;
        const id = patientOf(resource);
        if (id === undefined) {
          const type = resource.resourceType as string;
          if (SHARED_TYPES.has(type)) shared.add(SHARED_FILE, line);
          else summary.noPatient[type] = (summary.noPatient[type] ?? 0) + 1;
          continue;
        }
        if (options.shard && shardOf(id, options.shard.count) !== options.shard.index) continue;
        summary.routed++;
        patients.add(`${patientKey(id)}.ndjson`, line);
      }
    } catch (error) {
      // A truncated or corrupt gzip stream: the lines read so far count, the rest is reported.
      problem(file, n + 1, `cannot read on: ${error instanceof Error ? error.message : String(error)}`);
    }
  }
  patients.flush();
  shared.flush();
  return summary;
}

/** The resource on a line, or a short description of why it is none. */
function parseResource(line: string): Record<string, unknown> | string {
  let value: unknown;
  try {
    value = JSON.parse(line);
  } catch {
    return 'not JSON';
  }
  if (typeof value !== 'object' || value === null || Array.isArray(value)) return 'not a JSON object';
  const type = (value as Record<string, unknown>).resourceType;
  if (typeof type !== 'string' || !/^[A-Z][A-Za-z]+$/.test(type)) return 'no resourceType';
  return value as Record<string, unknown>;
}
