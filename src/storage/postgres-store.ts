/**
 * The ledger and feedback in PostgreSQL (DATABASE_URL=postgres://...), for several replicas: the
 * same schema as the embedded store (migrations.ts). Migrations run at start under a session
 * advisory lock, so replicas that start together apply each version once and the others wait
 * (https://www.postgresql.org/docs/current/explicit-locking.html#ADVISORY-LOCKS).
 */
import pg from 'pg';
import type { CardDecision } from '../governance/card-ledger.js';
import type { FeedbackRecord } from '../feedback/feedback-store.js';
import type { GovernanceStore, ImportedFeedback } from './governance-store.js';
import { MIGRATIONS } from './migrations.js';
import {
  DECISION_COLUMNS,
  FEEDBACK_COLUMNS,
  decisionValues,
  decisionFromRow,
  feedbackFromRow,
  feedbackValues,
  joinFeedback,
  type DecisionRow,
  type FeedbackRow,
} from './rows.js';

export interface PostgresStoreOptions {
  readonly url: string;
  /** The schema holding the tables (default `public`); created when missing. */
  readonly schema?: string;
  /** Pool size (default 10). */
  readonly maxConnections?: number;
  /** How long to wait for a connection (default 5 s). */
  readonly connectTimeoutMs?: number;
}

export const SCHEMA_NAME = /^[a-z_][a-z0-9_]{0,62}$/;
const MIGRATION_LOCK = 'crs-sentinel:migrations';

const params = (from: number, n: number) => Array.from({ length: n }, (_, i) => `$${from + i}`).join(', ');

export async function openPostgresStore(options: PostgresStoreOptions): Promise<GovernanceStore> {
  const schema = options.schema ?? 'public';
  if (!SCHEMA_NAME.test(schema))
    throw new Error(`schema ${JSON.stringify(schema)} is not a plain identifier`);
  const pool = new pg.Pool({
    connectionString: options.url,
    max: options.maxConnections ?? 10,
    connectionTimeoutMillis: options.connectTimeoutMs ?? 5000,
    options: `-c search_path=${schema}`,
  });
  // An idle client that loses its server emits 'error' on the pool: the next query reconnects.
  pool.on('error', () => undefined);
  try {
    await migrate(pool, schema);
  } catch (error) {
    await pool.end().catch(() => undefined);
    throw error;
  }

  const insertDecision = `INSERT INTO card_decision (${DECISION_COLUMNS.join(', ')}) VALUES (${params(1, DECISION_COLUMNS.length)}) ON CONFLICT (card_uuid) DO NOTHING`;
  const n = FEEDBACK_COLUMNS.length;
  const insertFeedback = `INSERT INTO card_feedback (${FEEDBACK_COLUMNS.join(', ')}, known_card) VALUES (${params(1, n)}, (SELECT COUNT(*) FROM card_decision WHERE card_uuid = $${n + 1})) ON CONFLICT (import_key) DO NOTHING`;

  async function inTransaction<T>(work: (client: pg.PoolClient) => Promise<T>): Promise<T> {
    const client = await pool.connect();
    try {
      await client.query('BEGIN');
      const result = await work(client);
      await client.query('COMMIT');
      return result;
    } catch (error) {
      await client.query('ROLLBACK').catch(() => undefined);
      throw error;
    } finally {
      client.release();
    }
  }

  async function insertAll(
    items: readonly { record: FeedbackRecord; key: string | null }[],
  ): Promise<number> {
    return inTransaction(async (client) => {
      let inserted = 0;
      for (const { record, key } of items) {
        const result = await client.query(insertFeedback, [...feedbackValues(record, key), record.card]);
        inserted += result.rowCount ?? 0;
      }
      return inserted;
    });
  }

  return {
    kind: 'postgres',
    async record(decisions: readonly CardDecision[]) {
      const [only] = decisions;
      if (decisions.length === 1 && only !== undefined) {
        await pool.query(insertDecision, decisionValues(only));
        return;
      }
      await inTransaction(async (client) => {
        for (const d of decisions) await client.query(insertDecision, decisionValues(d));
      });
    },
    // One round trip on the hook's path (issue 11, "Cost"): each decision with its feedback rows.
    async patientHistory(serviceId, patientKey, since) {
      const result = await pool.query<DecisionRow & { feedback_rows: FeedbackRow[] }>(
        `SELECT d.*, COALESCE((SELECT json_agg(f ORDER BY f.outcome_at, f.id) FROM card_feedback f
           WHERE f.card_uuid = d.card_uuid), '[]'::json) AS feedback_rows
         FROM card_decision d WHERE d.service_id = $1 AND d.patient_key = $2 AND d.decided_at >= $3
         ORDER BY d.decided_at, d.card_uuid`,
        [serviceId, patientKey, since.getTime()],
      );
      return result.rows.map((row) => decisionFromRow(row, row.feedback_rows.map(feedbackFromRow)));
    },
    async decisionsBetween(from, to) {
      const args = [from.getTime(), to.getTime()];
      const [decisions, feedback] = await Promise.all([
        pool.query<DecisionRow>(
          'SELECT * FROM card_decision WHERE decided_at >= $1 AND decided_at < $2 ORDER BY decided_at, card_uuid',
          args,
        ),
        pool.query<FeedbackRow>(
          `SELECT f.* FROM card_feedback f JOIN card_decision d ON d.card_uuid = f.card_uuid
           WHERE d.decided_at >= $1 AND d.decided_at < $2 ORDER BY f.outcome_at, f.id`,
          args,
        ),
      ]);
      return joinFeedback(decisions.rows, feedback.rows);
    },
    async feedbackBetween(from, to) {
      const result = await pool.query<FeedbackRow>(
        'SELECT * FROM card_feedback WHERE received_at >= $1 AND received_at < $2 ORDER BY received_at, id',
        [from.getTime(), to.getTime()],
      );
      return result.rows.map(feedbackFromRow);
    },
    async append(records) {
      await insertAll(records.map((record) => ({ record, key: null })));
    },
    importFeedback(items: readonly ImportedFeedback[]) {
      return insertAll(items.map((i) => ({ record: i.record, key: i.importKey })));
    },
    async check() {
      await pool.query('SELECT 1');
    },
    close: () => pool.end(),
  };
}

async function migrate(pool: pg.Pool, schema: string): Promise<void> {
  const client = await pool.connect();
  try {
    // Session lock, held across the transactions below; released even if one fails.
    await client.query('SELECT pg_advisory_lock(hashtext($1))', [`${MIGRATION_LOCK}:${schema}`]);
    try {
      await client.query(`CREATE SCHEMA IF NOT EXISTS ${schema}`);
      await client.query(
        'CREATE TABLE IF NOT EXISTS schema_migrations (version INTEGER PRIMARY KEY, name TEXT NOT NULL, applied_at BIGINT NOT NULL)',
      );
      const applied = await client.query<{ version: number }>('SELECT version FROM schema_migrations');
      const done = new Set(applied.rows.map((r) => r.version));
      for (const m of MIGRATIONS) {
        if (done.has(m.version)) continue;
        await client.query('BEGIN');
        try {
          await client.query(m.sql.postgres);
          await client.query(
            'INSERT INTO schema_migrations (version, name, applied_at) VALUES ($1, $2, $3)',
            [m.version, m.name, Date.now()],
          );
          await client.query('COMMIT');
        } catch (error) {
          await client.query('ROLLBACK').catch(() => undefined);
          throw error;
        }
      }
    } finally {
      await client.query('SELECT pg_advisory_unlock(hashtext($1))', [`${MIGRATION_LOCK}:${schema}`]);
    }
  } finally {
    client.release();
  }
}
