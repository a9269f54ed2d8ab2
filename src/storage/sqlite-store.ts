/**
 * The embedded store: SQLite through better-sqlite3 in DATA_DIR (docs/governance.md, "Storage":
 * a few MB and a synchronous open of a few ms, where PGlite took ~300 MB RSS and ~0.8 s). Calls
 * are synchronous and short (indexed inserts and lookups), so the event loop is held only briefly;
 * WAL mode lets a report read while the service writes.
 */
import Database from 'better-sqlite3';
import { mkdirSync } from 'node:fs';
import path from 'node:path';
import type { CardDecision, LedgerEntry } from '../governance/card-ledger.js';
import type { FeedbackRecord } from '../feedback/feedback-store.js';
import type { GovernanceStore, ImportedFeedback } from './governance-store.js';
import { MIGRATIONS } from './migrations.js';
import {
  DECISION_COLUMNS,
  FEEDBACK_COLUMNS,
  decisionValues,
  feedbackFromRow,
  feedbackValues,
  joinFeedback,
  type DecisionRow,
  type FeedbackRow,
} from './rows.js';

export const SQLITE_FILE = 'crs-sentinel.sqlite';

const placeholders = (n: number) => Array.from({ length: n }, () => '?').join(', ');

/** Opens (creating and migrating) the store; `file` ':memory:' for a throwaway one. */
export function openSqliteStore(file: string): GovernanceStore {
  if (file !== ':memory:') mkdirSync(path.dirname(file), { recursive: true, mode: 0o700 });
  const db = new Database(file);
  db.pragma('journal_mode = WAL');
  db.pragma('synchronous = NORMAL');
  db.pragma('busy_timeout = 5000');
  migrate(db);

  const insertDecision = db.prepare(
    `INSERT INTO card_decision (${DECISION_COLUMNS.join(', ')}) VALUES (${placeholders(DECISION_COLUMNS.length)}) ON CONFLICT (card_uuid) DO NOTHING`,
  );
  const insertFeedback = db.prepare(
    `INSERT INTO card_feedback (${FEEDBACK_COLUMNS.join(', ')}, known_card) VALUES (${placeholders(FEEDBACK_COLUMNS.length)}, (SELECT COUNT(*) FROM card_decision WHERE card_uuid = ?)) ON CONFLICT (import_key) DO NOTHING`,
  );
  const patientDecisions = db.prepare<[string, string, number], DecisionRow>(
    'SELECT * FROM card_decision WHERE service_id = ? AND patient_key = ? AND decided_at >= ? ORDER BY decided_at, card_uuid',
  );
  const patientFeedback = db.prepare<[string, string, number], FeedbackRow>(
    `SELECT f.* FROM card_feedback f JOIN card_decision d ON d.card_uuid = f.card_uuid
     WHERE d.service_id = ? AND d.patient_key = ? AND d.decided_at >= ? ORDER BY f.outcome_at, f.id`,
  );
  const rangeDecisions = db.prepare<[number, number], DecisionRow>(
    'SELECT * FROM card_decision WHERE decided_at >= ? AND decided_at < ? ORDER BY decided_at, card_uuid',
  );
  const rangeDecisionFeedback = db.prepare<[number, number], FeedbackRow>(
    `SELECT f.* FROM card_feedback f JOIN card_decision d ON d.card_uuid = f.card_uuid
     WHERE d.decided_at >= ? AND d.decided_at < ? ORDER BY f.outcome_at, f.id`,
  );
  const rangeFeedback = db.prepare<[number, number], FeedbackRow>(
    'SELECT * FROM card_feedback WHERE received_at >= ? AND received_at < ? ORDER BY received_at, id',
  );

  const recordAll = db.transaction((decisions: readonly CardDecision[]) => {
    for (const d of decisions) insertDecision.run(decisionValues(d));
  });
  const appendAll = db.transaction((items: readonly { record: FeedbackRecord; key: string | null }[]) => {
    let inserted = 0;
    for (const { record, key } of items)
      inserted += insertFeedback.run([...feedbackValues(record, key), record.card]).changes;
    return inserted;
  });

  return {
    kind: 'sqlite',
    record(decisions) {
      recordAll(decisions);
      return Promise.resolve();
    },
    patientHistory(serviceId, patientKey, since) {
      const args: [string, string, number] = [serviceId, patientKey, since.getTime()];
      return Promise.resolve(joinFeedback(patientDecisions.all(...args), patientFeedback.all(...args)));
    },
    decisionsBetween(from, to): Promise<LedgerEntry[]> {
      const args: [number, number] = [from.getTime(), to.getTime()];
      return Promise.resolve(joinFeedback(rangeDecisions.all(...args), rangeDecisionFeedback.all(...args)));
    },
    feedbackBetween(from, to) {
      return Promise.resolve(rangeFeedback.all(from.getTime(), to.getTime()).map(feedbackFromRow));
    },
    append(records) {
      appendAll(records.map((record) => ({ record, key: null })));
      return Promise.resolve();
    },
    importFeedback(items: readonly ImportedFeedback[]) {
      return Promise.resolve(appendAll(items.map((i) => ({ record: i.record, key: i.importKey }))));
    },
    check() {
      db.prepare('SELECT 1').get();
      return Promise.resolve();
    },
    close() {
      if (db.open) db.close();
      return Promise.resolve();
    },
  };
}

function migrate(db: Database.Database): void {
  db.exec(
    'CREATE TABLE IF NOT EXISTS schema_migrations (version INTEGER PRIMARY KEY, name TEXT NOT NULL, applied_at BIGINT NOT NULL)',
  );
  // IMMEDIATE: a second process opening the same file waits instead of migrating twice.
  db.transaction(() => {
    const applied = new Set(
      db
        .prepare<[], { version: number }>('SELECT version FROM schema_migrations')
        .all()
        .map((r) => r.version),
    );
    for (const m of MIGRATIONS) {
      if (applied.has(m.version)) continue;
      db.exec(m.sql.sqlite);
      db.prepare('INSERT INTO schema_migrations (version, name, applied_at) VALUES (?, ?, ?)').run(
        m.version,
        m.name,
        Date.now(),
      );
    }
  }).immediate();
}
