/**
 * Versioned schema migrations, the same tables for the embedded store (SQLite) and PostgreSQL.
 * Times are epoch milliseconds (BIGINT) in both so queries and ordering are identical; lists
 * (suggestion uuids, domains, agents) are JSON text. A migration is never edited once released:
 * add the next version instead.
 */
export type Dialect = 'sqlite' | 'postgres';

export interface Migration {
  readonly version: number;
  readonly name: string;
  readonly sql: Record<Dialect, string>;
}

const autoId: Record<Dialect, string> = {
  sqlite: 'INTEGER PRIMARY KEY AUTOINCREMENT',
  postgres: 'BIGSERIAL PRIMARY KEY',
};

function both(build: (d: Dialect) => string): Record<Dialect, string> {
  return { sqlite: build('sqlite'), postgres: build('postgres') };
}

export const MIGRATIONS: readonly Migration[] = [
  {
    version: 1,
    name: 'card ledger and feedback',
    sql: both(
      (d) => `
CREATE TABLE card_decision (
  card_uuid TEXT PRIMARY KEY,
  suggestion_uuids TEXT NOT NULL,
  service_id TEXT NOT NULL,
  patient_key TEXT NOT NULL,
  hook_instance TEXT NOT NULL,
  ehr_issuer TEXT NOT NULL,
  kind TEXT NOT NULL,
  grade INTEGER,
  context TEXT,
  indicator TEXT NOT NULL,
  domains TEXT NOT NULL,
  agents TEXT NOT NULL,
  decided_at BIGINT NOT NULL,
  disposition TEXT NOT NULL
);
CREATE INDEX card_decision_patient ON card_decision (service_id, patient_key, decided_at);
CREATE INDEX card_decision_time ON card_decision (decided_at);
CREATE TABLE card_feedback (
  id ${autoId[d]},
  service_id TEXT NOT NULL,
  card_uuid TEXT NOT NULL,
  outcome TEXT NOT NULL,
  accepted_suggestions TEXT,
  override_system TEXT,
  override_code TEXT,
  override_display TEXT,
  had_user_comment INTEGER NOT NULL,
  outcome_at BIGINT NOT NULL,
  received_at BIGINT NOT NULL,
  known_card INTEGER NOT NULL,
  import_key TEXT UNIQUE
);
CREATE INDEX card_feedback_card ON card_feedback (card_uuid);
CREATE INDEX card_feedback_time ON card_feedback (received_at);
`,
    ),
  },
];
