/**
 * Rows <-> domain records, shared by the SQLite and PostgreSQL stores (same schema, migrations.ts).
 */
import type { CardDecision, Disposition, LedgerEntry } from '../governance/card-ledger.js';
import type { FeedbackRecord } from '../feedback/feedback-store.js';

export interface DecisionRow {
  card_uuid: string;
  suggestion_uuids: string;
  service_id: string;
  patient_key: string;
  hook_instance: string;
  ehr_issuer: string;
  kind: string;
  grade: number | null;
  context: string | null;
  indicator: string;
  domains: string;
  agents: string;
  decided_at: number | string;
  disposition: string;
}

export interface FeedbackRow {
  service_id: string;
  card_uuid: string;
  outcome: string;
  accepted_suggestions: string | null;
  override_system: string | null;
  override_code: string | null;
  override_display: string | null;
  had_user_comment: number;
  outcome_at: number | string;
  received_at: number | string;
  known_card: number;
}

/** Column order for INSERTs of decisions. */
export const DECISION_COLUMNS = [
  'card_uuid',
  'suggestion_uuids',
  'service_id',
  'patient_key',
  'hook_instance',
  'ehr_issuer',
  'kind',
  'grade',
  'context',
  'indicator',
  'domains',
  'agents',
  'decided_at',
  'disposition',
] as const;

export function decisionValues(d: CardDecision): (string | number | null)[] {
  return [
    d.cardUuid,
    JSON.stringify(d.suggestionUuids),
    d.serviceId,
    d.patientKey,
    d.hookInstance,
    d.ehrIssuer,
    d.kind,
    d.grade,
    d.context,
    d.indicator,
    JSON.stringify(d.fingerprint.domains),
    JSON.stringify(d.fingerprint.agents),
    Date.parse(d.decidedAt),
    d.disposition,
  ];
}

/** Column order for INSERTs of feedback (known_card is computed by the INSERT itself). */
export const FEEDBACK_COLUMNS = [
  'service_id',
  'card_uuid',
  'outcome',
  'accepted_suggestions',
  'override_system',
  'override_code',
  'override_display',
  'had_user_comment',
  'outcome_at',
  'received_at',
  'import_key',
] as const;

export function feedbackValues(r: FeedbackRecord, importKey: string | null): (string | number | null)[] {
  return [
    r.serviceId,
    r.card,
    r.outcome,
    r.acceptedSuggestions === undefined ? null : JSON.stringify(r.acceptedSuggestions),
    r.overrideReason?.system ?? null,
    r.overrideReason?.code ?? null,
    r.overrideReason?.display ?? null,
    r.hadUserComment ? 1 : 0,
    Date.parse(r.outcomeTimestamp),
    Date.parse(r.receivedAt),
    importKey,
  ];
}

const iso = (ms: number | string) => new Date(Number(ms)).toISOString();

export function feedbackFromRow(row: FeedbackRow): FeedbackRecord {
  const record: FeedbackRecord = {
    serviceId: row.service_id,
    card: row.card_uuid,
    outcome: row.outcome === 'accepted' ? 'accepted' : 'overridden',
    outcomeTimestamp: iso(row.outcome_at),
    receivedAt: iso(row.received_at),
  };
  if (row.accepted_suggestions !== null)
    record.acceptedSuggestions = JSON.parse(row.accepted_suggestions) as string[];
  if (row.override_code !== null) {
    record.overrideReason = { code: row.override_code };
    if (row.override_system !== null) record.overrideReason.system = row.override_system;
    if (row.override_display !== null) record.overrideReason.display = row.override_display;
  }
  if (row.had_user_comment === 1) record.hadUserComment = true;
  if (row.known_card === 0) record.unknownCard = true;
  return record;
}

export function decisionFromRow(row: DecisionRow, feedback: readonly FeedbackRecord[]): LedgerEntry {
  return {
    cardUuid: row.card_uuid,
    suggestionUuids: JSON.parse(row.suggestion_uuids) as string[],
    serviceId: row.service_id,
    patientKey: row.patient_key,
    hookInstance: row.hook_instance,
    ehrIssuer: row.ehr_issuer,
    kind: row.kind,
    grade: row.grade,
    context: row.context,
    indicator: row.indicator as LedgerEntry['indicator'],
    fingerprint: {
      domains: JSON.parse(row.domains) as string[],
      agents: JSON.parse(row.agents) as string[],
    },
    decidedAt: iso(row.decided_at),
    disposition: row.disposition as Disposition,
    feedback,
  };
}

/** Attaches feedback rows to their decisions by card uuid, keeping the decisions' order. */
export function joinFeedback(decisions: DecisionRow[], feedback: FeedbackRow[]): LedgerEntry[] {
  const byCard = new Map<string, FeedbackRecord[]>();
  for (const row of feedback) {
    const list = byCard.get(row.card_uuid) ?? [];
    list.push(feedbackFromRow(row));
    byCard.set(row.card_uuid, list);
  }
  return decisions.map((d) => decisionFromRow(d, byCard.get(d.card_uuid) ?? []));
}
