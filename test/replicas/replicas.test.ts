/**
 * Replicas, proven (issue 11): two service processes on different ports share one real
 * PostgreSQL (a schema of their own, dropped after) and one real Redis (a key prefix of their
 * own, deleted after), each with its own DATA_DIR. Real ES384-signed JWTs for the same public URL
 * (the replicas sit behind one proxy). A token replayed to the second replica is refused;
 * feedback given through one suppresses the card on the other; an escalation breaks through; the
 * ledger holds every decision once.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { Redis } from 'ioredis';
import pg from 'pg';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { makeEcKey, signToken } from '../trust/helpers.js';
import { fixturePrefetch } from '../governance/governance-helpers.js';
import { startServiceProcess, type ServiceProcess } from '../support/service-process.js';
import { hookRequest } from '../support/test-app.js';
import { TEST_DATABASE_URL, TEST_REDIS_URL, shouldRunAgainst, uniqueName } from '../support/test-servers.js';

const run = (await shouldRunAgainst('postgres')) && (await shouldRunAgainst('redis'));
const PUBLIC = 'https://cds.replicas.test';
const HOOK = '/cds-services/crs-sentinel';
const ISS = 'https://ehr.replicas.test';
const PATIENT = 'replica-pat-1';
const key = makeEcKey('replica-key');
const schema = uniqueName('crs_replicas');
const prefix = `${uniqueName('crs_replicas')}:`;
const dirs: string[] = [];
let a: ServiceProcess;
let b: ServiceProcess;

function env(): Record<string, string> {
  const dataDir = mkdtempSync(path.join(tmpdir(), 'crs-replica-'));
  dirs.push(dataDir);
  return {
    CDS_AUTH: 'on',
    LOG_LEVEL: 'warn',
    DATA_DIR: dataDir,
    PUBLIC_BASE_URL: PUBLIC,
    CDS_CLIENTS: JSON.stringify([
      { iss: ISS, jwks: { keys: [key.jwk] }, fhir_servers: ['https://ehr.replicas.test/fhir'] },
    ]),
    DATABASE_URL: TEST_DATABASE_URL,
    DATABASE_SCHEMA: schema,
    REDIS_URL: TEST_REDIS_URL,
    REDIS_KEY_PREFIX: prefix,
    PATIENT_ID_HASH_KEY: 'replicas-share-this-key-0123456789abcdef',
  };
}

beforeAll(async () => {
  if (!run) return;
  a = await startServiceProcess(env());
  b = await startServiceProcess(env());
}, 60_000);

afterAll(async () => {
  if (!run) return;
  await Promise.all([a.stop(), b.stop()]);
  const client = new pg.Client({ connectionString: TEST_DATABASE_URL });
  await client.connect();
  await client.query(`DROP SCHEMA IF EXISTS ${schema} CASCADE`);
  await client.end();
  const redis = new Redis(TEST_REDIS_URL);
  const keys = await redis.keys(`${prefix}*`);
  if (keys.length > 0) await redis.del(...keys);
  await redis.quit();
  for (const dir of dirs) rmSync(dir, { recursive: true, force: true });
});

const token = (endpoint: string) =>
  signToken({ key, iss: ISS, aud: `${PUBLIC}${endpoint}`, nowSeconds: Math.floor(Date.now() / 1000) });

async function post(replica: ServiceProcess, endpoint: string, body: unknown, bearer = token(endpoint)) {
  const res = await fetch(`${replica.url}${endpoint}`, {
    method: 'POST',
    headers: { 'content-type': 'application/json', authorization: `Bearer ${bearer}` },
    body: JSON.stringify(body),
  });
  return { status: res.status, body: (await res.json()) as { cards?: { uuid: string; detail?: string }[] } };
}

const open = (file: string) =>
  hookRequest({
    hookInstance: crypto.randomUUID(),
    context: { userId: 'Practitioner/a', patientId: PATIENT },
    prefetch: fixturePrefetch(file, PATIENT, new Date()),
  });

describe.runIf(run)('two replicas on one PostgreSQL and one Redis', () => {
  it('refuse a replayed token, share acknowledgements, let escalation through, record each decision once', async () => {
    expect(a.url).not.toBe(b.url);

    // A token used on A is refused on B: the jti is in Redis.
    const once = token(HOOK);
    const first = await post(a, HOOK, open('cart-grade2-hypotension.json'), once);
    expect(first.status).toBe(200);
    expect(first.body.cards).toHaveLength(1);
    expect((await post(b, HOOK, open('cart-grade2-hypotension.json'), once)).status).toBe(401);

    // Feedback through A ...
    const feedback = await post(a, `${HOOK}/feedback`, {
      feedback: [
        {
          card: first.body.cards?.[0]?.uuid,
          outcome: 'overridden',
          overrideReason: { reason: { system: 'urn:crs-sentinel:override-reason', code: 'already-managed' } },
          outcomeTimestamp: new Date().toISOString(),
        },
      ],
    });
    expect(feedback.status).toBe(200);
    // ... quiets the same card on B.
    expect(await post(b, HOOK, open('cart-grade2-hypotension.json'))).toEqual({
      status: 200,
      body: { cards: [] },
    });

    // An escalation on B breaks through and says what changed.
    const worse = await post(b, HOOK, open('cart-grade3-norepinephrine.json'));
    expect(worse.status).toBe(200);
    expect(worse.body.cards?.[0]?.detail?.split('\n')[0]).toMatch(
      /^\*\*What changed\*\*: grade 2 -> 3 since (\d{4}-\d\d-\d\d )?\d\d:\d\d UTC: .*norepinephrine started\.$/,
    );

    const client = new pg.Client({ connectionString: TEST_DATABASE_URL });
    await client.connect();
    try {
      const rows = await client.query<{ grade: number; disposition: string; n: string }>(
        `SELECT grade, disposition, COUNT(*) AS n FROM ${schema}.card_decision GROUP BY card_uuid, grade, disposition, decided_at ORDER BY decided_at`,
      );
      expect(rows.rows.map((r) => [r.grade, r.disposition, Number(r.n)])).toEqual([
        [2, 'shown', 1],
        [2, 'suppressed', 1],
        [3, 'shown', 1],
      ]);
      const fb = await client.query<{ known_card: number }>(`SELECT known_card FROM ${schema}.card_feedback`);
      expect(fb.rows).toEqual([{ known_card: 1 }]);
    } finally {
      await client.end();
    }
  }, 60_000);
});
