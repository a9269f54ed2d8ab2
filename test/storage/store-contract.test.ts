/**
 * One contract for every governance store: the embedded SQLite store and PostgreSQL (a schema of
 * its own per run, dropped after). Same calls, same answers.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import pg from 'pg';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { CardDecision } from '../../src/governance/card-ledger.js';
import type { FeedbackRecord } from '../../src/feedback/feedback-store.js';
import type { GovernanceStore } from '../../src/storage/governance-store.js';
import { openPostgresStore } from '../../src/storage/postgres-store.js';
import { openSqliteStore } from '../../src/storage/sqlite-store.js';
import { TEST_DATABASE_URL, shouldRunAgainst, uniqueName } from '../support/test-servers.js';

const runPostgres = await shouldRunAgainst('postgres');

function decision(n: number, extra: Partial<CardDecision> = {}): CardDecision {
  return {
    cardUuid: `00000000-0000-4000-8000-${String(n).padStart(12, '0')}`,
    suggestionUuids: [`10000000-0000-4000-8000-${String(n).padStart(12, '0')}`],
    serviceId: 'crs-sentinel',
    patientKey: 'pk-a',
    hookInstance: 'd1577c69-dfbe-44ad-ba6d-3e05e953b2ea',
    ehrIssuer: 'https://ehr.example.org',
    kind: 'crs',
    grade: 2,
    context: 'car-t',
    indicator: 'critical',
    fingerprint: { domains: ['fever', 'hypotension'], agents: [] },
    decidedAt: `2025-01-15T1${n}:00:00.000Z`,
    disposition: 'shown',
    ...extra,
  };
}

function feedback(card: string, extra: Partial<FeedbackRecord> = {}): FeedbackRecord {
  return {
    serviceId: 'crs-sentinel',
    card,
    outcome: 'overridden',
    overrideReason: {
      system: 'https://crs-sentinel.example/override',
      code: 'already-managed',
      display: 'Already being managed',
    },
    outcomeTimestamp: '2025-01-15T12:30:00.000Z',
    receivedAt: '2025-01-15T12:30:01.000Z',
    ...extra,
  };
}

interface Backend {
  name: string;
  run: boolean;
  open: () => Promise<{
    store: GovernanceStore;
    reopen: () => Promise<GovernanceStore>;
    cleanup: () => Promise<void>;
  }>;
}

const backends: Backend[] = [
  {
    name: 'sqlite (embedded)',
    run: true,
    open: () => {
      const dir = mkdtempSync(path.join(tmpdir(), 'crs-store-'));
      const file = path.join(dir, 'ledger.sqlite');
      return Promise.resolve({
        store: openSqliteStore(file),
        reopen: () => Promise.resolve(openSqliteStore(file)),
        cleanup: () => {
          rmSync(dir, { recursive: true, force: true });
          return Promise.resolve();
        },
      });
    },
  },
  {
    name: 'postgres',
    run: runPostgres,
    open: async () => {
      const schema = uniqueName('crs_contract');
      const open = () => openPostgresStore({ url: TEST_DATABASE_URL, schema });
      return {
        store: await open(),
        reopen: open,
        cleanup: async () => {
          const client = new pg.Client({ connectionString: TEST_DATABASE_URL });
          await client.connect();
          await client.query(`DROP SCHEMA IF EXISTS ${schema} CASCADE`);
          await client.end();
        },
      };
    },
  },
];

describe.each(backends)('governance store contract: $name', (backend) => {
  let store: GovernanceStore;
  let reopen: () => Promise<GovernanceStore>;
  let cleanup: () => Promise<void>;

  beforeAll(async () => {
    if (!backend.run) return;
    ({ store, reopen, cleanup } = await backend.open());
  });
  afterAll(async () => {
    if (!backend.run) return;
    await store.close();
    await cleanup();
  });

  it.runIf(backend.run)(
    'records each decision once and returns the patient history oldest first, with feedback joined',
    async () => {
      await store.record([
        decision(2),
        decision(1, { grade: 1, indicator: 'warning', fingerprint: { domains: ['fever'], agents: [] } }),
      ]);
      await store.record([decision(2, { grade: 3 })]); // the same card again: kept as first recorded
      await store.record([decision(3, { patientKey: 'pk-b' })]);
      await store.append([
        feedback(decision(1).cardUuid),
        feedback(decision(1).cardUuid, {
          outcome: 'accepted',
          acceptedSuggestions: ['s1'],
          overrideReason: undefined as never,
          outcomeTimestamp: '2025-01-15T12:40:00.000Z',
        }),
      ]);
      const history = await store.patientHistory('crs-sentinel', 'pk-a', new Date('2025-01-15T00:00:00Z'));
      expect(history.map((h) => [h.cardUuid, h.grade])).toEqual([
        [decision(1).cardUuid, 1],
        [decision(2).cardUuid, 2],
      ]);
      expect(history[0]).toMatchObject({
        ...decision(1, { grade: 1, indicator: 'warning', fingerprint: { domains: ['fever'], agents: [] } }),
      });
      expect(history[0]?.feedback.map((f) => f.outcome)).toEqual(['overridden', 'accepted']);
      expect(history[0]?.feedback[0]).toEqual(feedback(decision(1).cardUuid));
      expect(history[1]?.feedback).toEqual([]);
    },
  );

  it.runIf(backend.run)('the history starts at `since`', async () => {
    const history = await store.patientHistory('crs-sentinel', 'pk-a', new Date('2025-01-15T12:00:00Z'));
    expect(history.map((h) => h.cardUuid)).toEqual([decision(2).cardUuid]);
  });

  it.runIf(backend.run)('keeps feedback for an unknown card, flagged', async () => {
    await store.append([
      feedback('99999999-0000-4000-8000-000000000000', { receivedAt: '2025-01-15T13:00:00.000Z' }),
    ]);
    const all = await store.feedbackBetween(
      new Date('2025-01-15T13:00:00Z'),
      new Date('2025-01-15T14:00:00Z'),
    );
    expect(all).toEqual([
      {
        ...feedback('99999999-0000-4000-8000-000000000000', { receivedAt: '2025-01-15T13:00:00.000Z' }),
        unknownCard: true,
      },
    ]);
  });

  it.runIf(backend.run)('imports by key only once', async () => {
    const items = [
      {
        importKey: 'feedback.jsonl:1:aa',
        record: feedback(decision(2).cardUuid, { receivedAt: '2025-01-14T10:00:00.000Z' }),
      },
      {
        importKey: 'feedback.jsonl:2:bb',
        record: feedback(decision(2).cardUuid, { receivedAt: '2025-01-14T10:00:00.000Z' }),
      },
    ];
    expect(await store.importFeedback(items)).toBe(2);
    expect(await store.importFeedback(items)).toBe(0);
    expect(
      await store.feedbackBetween(new Date('2025-01-14T00:00:00Z'), new Date('2025-01-15T00:00:00Z')),
    ).toHaveLength(2);
  });

  it.runIf(backend.run)('lists decisions in a period for reports', async () => {
    const between = await store.decisionsBetween(
      new Date('2025-01-15T11:00:00Z'),
      new Date('2025-01-15T13:00:00Z'),
    );
    expect(between.map((d) => d.cardUuid)).toEqual([decision(1).cardUuid, decision(2).cardUuid]);
    expect(between[1]?.feedback).toHaveLength(2);
  });

  it.runIf(backend.run)('keeps everything across a restart', async () => {
    await store.close();
    store = await reopen();
    await store.check();
    const history = await store.patientHistory('crs-sentinel', 'pk-a', new Date('2025-01-15T00:00:00Z'));
    expect(history).toHaveLength(2);
    expect(history[0]?.feedback).toHaveLength(2);
  });
});

describe.runIf(runPostgres)('postgres migrations', () => {
  it('replicas that start together migrate once, under the advisory lock', async () => {
    const schema = uniqueName('crs_migrate');
    const stores = await Promise.all(
      [1, 2, 3].map(() => openPostgresStore({ url: TEST_DATABASE_URL, schema })),
    );
    const client = new pg.Client({ connectionString: TEST_DATABASE_URL });
    await client.connect();
    try {
      const rows = await client.query(`SELECT version FROM ${schema}.schema_migrations`);
      expect(rows.rows).toEqual([{ version: 1 }]);
    } finally {
      await Promise.all(stores.map((s) => s.close()));
      await client.query(`DROP SCHEMA IF EXISTS ${schema} CASCADE`);
      await client.end();
    }
  });
});
