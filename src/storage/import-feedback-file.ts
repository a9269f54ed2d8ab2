/**
 * One-time import of DATA_DIR/feedback.jsonl, where feedback was kept before the ledger (issue 11:
 * "An existing feedback.jsonl in DATA_DIR is imported once, nothing lost"). Each line gets an
 * import key (its line number and content hash), so importing again, or from several replicas at
 * once, adds nothing twice. The file is left in place; lines that are not feedback records are
 * counted, not guessed at.
 */
import { createHash } from 'node:crypto';
import { readFile } from 'node:fs/promises';
import path from 'node:path';
import { z } from 'zod';
import type { FeedbackRecord } from '../feedback/feedback-store.js';
import type { GovernanceStore, ImportedFeedback } from './governance-store.js';

export const LEGACY_FEEDBACK_FILE = 'feedback.jsonl';

const instant = z.string().refine((s) => Number.isFinite(Date.parse(s)), 'a date-time');
const recordSchema = z.object({
  serviceId: z.string().min(1),
  card: z.string().min(1),
  outcome: z.enum(['accepted', 'overridden']),
  acceptedSuggestions: z.array(z.string()).optional(),
  overrideReason: z
    .object({ system: z.string().optional(), code: z.string(), display: z.string().optional() })
    .optional(),
  hadUserComment: z.literal(true).optional(),
  outcomeTimestamp: instant,
  receivedAt: instant,
});

export interface FeedbackImport {
  readonly lines: number;
  readonly imported: number;
  readonly unreadable: number;
}

export async function importFeedbackFile(dataDir: string, store: GovernanceStore): Promise<FeedbackImport> {
  let text: string;
  try {
    text = await readFile(path.join(dataDir, LEGACY_FEEDBACK_FILE), 'utf8');
  } catch (error) {
    if (typeof error === 'object' && error !== null && 'code' in error && error.code === 'ENOENT')
      return { lines: 0, imported: 0, unreadable: 0 };
    throw error;
  }
  const items: ImportedFeedback[] = [];
  let lines = 0;
  let unreadable = 0;
  text.split('\n').forEach((line, index) => {
    if (line.trim() === '') return;
    lines++;
    const parsed = recordSchema.safeParse(safeJson(line));
    if (!parsed.success) {
      unreadable++;
      return;
    }
    const hash = createHash('sha256').update(line).digest('hex').slice(0, 16);
    items.push({
      importKey: `${LEGACY_FEEDBACK_FILE}:${index + 1}:${hash}`,
      record: parsed.data as FeedbackRecord,
    });
  });
  const imported = items.length === 0 ? 0 : await store.importFeedback(items);
  return { lines, imported, unreadable };
}

function safeJson(line: string): unknown {
  try {
    return JSON.parse(line) as unknown;
  } catch {
    return undefined;
  }
}
