/**
 * Feedback use case: keep each card outcome (https://cds-hooks.hl7.org/2.0/#feedback), no PHI.
 */
import type { FeedbackRequest } from '../cds-hooks/feedback-request.js';
import type { FeedbackRecord, FeedbackStore } from '../feedback/feedback-store.js';

export async function recordFeedback(
  serviceId: string,
  request: FeedbackRequest,
  store: FeedbackStore,
  now: Date,
): Promise<number> {
  const records = request.feedback.map((item): FeedbackRecord => {
    const record: FeedbackRecord = {
      serviceId,
      card: item.card,
      outcome: item.outcome,
      outcomeTimestamp: item.outcomeTimestamp,
      receivedAt: now.toISOString(),
    };
    if (item.acceptedSuggestions) record.acceptedSuggestions = item.acceptedSuggestions.map((s) => s.id);
    const reason = item.overrideReason?.reason;
    if (reason) {
      record.overrideReason = { code: reason.code };
      if (reason.system !== undefined) record.overrideReason.system = reason.system;
      if (reason.display !== undefined) record.overrideReason.display = reason.display;
    }
    // A free-text comment may name the patient: keep only that one was given.
    if (item.overrideReason?.userComment) record.hadUserComment = true;
    return record;
  });
  await store.append(records);
  return records.length;
}
