/**
 * The storage interfaces of alert governance (issue 11, "Storage"): the card ledger and the
 * feedback store live in one database (the feedback joins the ledger by card uuid), the JWT replay
 * cache may live elsewhere (Redis). src/storage/ is the only importer of database clients.
 */
import type { CardLedger } from '../governance/card-ledger.js';
import type { FeedbackRecord, FeedbackStore } from '../feedback/feedback-store.js';
import type { ReplayCache } from '../trust/replay-cache.js';

export type { CardLedger } from '../governance/card-ledger.js';
export type { FeedbackStore } from '../feedback/feedback-store.js';
export type { ReplayCache } from '../trust/replay-cache.js';

/** A feedback record from an older store, with a key that makes importing it again a no-op. */
export interface ImportedFeedback {
  readonly importKey: string;
  readonly record: FeedbackRecord;
}

export interface GovernanceStore extends CardLedger, FeedbackStore {
  /** Which database this is, for logs and /readyz: `sqlite` or `postgres`. */
  readonly kind: 'sqlite' | 'postgres';
  /** Inserts records not imported before (by import key); resolves how many were new. */
  importFeedback(items: readonly ImportedFeedback[]): Promise<number>;
  close(): Promise<void>;
}

/** Everything the service stores, opened at start and closed at stop. */
export interface Stores {
  readonly governance: GovernanceStore;
  readonly replayCache: ReplayCache;
  /** Throws when a store cannot serve (readiness). */
  check(): Promise<void>;
  close(): Promise<void>;
}
