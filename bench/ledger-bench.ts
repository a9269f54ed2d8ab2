/**
 * Card ledger cost per hook call (issue 11, "Cost"), the embedded store (SQLite in a temporary
 * DATA_DIR) against PostgreSQL (TEST_DATABASE_URL or 127.0.0.1:5432/test, a schema of its own,
 * dropped after), at one connection: what governance adds to one patient-view call, i.e. reading
 * the patient's history and writing one decision, and the two separately. Prints a table; timed
 * here, never in tests.
 *
 *   npm run bench:ledger            (BENCH_QUICK=1 for fewer calls)
 */
import { randomBytes, randomUUID } from 'node:crypto';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import type { CardDecision } from '../src/governance/card-ledger.js';
import type { GovernanceStore } from '../src/storage/governance-store.js';
import { openPostgresStore } from '../src/storage/postgres-store.js';
import { openSqliteStore } from '../src/storage/sqlite-store.js';

const CALLS = process.env.BENCH_QUICK === '1' ? 300 : 3000;
const PATIENTS = 200;
const DATABASE_URL = process.env.TEST_DATABASE_URL ?? 'postgres://postgres@127.0.0.1:5432/test';

function decision(patient: number, at: Date): CardDecision {
  return {
    cardUuid: randomUUID(),
    suggestionUuids: [randomUUID(), randomUUID()],
    serviceId: 'crs-sentinel',
    patientKey: `bench-patient-${patient}`,
    hookInstance: randomUUID(),
    ehrIssuer: 'https://ehr.bench.example',
    kind: 'crs',
    grade: 2,
    context: 'car-t',
    indicator: 'critical',
    fingerprint: { domains: ['fever', 'hypotension'], agents: [] },
    decidedAt: at.toISOString(),
    disposition: 'shown',
  };
}

const ms = (start: bigint) => Number(process.hrtime.bigint() - start) / 1e6;
const pct = (sorted: number[], p: number) =>
  sorted[Math.min(sorted.length - 1, Math.floor((p / 100) * sorted.length))] ?? NaN;

async function measure(name: string, store: GovernanceStore): Promise<string> {
  const read: number[] = [];
  const write: number[] = [];
  const both: number[] = [];
  const since = new Date(Date.now() - 30 * 24 * 3_600_000);
  for (let i = 0; i < CALLS; i++) {
    const patient = i % PATIENTS;
    const t0 = process.hrtime.bigint();
    await store.patientHistory('crs-sentinel', `bench-patient-${patient}`, since);
    const t1 = process.hrtime.bigint();
    await store.record([decision(patient, new Date())]);
    write.push(ms(t1));
    read.push(Number(t1 - t0) / 1e6);
    both.push(ms(t0));
  }
  const row = (label: string, values: number[]) => {
    const s = [...values].sort((a, b) => a - b);
    return `| ${name} | ${label} | ${pct(s, 50).toFixed(3)} | ${pct(s, 95).toFixed(3)} | ${pct(s, 99).toFixed(3)} |`;
  };
  return [
    row('read history + write decision (per hook)', both),
    row('read history', read),
    row('write decision', write),
  ].join('\n');
}

async function main(): Promise<void> {
  const rssBefore = process.memoryUsage.rss();
  const dir = mkdtempSync(path.join(tmpdir(), 'crs-ledger-bench-'));
  const openStart = process.hrtime.bigint();
  const sqlite = openSqliteStore(path.join(dir, 'crs-sentinel.sqlite'));
  const sqliteOpenMs = ms(openStart);
  const rssSqlite = process.memoryUsage.rss() - rssBefore;
  const lines = [
    `Card ledger per hook call, ${CALLS} calls over ${PATIENTS} patients, 1 connection (ms)`,
    '',
    '| store | operation | p50 | p95 | p99 |',
    '| ----- | --------- | --- | --- | --- |',
  ];
  lines.push(await measure('SQLite (embedded)', sqlite));
  await sqlite.close();
  rmSync(dir, { recursive: true, force: true });
  const schema = `crs_bench_${randomBytes(4).toString('hex')}`;
  let pgNote = '';
  try {
    const pgStart = process.hrtime.bigint();
    const postgres = await openPostgresStore({ url: DATABASE_URL, schema, maxConnections: 1 });
    pgNote = `PostgreSQL open + migrate ${ms(pgStart).toFixed(1)} ms`;
    try {
      lines.push(await measure('PostgreSQL', postgres));
    } finally {
      await postgres.close();
      const { default: pg } = await import('pg');
      const client = new pg.Client({ connectionString: DATABASE_URL });
      await client.connect();
      await client.query(`DROP SCHEMA IF EXISTS ${schema} CASCADE`);
      await client.end();
    }
  } catch (error) {
    pgNote = `PostgreSQL not measured: ${error instanceof Error ? error.message : String(error)}`;
  }
  lines.push(
    '',
    `SQLite open + migrate ${sqliteOpenMs.toFixed(1)} ms, RSS added by opening it ${(rssSqlite / 1024 ** 2).toFixed(1)} MB; ${pgNote}`,
  );
  process.stdout.write(`${lines.join('\n')}\n`);
}

await main();
