/**
 * ledger-report: summarises the card ledger for a period (issue 11): would-be and shown cards per
 * patient-day by indicator and grade, suppressed counts, feedback outcomes and reasons, and time
 * from first card to escalation. Reads the store the service uses (DATABASE_URL, else the
 * embedded SQLite file in DATA_DIR). No PHI is printed: patients are counted, never named.
 *
 *   npm run ledger-report -- --from 2025-01-01 --to 2025-02-01 [--json]
 */
import { pathToFileURL } from 'node:url';
import { ConfigError, loadConfig } from '../src/config/load-config.js';
import { runMain } from '../src/config/startup.js';
import { buildLedgerReport, formatLedgerReport } from '../src/governance/ledger-report.js';
import { openStores } from '../src/storage/open-stores.js';
import { parseFlags } from './cli.js';

const USAGE =
  'usage: npm run ledger-report -- --from <date> --to <date> [--json]  (dates ISO 8601, to is exclusive)';

function parseDate(value: string | undefined, flag: string): Date {
  const date = value === undefined ? undefined : new Date(value);
  if (date === undefined || Number.isNaN(date.getTime()))
    throw new ConfigError(`--${flag}: expected an ISO 8601 date: ${USAGE}`);
  return date;
}

async function main(): Promise<void> {
  const flags = parseFlags('ledger-report', {
    from: { type: 'string' },
    to: { type: 'string' },
    json: { type: 'boolean' },
    help: { type: 'boolean' },
  });
  if (flags.help === true) {
    process.stdout.write(`${USAGE}\n`);
    return;
  }
  const from = parseDate(flags.from, 'from');
  const to = parseDate(flags.to, 'to');
  const config = loadConfig({ ...process.env, REDIS_URL: undefined });
  const stores = await openStores(config);
  try {
    const [entries, feedback] = await Promise.all([
      stores.governance.decisionsBetween(from, to),
      stores.governance.feedbackBetween(from, to),
    ]);
    const report = buildLedgerReport(entries, feedback, from, to);
    process.stdout.write(
      flags.json === true ? `${JSON.stringify(report, null, 2)}\n` : formatLedgerReport(report),
    );
  } finally {
    await stores.close();
  }
}

if (process.argv[1] !== undefined && import.meta.url === pathToFileURL(process.argv[1]).href) {
  void runMain('ledger-report', main);
}
