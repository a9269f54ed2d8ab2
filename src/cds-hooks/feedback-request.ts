/**
 * Narrows a CDS Hooks 2.0 feedback body (https://cds-hooks.hl7.org/2.0/#feedback), with the same
 * messages as the hook request: "feedback.0.outcome: expected one of 'accepted', 'overridden'".
 */
import { z } from 'zod';
import { invalidBody } from './hook-request.js';

const WELL_FORMED = /^[^\p{Cs}]*$/u;
const text = () => z.string().regex(WELL_FORMED, { error: 'expected well-formed Unicode text' });

/**
 * FHIR R4 datatypes (https://hl7.org/fhir/R4/datatypes.html): a `string` "SHALL NOT contain Unicode
 * character points below 32" other than tab, carriage return and line feed; a `uri` holds no
 * whitespace, a `code` no whitespace but single inner spaces.
 * Besides being wrong, a NUL cannot be stored: PostgreSQL refuses it in TEXT, which was a 500.
 */
// eslint-disable-next-line no-control-regex
const FHIR_STRING = /^[^\u0000-\u0008\u000B\u000C\u000E-\u001F]*$/;
const FHIR_URI = /^\S+$/;
const FHIR_CODE = /^\S+( \S+)*$/;
const fhirString = () => text().regex(FHIR_STRING, { error: 'expected text without control characters' });
const nonEmpty = () => fhirString().min(1, { error: 'expected a non-empty string' });
const fhirUri = () =>
  nonEmpty().regex(FHIR_URI, { error: 'expected a FHIR uri (no whitespace or control characters)' });
const fhirCode = () =>
  nonEmpty().regex(FHIR_CODE, {
    error: 'expected a FHIR code (no control characters, no leading, trailing or repeated spaces)',
  });

/** The card's `uuid` (CDS Hooks 2.0 "Card attributes": uuid, needed for feedback). */
const cardUuid = () => z.uuid({ error: 'expected a UUID' });

// CDS Hooks 2.0 "Overridden guidance": `reason` is a Coding from the card's overrideReasons.
const codingSchema = z.object({
  system: fhirUri().optional(),
  code: fhirCode(),
  display: fhirString().optional(),
});

const feedbackItemSchema = z
  .object({
    card: cardUuid(),
    outcome: z.enum(['accepted', 'overridden']),
    acceptedSuggestions: z.array(z.object({ id: nonEmpty() })).optional(),
    overrideReason: z
      .object({ reason: codingSchema.optional(), userComment: fhirString().optional() })
      .optional(),
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
