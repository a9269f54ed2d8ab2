/**
 * `npm run replay -- --ndjson <folder> [--from <date>] [--to <date>] [--step 1h] [--out <dir>]
 * [--workers N] [--shard i/N] [--encounter-class ACUTE] [--site-codes <file>] [--rules <file>]
 * [--events <file>] [--event-window 24h] [--assume-ack <duration> [--governance <file>]]
 * [--max-plots 60] [--no-plots]`: what crs-sentinel would
 * have said, step by step, on a FHIR bulk export (docs/replay.md). Bad flags: one line, exit 2.
 */
import { fileURLToPath } from 'node:url';
import { oneLine } from '../src/config/startup.js';
import { ReplayArgumentError, parseReplayFlags } from '../src/replay/replay-arguments.js';
import { writeReport } from '../src/replay/report/write-report.js';
import { runReplay } from '../src/replay/run-replay.js';
import { parseFlags } from './cli.js';

const USAGE =
  'usage: npm run replay -- --ndjson <folder> [--from <date>] [--to <date>] [--step 1h] [--out <dir>]\n' +
  '         [--workers N] [--shard i/N] [--encounter-class <code,...>] [--site-codes <file>] [--rules <file>]\n' +
  '         [--events <file>] [--event-window 24h] [--assume-ack <duration> [--governance <file>]]\n' +
  '         [--max-plots 60] [--no-plots]\n';

const flags = parseFlags('replay', {
  ndjson: { type: 'string' },
  from: { type: 'string' },
  to: { type: 'string' },
  step: { type: 'string' },
  out: { type: 'string' },
  workers: { type: 'string' },
  shard: { type: 'string' },
  'encounter-class': { type: 'string' },
  'site-codes': { type: 'string' },
  rules: { type: 'string' },
  events: { type: 'string' },
  'event-window': { type: 'string' },
  'assume-ack': { type: 'string' },
  governance: { type: 'string' },
  'max-plots': { type: 'string' },
  'no-plots': { type: 'boolean' },
  help: { type: 'boolean', default: false },
});

if (flags.help) {
  process.stdout.write(USAGE);
  process.exit(0);
}

// The card templates the service uses: CARDS_DIR as for the service, else the package's cards/.
const cardsDir = process.env.CARDS_DIR ?? fileURLToPath(new URL('../../cards', import.meta.url));

try {
  const command = parseReplayFlags(flags, cardsDir);
  const started = performance.now();
  const run = await runReplay({
    ndjson: command.ndjson,
    settings: command.settings,
    workers: command.workers,
    ...(command.shard && { shard: command.shard }),
  });
  const report = await writeReport(
    command.out,
    {
      export: command.ndjson,
      step: command.labels.step,
      ...(command.labels.from !== undefined && { from: command.labels.from }),
      ...(command.labels.to !== undefined && { to: command.labels.to }),
      ...(command.settings.encounterClasses && { encounterClasses: command.settings.encounterClasses }),
      eventWindow: command.labels.eventWindow,
      governance: command.labels.governance,
      events: command.settings.events,
      split: run.split,
      shards: [command.shard ? `${String(command.shard.index)}/${String(command.shard.count)}` : 'all'],
    },
    run.patients,
    { stepMs: command.settings.stepMs, maxPlots: command.maxPlots },
  );
  const c = report.cohort;
  process.stdout.write(
    `replay: ${String(c.patients)} patients, ${String(c.stays)} stays, ${String(c.patientDays)} patient-days, ` +
      `${String(c.steps)} steps in ${((performance.now() - started) / 1000).toFixed(1)} s; ` +
      `${String(c.alertEpisodes.perPatientDay.raw)} alert episodes per patient-day; ` +
      `${String(run.split.malformed.count)} malformed lines; report in ${command.out}\n`,
  );
} catch (error) {
  const message = error instanceof Error ? error.message : String(error);
  process.stderr.write(
    `replay: ${oneLine(message)}${error instanceof ReplayArgumentError ? ' (--help for usage)' : ''}\n`,
  );
  process.exit(error instanceof ReplayArgumentError ? 2 : 1);
}
