/**
 * The card ledger (issue 11, "Card ledger and feedback"): every card the service decides on, shown
 * or not, with the feedback that came back for it. No PHI: the patient is a keyed hash, and only
 * grades, contexts, codes and times are kept, never names, values or tokens.
 */
import type { FeedbackRecord } from '../feedback/feedback-store.js';

/** What became of a decided card: answered to the EHR, held back by the policy, or silent mode. */
export const DISPOSITIONS = ['shown', 'suppressed', 'silent'] as const;
export type Disposition = (typeof DISPOSITIONS)[number];

/** Which findings set a card: the domains (e.g. fever, hypotension, hypoxia) and vasopressor agents. */
export interface FindingsFingerprint {
  readonly domains: readonly string[];
  readonly agents: readonly string[];
}

export interface CardDecision {
  readonly cardUuid: string;
  readonly suggestionUuids: readonly string[];
  readonly serviceId: string;
  /** Keyed HMAC of issuer and patient id (PATIENT_ID_HASH_KEY), never the id. */
  readonly patientKey: string;
  readonly hookInstance: string;
  /** The `iss` of the EHR that called. */
  readonly ehrIssuer: string;
  /** The card kind, e.g. `crs`, `sepsis-circulation`, `data-gap`. */
  readonly kind: string;
  /** ASTCT grade, or null for a card without one (data gap). */
  readonly grade: number | null;
  /** Therapy context (`car-t`, `bispecific`, `sepsis`), or null. */
  readonly context: string | null;
  readonly indicator: 'info' | 'warning' | 'critical';
  readonly fingerprint: FindingsFingerprint;
  /** ISO 8601 instant. */
  readonly decidedAt: string;
  readonly disposition: Disposition;
}

/** One ledger entry with the feedback that joined it by card uuid. */
export interface LedgerEntry extends CardDecision {
  readonly feedback: readonly FeedbackRecord[];
}

export interface CardLedger {
  /** Records decisions; a card uuid already recorded is kept as it was (each decision once). */
  record(decisions: readonly CardDecision[]): Promise<void>;
  /** The patient's decisions decided at or after `since`, oldest first, with their feedback. */
  patientHistory(serviceId: string, patientKey: string, since: Date): Promise<LedgerEntry[]>;
  /** Every decision in [from, to), oldest first, with feedback (reports). */
  decisionsBetween(from: Date, to: Date): Promise<LedgerEntry[]>;
  /** Feedback received in [from, to), including feedback for unknown cards (reports). */
  feedbackBetween(from: Date, to: Date): Promise<FeedbackRecord[]>;
}
