/**
 * Merges the outputs of shards (`--shard i/N`) into one run: patients are concatenated and sorted
 * by pseudonym, exactly as one run sorts them; the export-wide facts (files, malformed lines,
 * patient-less resources) are the same in every shard (each reads the whole export) and are taken
 * once. Shards of different exports or settings are refused.
 */
import type { PatientReplay } from './replay-patient.js';
import type { RunDescription } from './report/write-report.js';

export function mergeRuns(runs: readonly { run: RunDescription; patients: PatientReplay[] }[]): {
  run: RunDescription;
  patients: PatientReplay[];
} {
  const first = runs[0];
  if (!first) throw new Error('no shard to merge');
  const same = (r: RunDescription) =>
    JSON.stringify([
      r.export,
      r.step,
      r.from,
      r.to,
      r.encounterClasses,
      r.eventWindow,
      r.governance,
      r.events,
    ]);
  for (const { run } of runs)
    if (same(run) !== same(first.run))
      throw new Error('the shards were not made from the same export and settings');
  const shards = runs.flatMap((r) => r.run.shards);
  if (new Set(shards).size !== shards.length) throw new Error(`a shard is given twice: ${shards.join(', ')}`);
  const patients = runs
    .flatMap((r) => r.patients)
    .sort((a, b) => (a.patientKey < b.patientKey ? -1 : a.patientKey > b.patientKey ? 1 : 0));
  const routed = runs.reduce((n, r) => n + r.run.split.routed, 0);
  return { run: { ...first.run, split: { ...first.run.split, routed }, shards }, patients };
}
