/**
 * Narrows a CDS Hooks 2.0 feedback body (https://cds-hooks.hl7.org/2.0/#feedback), with the same
 * messages as the hook request: "feedback.0.outcome: expected one of 'accepted', 'overridden'".
 */
import { z } from 'zod';
import { invalidBody } from './hook-request.js';

const WELL_FORMED = /^[^\p{Cs}]*$/u;
const text = () => z.string().regex(WELL_FORMED, { error: 'expected well-formed Unicode text' });
const nonEmpty = () => text().min(1, { error: 'expected a non-empty string' });

/** The card's `uuid` (CDS Hooks 2.0 "Card attributes": uuid, needed for feedback). */
const cardUuid = () => z.uuid({ error: 'expected a UUID' });

// CDS Hooks 2.0 "Overridden guidance": `reason` is a Coding from the card's overrideReasons.
const codingSchema = z.object({
  system: nonEmpty().optional(),
  code: nonEmpty(),
  display: text().optional(),
});

const feedbackItemSchema = z
  .object({
    card: cardUuid(),
    outcome: z.enum(['accepted', 'overridden']),
    acceptedSuggestions: z.array(z.object({ id: nonEmpty() })).optional(),
    overrideReason: z.object({ reason: codingSchema.optional(), userComment: text().optional() }).optional(),
    // CDS Hooks 2.0: an `instant`, i.e. a date-time with a time zone (FHIR R4 instant).
    outcomeTimestamp: z.iso.datetime({
      offset: true,
      error: 'expected an ISO 8601 date-time with a time zone, e.g. 2025-01-15T11:58:00Z',
    }),
  })
  .refine((f) => f.outcome === 'accepted' || f.acceptedSuggestions === undefined, {
    message: 'expected only with outcome "accepted"',
    path: ['acceptedSuggestions'],
  });

const feedbackRequestSchema = z.object({ feedback: z.array(feedbackItemSchema).min(1).max(100) });

export type FeedbackRequest = z.infer<typeof feedbackRequestSchema>;

export function parseFeedbackRequest(body: unknown): FeedbackRequest {
  const parsed = feedbackRequestSchema.safeParse(body, { reportInput: true });
  if (!parsed.success) throw invalidBody(parsed.error);
  return parsed.data;
}
