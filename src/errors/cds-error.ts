/**
 * The one error type of the service. Each carries the HTTP status the CDS Hooks spec (or, where it
 * names none, RFC 9110) gives it; the HTTP layer maps it in one place (src/http/error-handler.ts).
 * Messages are safe to show a client: no stack, no PHI, no token, and never more than a few dozen
 * characters of anything the client sent (see `quote`).
 */
export type CdsErrorCode =
  | 'bad-request'
  | 'unauthorized'
  | 'not-found'
  | 'method-not-allowed'
  | 'precondition-failed'
  | 'payload-too-large'
  | 'unsupported-media-type'
  | 'internal';

const STATUS_BY_CODE: Record<CdsErrorCode, number> = {
  'bad-request': 400,
  unauthorized: 401,
  'not-found': 404,
  // RFC 9110 section 15.5.6: the answer carries `Allow` (see `allowedMethods`).
  'method-not-allowed': 405,
  // CDS Hooks 2.0 "Prefetch": a service that cannot obtain the data it needs answers 412.
  'precondition-failed': 412,
  'payload-too-large': 413,
  // RFC 9110 section 15.5.16: content in a media type or content coding the resource does not take.
  'unsupported-media-type': 415,
  internal: 500,
};

export interface CdsErrorOptions {
  /**
   * What went wrong for the request's log line, without any value the client sent (no PHI):
   * e.g. "context.patientId: expected string". Defaults to the message, so give one whenever the
   * message quotes input.
   */
  reason?: string;
  /** For 'method-not-allowed': the methods the resource does take (RFC 9110 section 10.2.1). */
  allowedMethods?: readonly string[];
}

export class CdsError extends Error {
  readonly code: CdsErrorCode;
  readonly reason: string;
  readonly allowedMethods: readonly string[] | undefined;

  constructor(code: CdsErrorCode, message: string, options: CdsErrorOptions = {}) {
    super(message);
    this.name = 'CdsError';
    this.code = code;
    this.reason = options.reason ?? message;
    this.allowedMethods = options.allowedMethods;
  }

  get status(): number {
    return STATUS_BY_CODE[this.code];
  }
}

export const badRequest = (message: string, reason?: string): CdsError =>
  new CdsError('bad-request', message, reason === undefined ? {} : { reason });
export const notFound = (message: string, reason?: string): CdsError =>
  new CdsError('not-found', message, reason === undefined ? {} : { reason });
export const preconditionFailed = (message: string, reason?: string): CdsError =>
  new CdsError('precondition-failed', message, reason === undefined ? {} : { reason });

/** Longest piece of client input an error message may quote (1 MiB in must not mean 1 MiB out). */
export const MAX_QUOTED_CHARS = 40;

/**
 * Quotes client input for an error message: JSON string syntax (so control characters and lone
 * surrogates come out escaped, never raw) cut to MAX_QUOTED_CHARS characters.
 */
export function quote(value: string): string {
  return value.length > MAX_QUOTED_CHARS
    ? `${JSON.stringify(value.slice(0, MAX_QUOTED_CHARS))}... (${value.length} characters)`
    : JSON.stringify(value);
}
