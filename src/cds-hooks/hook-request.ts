/**
 * Narrows an untrusted CDS Hooks 2.0 request body to a typed `HookRequest`.
 * Spec: https://cds-hooks.hl7.org/2.0/#http-request-1 and the patient-view hook
 * (https://cds-hooks.org/hooks/patient-view/): `userId` and `patientId` required, `encounterId` optional.
 *
 * A failure is a 400 whose message names the first bad field and the check it failed, e.g.
 * "context.patientId: expected string, got number". Messages name types and rules, never values.
 */
import { z } from 'zod';
import { CdsError, quote } from '../errors/cds-error.js';

/**
 * Well-formed Unicode: no lone surrogate (JSON's `\ud800` escape makes one). Such a string cannot
 * be percent-encoded (encodeURIComponent throws) nor hashed as the same text twice; refuse it at the
 * boundary, naming the field.
 */
const WELL_FORMED = /^[^\p{Cs}]*$/u;
const wellFormed = () => z.string().regex(WELL_FORMED, { error: 'expected well-formed Unicode text' });

/** FHIR R4 `id` datatype (https://hl7.org/fhir/R4/datatypes.html#id): the patient and encounter ids. */
const FHIR_ID = /^[A-Za-z0-9\-.]{1,64}$/;
const fhirId = () =>
  wellFormed().regex(FHIR_ID, { error: 'expected a FHIR id (1 to 64 of A-Z a-z 0-9 - .)' });

const nonEmpty = () => wellFormed().min(1, { error: 'expected a non-empty string' });

/** The same UUID shape zod checks; used to log a hookInstance even when the body fails later. */
const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i;

/**
 * RFC 6749 appendix A.12: `access-token = 1*VSCHAR` (printable ASCII). The token goes into the
 * Authorization header of every FHIR request, where a line break, NUL or non-ASCII character
 * cannot go: such a token was sent nowhere and answered 412 "could not be reached", blaming the
 * FHIR server for the request's own fault.
 */
const ACCESS_TOKEN = /^[\x20-\x7E]+$/;

const fhirAuthorizationSchema = z.object({
  access_token: z
    .string()
    .min(1, { error: 'expected a non-empty string' })
    .regex(ACCESS_TOKEN, { error: 'expected an OAuth 2.0 access token (printable ASCII, RFC 6749)' }),
  token_type: z.literal('Bearer'),
  expires_in: z.number().int().nonnegative(),
  scope: nonEmpty(),
  subject: nonEmpty(),
  patient: fhirId().optional(),
});

const patientViewContextSchema = z.object({
  userId: nonEmpty(),
  patientId: fhirId(),
  encounterId: fhirId().optional(),
});

const hookRequestSchema = z
  .object({
    hook: nonEmpty(),
    hookInstance: z.uuid({ error: 'expected a UUID' }),
    fhirServer: z.url({ protocol: /^https?$/, error: 'expected an http or https URL' }).optional(),
    fhirAuthorization: fhirAuthorizationSchema.optional(),
    context: patientViewContextSchema,
    // zod's record never copies a `__proto__` key into its output, so a body cannot set the
    // prototype of `prefetch` (and with it what `prefetch.vitals` reads).
    prefetch: z.record(z.string(), z.unknown()).optional(),
  })
  .refine((r) => r.fhirAuthorization === undefined || r.fhirServer !== undefined, {
    message: 'required when fhirAuthorization is sent',
    path: ['fhirServer'],
  });

export type HookRequest = z.infer<typeof hookRequestSchema>;

/** Parse and validate; a failure names the first bad field, e.g. `context.patientId: ...`. */
export function parseHookRequest(body: unknown, expectedHook: string): HookRequest {
  const parsed = hookRequestSchema.safeParse(body, { reportInput: true });
  if (!parsed.success) throw invalidBody(parsed.error);
  if (parsed.data.hook !== expectedHook) {
    // CDS Hooks 2.0 names no status for a hook the service does not answer: the request is
    // wrong for this resource, so 400 naming the expected hook (the caller's hook quoted, cut).
    throw new CdsError(
      'bad-request',
      `hook: this service answers '${expectedHook}', not ${quote(parsed.data.hook)}`,
      { reason: `hook: expected '${expectedHook}'` },
    );
  }
  return parsed.data;
}

/**
 * The body's hookInstance when it looks like a UUID, for the request's log line even when the
 * request fails later (a UUID chosen by the EHR carries no PHI).
 */
export function hookInstanceOf(body: unknown): string | undefined {
  if (typeof body !== 'object' || body === null || Array.isArray(body)) return undefined;
  const value = (body as Record<string, unknown>).hookInstance;
  return typeof value === 'string' && UUID.test(value) ? value : undefined;
}

/** A 400 for the first issue: the message and the log reason are the same, as neither has values. */
export function invalidBody(error: z.ZodError): CdsError {
  const text = describeIssue(error);
  return new CdsError('bad-request', text, { reason: text });
}

/**
 * "path: what was expected", from zod's first issue. Only names types, formats and allowed values
 * the schema defines; the input is looked at for its type only and never quoted.
 */
export function describeIssue(error: z.ZodError): string {
  const issue = error.issues[0];
  if (issue === undefined) return 'invalid request';
  const path = issue.path.map((segment) => pathSegment(segment)).join('.') || '(body)';
  return `${path}: ${expectation(issue)}`;
}

function expectation(issue: z.core.$ZodIssue): string {
  switch (issue.code) {
    case 'invalid_type': {
      // `input` is reported (reportInput) so that absent and wrong-typed can be told apart.
      if (issue.input === undefined) return 'required';
      const expected = issue.expected === 'int' ? 'integer' : issue.expected;
      return `expected ${expected}, got ${typeName(issue.input)}`;
    }
    case 'invalid_value':
      return issue.values.length === 1
        ? `expected ${literal(issue.values[0])}`
        : `expected one of ${issue.values.map(literal).join(', ')}`;
    case 'too_small':
      if (issue.origin === 'array') return `expected at least ${String(issue.minimum)} item(s)`;
      if (issue.origin === 'string') return 'expected a non-empty string';
      return `expected at least ${String(issue.minimum)}`;
    case 'too_big':
      if (issue.origin === 'array') return `expected at most ${String(issue.maximum)} item(s)`;
      return `expected at most ${String(issue.maximum)}`;
    case 'invalid_format':
    case 'custom':
      // Our schemas give each format and refinement its own "expected ..." message.
      return issue.message.startsWith('expected') || issue.message.startsWith('required')
        ? issue.message
        : `expected ${issue.code === 'invalid_format' ? issue.format : 'a valid value'}`;
    default:
      return 'invalid value';
  }
}

function pathSegment(segment: PropertyKey): string {
  if (typeof segment === 'number') return String(segment);
  // Path segments are schema keys; cut anyway so that no future record key echoes a long input.
  const text = String(segment);
  return /^[A-Za-z0-9_]{1,40}$/.test(text) ? text : quote(text);
}

function literal(value: unknown): string {
  return typeof value === 'string' ? `'${value}'` : String(value);
}

/** The JSON type of a value: names the type instead of quoting the value. */
export function typeName(value: unknown): string {
  if (value === null) return 'null';
  if (Array.isArray(value)) return 'array';
  return typeof value;
}
