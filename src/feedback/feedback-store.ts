/**
 * Where card feedback goes (https://cds-hooks.hl7.org/2.0/#feedback). The store is an interface so
 * a database can replace the embedded append-only file later.
 */
import { appendFile, access, constants, mkdir } from 'node:fs/promises';
import path from 'node:path';

/** One outcome for one card: no PHI (free-text comments are not kept, only whether one was given). */
export interface FeedbackRecord {
  serviceId: string;
  card: string;
  outcome: 'accepted' | 'overridden';
  acceptedSuggestions?: string[];
  overrideReason?: { system?: string; code: string; display?: string };
  hadUserComment?: true;
  outcomeTimestamp: string;
  receivedAt: string;
  /** Set when read back from the ledger: the card uuid was not in the ledger when this arrived. */
  unknownCard?: true;
}

export interface FeedbackStore {
  append(records: FeedbackRecord[]): Promise<void>;
  /** Throws when the store cannot take writes (readiness). */
  check(): Promise<void>;
}

/** JSON Lines, one record a line, appended; writes are queued so lines never interleave. */
export function createFileFeedbackStore(dataDir: string): FeedbackStore {
  const file = path.join(dataDir, 'feedback.jsonl');
  let queue: Promise<void> = mkdir(dataDir, { recursive: true }).then(() => undefined);
  return {
    append(records) {
      const lines = records.map((r) => `${JSON.stringify(r)}\n`).join('');
      const write = queue.then(() => appendFile(file, lines, { encoding: 'utf8', mode: 0o600 }));
      queue = write.catch(() => undefined);
      return write;
    },
    async check() {
      await queue;
      await access(dataDir, constants.W_OK);
    },
  };
}

/** In-memory store for tests and ephemeral demos. */
export function createMemoryFeedbackStore(): FeedbackStore & { records: FeedbackRecord[] } {
  const records: FeedbackRecord[] = [];
  return {
    records,
    append(batch) {
      records.push(...batch);
      return Promise.resolve();
    },
    check: () => Promise.resolve(),
  };
}
