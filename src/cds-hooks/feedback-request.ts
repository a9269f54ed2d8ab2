/**
 * Narrows a CDS Hooks 2.0 feedback body (https://cds-hooks.hl7.org/2.0/#feedback).
 */
import { z } from 'zod';
import { badRequest } from '../errors/cds-error.js';
import { describeIssue } from './hook-request.js';

const codingSchema = z.object({
  system: z.string().min(1).optional(),
  code: z.string().min(1),
  display: z.string().optional(),
});

const feedbackItemSchema = z
  .object({
    card: z.string().min(1),
    outcome: z.enum(['accepted', 'overridden']),
    acceptedSuggestions: z.array(z.object({ id: z.string().min(1) })).optional(),
    overrideReason: z
      .object({ reason: codingSchema.optional(), userComment: z.string().optional() })
      .optional(),
    outcomeTimestamp: z.iso.datetime({ offset: true }),
  })
  .refine((f) => f.outcome === 'accepted' || f.acceptedSuggestions === undefined, {
    message: 'acceptedSuggestions is only allowed with outcome "accepted"',
    path: ['acceptedSuggestions'],
  });

const feedbackRequestSchema = z.object({ feedback: z.array(feedbackItemSchema).min(1).max(100) });

export type FeedbackRequest = z.infer<typeof feedbackRequestSchema>;

export function parseFeedbackRequest(body: unknown): FeedbackRequest {
  const parsed = feedbackRequestSchema.safeParse(body);
  if (!parsed.success) throw badRequest(describeIssue(parsed.error));
  return parsed.data;
}
