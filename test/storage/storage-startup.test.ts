/**
 * Storage at start-up (issue 11): an unreachable PostgreSQL or Redis is one line naming the
 * variable, without the password, and exit 1; the embedded store imports an older feedback.jsonl
 * once; the real servers are used when configured.
 */
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import pg from 'pg';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { runMain } from '../../src/config/startup.js';
import { startFromEnvironment } from '../../src/server.js';
import { openSqliteStore, SQLITE_FILE } from '../../src/storage/sqlite-store.js';
import { TEST_DATABASE_URL, TEST_REDIS_URL, shouldRunAgainst, uniqueName } from '../support/test-servers.js';

const runServers = (await shouldRunAgainst('postgres')) && (await shouldRunAgainst('redis'));
let tmp: string;

beforeAll(() => {
  tmp = mkdtempSync(path.join(tmpdir(), 'crs-storage-start-'));
});
afterAll(() => {
  rmSync(tmp, { recursive: true, force: true });
});

async function start(env: Record<string, string>): Promise<{ stderr: string; exitCode: number | undefined }> {
  let stderr = '';
  let exitCode: number | undefined;
  const full = { PORT: '0', LOG_LEVEL: 'silent', CDS_AUTH: 'off', DATA_DIR: path.join(tmp, 'data'), ...env };
  await runMain(
    'crs-sentinel',
    async () => {
      const { service } = await startFromEnvironment(full);
      await service.stop();
    },
    { stderr: { write: (text: string) => (stderr += text) }, exit: (code) => (exitCode = code) },
  );
  return { stderr, exitCode };
}

function expectOneLine(result: { stderr: string; exitCode: number | undefined }, pattern: RegExp) {
  expect(result.exitCode).toBe(1);
  expect(result.stderr.trimEnd().split('\n')).toHaveLength(1);
  expect(result.stderr).not.toMatch(/^\s+at /m);
  expect(result.stderr).toMatch(pattern);
  expect(result.stderr).not.toContain('s3cret');
}

describe('storage at start-up', () => {
  it.each([
    [
      'an unreachable PostgreSQL',
      { DATABASE_URL: 'postgres://crs:s3cret@127.0.0.1:1/test' },
      /^crs-sentinel: configuration error: DATABASE_URL: cannot use PostgreSQL at 127\.0\.0\.1:1\/test \(ECONNREFUSED/,
    ],
    [
      'an unreachable Redis',
      { REDIS_URL: 'redis://:s3cret@127.0.0.1:1' },
      /^crs-sentinel: configuration error: REDIS_URL: cannot connect to Redis at 127\.0\.0\.1:1 \(ECONNREFUSED/,
    ],
    [
      'a DATABASE_URL that is not PostgreSQL',
      { DATABASE_URL: 'mysql://crs:s3cret@db/x' },
      /DATABASE_URL: .*set DATABASE_URL to postgres:\/\//,
    ],
    [
      'a REDIS_URL that is not Redis',
      { REDIS_URL: 'http://s3cret@cache' },
      /REDIS_URL: .*set REDIS_URL to redis:\/\//,
    ],
    [
      'a bad DATABASE_SCHEMA',
      { DATABASE_SCHEMA: 'Robert"; DROP' },
      /DATABASE_SCHEMA: a plain lower-case identifier/,
    ],
  ])('%s is one line, exit 1, no password', async (_name, env, pattern) => {
    expectOneLine(await start(env), pattern);
  });

  it('imports DATA_DIR/feedback.jsonl into the embedded store once, across restarts', async () => {
    const dataDir = path.join(tmp, 'legacy');
    const line = (card: string) =>
      JSON.stringify({
        serviceId: 'crs-sentinel',
        card,
        outcome: 'overridden',
        overrideReason: { code: 'already-managed' },
        outcomeTimestamp: '2025-01-15T12:00:00.000Z',
        receivedAt: '2025-01-15T12:00:01.000Z',
      });
    const a = '00000000-0000-4000-8000-00000000000a';
    // The same record twice is two records (two posts), and a broken line is left, not guessed at.
    rmSync(dataDir, { recursive: true, force: true });
    await start({ DATA_DIR: dataDir }); // creates the folder
    writeFileSync(path.join(dataDir, 'feedback.jsonl'), `${line(a)}\n${line(a)}\n{"broken"\n`);
    expect(await start({ DATA_DIR: dataDir })).toEqual({ stderr: '', exitCode: undefined });
    expect(await start({ DATA_DIR: dataDir })).toEqual({ stderr: '', exitCode: undefined });
    const store = openSqliteStore(path.join(dataDir, SQLITE_FILE));
    const all = await store.feedbackBetween(
      new Date('2025-01-01T00:00:00Z'),
      new Date('2025-02-01T00:00:00Z'),
    );
    await store.close();
    expect(all).toHaveLength(2);
    expect(all[0]).toMatchObject({ card: a, overrideReason: { code: 'already-managed' }, unknownCard: true });
  });

  it.runIf(runServers)('starts on real PostgreSQL and Redis, creating its schema', async () => {
    const schema = uniqueName('crs_start');
    try {
      expect(
        await start({ DATABASE_URL: TEST_DATABASE_URL, DATABASE_SCHEMA: schema, REDIS_URL: TEST_REDIS_URL }),
      ).toEqual({
        stderr: '',
        exitCode: undefined,
      });
    } finally {
      const client = new pg.Client({ connectionString: TEST_DATABASE_URL });
      await client.connect();
      const tables = await client.query(
        'SELECT table_name FROM information_schema.tables WHERE table_schema = $1 ORDER BY 1',
        [schema],
      );
      await client.query(`DROP SCHEMA IF EXISTS ${schema} CASCADE`);
      await client.end();
      expect(tables.rows.map((r: { table_name: string }) => r.table_name)).toEqual([
        'card_decision',
        'card_feedback',
        'schema_migrations',
      ]);
    }
  });
});
