/**
 * Narrows an untrusted CDS Hooks 2.0 request body to a typed `HookRequest`.
 * Spec: https://cds-hooks.hl7.org/2.0/#http-request-1 and the patient-view hook
 * (https://cds-hooks.org/hooks/patient-view/): `userId` and `patientId` required, `encounterId` optional.
 */
import { z } from 'zod';
import { badRequest } from '../errors/cds-error.js';

const fhirAuthorizationSchema = z.object({
  access_token: z.string().min(1),
  token_type: z.literal('Bearer'),
  expires_in: z.number().int().nonnegative(),
  scope: z.string().min(1),
  subject: z.string().min(1),
  patient: z.string().min(1).optional(),
});

const patientViewContextSchema = z.object({
  userId: z.string().min(1),
  patientId: z.string().min(1),
  encounterId: z.string().min(1).optional(),
});

const hookRequestSchema = z
  .object({
    hook: z.string().min(1),
    hookInstance: z.uuid(),
    fhirServer: z.url({ protocol: /^https?$/ }).optional(),
    fhirAuthorization: fhirAuthorizationSchema.optional(),
    context: patientViewContextSchema,
    prefetch: z.record(z.string(), z.unknown()).optional(),
  })
  .refine((r) => r.fhirAuthorization === undefined || r.fhirServer !== undefined, {
    message: 'fhirServer is required when fhirAuthorization is sent',
    path: ['fhirServer'],
  });

export type HookRequest = z.infer<typeof hookRequestSchema>;

/** Parse and validate; a failure names the first bad field, e.g. `context.patientId: ...`. */
export function parseHookRequest(body: unknown, expectedHook: string): HookRequest {
  const parsed = hookRequestSchema.safeParse(body);
  if (!parsed.success) throw badRequest(describeIssue(parsed.error));
  if (parsed.data.hook !== expectedHook) {
    throw badRequest(`hook: this service answers '${expectedHook}', not '${parsed.data.hook}'`);
  }
  return parsed.data;
}

export function describeIssue(error: z.ZodError): string {
  const issue = error.issues[0];
  if (issue === undefined) return 'invalid request';
  const path = issue.path.map(String).join('.') || '(body)';
  return issue.code === 'invalid_type' && issue.input === undefined
    ? `${path}: required`
    : `${path}: ${issue.message}`;
}
