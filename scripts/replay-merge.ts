/**
 * `npm run replay-merge -- <shard output dir> <shard output dir> ... --out <dir>`: one report from
 * the shards of `npm run replay -- --shard i/N` (each a deterministic slice of the patients), as
 * if the whole export had been replayed in one run.
 */
import { parseArgs } from 'node:util';
import { oneLine } from '../src/config/startup.js';
import { parseDuration } from '../src/replay/replay-steps.js';
import { readRunFolder, writeReport } from '../src/replay/report/write-report.js';
import { mergeRuns } from '../src/replay/merge-runs.js';

try {
  const { values, positionals } = parseArgs({
    options: { out: { type: 'string' }, 'max-plots': { type: 'string' }, help: { type: 'boolean' } },
    allowPositionals: true,
    strict: true,
  });
  if (values.help) {
    process.stdout.write(
      'usage: npm run replay-merge -- <shard dir> [<shard dir> ...] --out <dir> [--max-plots 60]\n',
    );
    process.exit(0);
  }
  if (positionals.length === 0) throw new Error('give the output folders of the shards to merge');
  if (values.out === undefined) throw new Error('--out <dir> is required');
  const { run, patients } = mergeRuns(positionals.map((dir) => readRunFolder(dir)));
  const maxPlots = values['max-plots'] === undefined ? 60 : Number(values['max-plots']);
  if (!Number.isInteger(maxPlots) || maxPlots < 0) throw new Error('--max-plots: expected a whole number');
  await writeReport(values.out, run, patients, { stepMs: parseDuration(run.step) ?? 3_600_000, maxPlots });
  process.stdout.write(
    `replay-merge: ${String(positionals.length)} shards, ${String(patients.length)} patients; report in ${values.out}\n`,
  );
} catch (error) {
  const message = error instanceof Error ? error.message : String(error);
  process.stderr.write(`replay-merge: ${oneLine(message)} (--help for usage)\n`);
  process.exit(2);
}
