/**
 * The one error type of the service. Each carries the HTTP status the CDS Hooks spec names for it;
 * the HTTP layer maps it in one place (src/http/error-handler.ts). Messages are safe to show a
 * client: no stack, no PHI, no token.
 */
export type CdsErrorCode =
  'bad-request' | 'unauthorized' | 'not-found' | 'precondition-failed' | 'payload-too-large' | 'internal';

const STATUS_BY_CODE: Record<CdsErrorCode, number> = {
  'bad-request': 400,
  unauthorized: 401,
  'not-found': 404,
  // CDS Hooks 2.0 "Prefetch": a service that cannot obtain the data it needs answers 412.
  'precondition-failed': 412,
  'payload-too-large': 413,
  internal: 500,
};

export class CdsError extends Error {
  readonly code: CdsErrorCode;

  constructor(code: CdsErrorCode, message: string) {
    super(message);
    this.name = 'CdsError';
    this.code = code;
  }

  get status(): number {
    return STATUS_BY_CODE[this.code];
  }
}

export const badRequest = (message: string): CdsError => new CdsError('bad-request', message);
export const notFound = (message: string): CdsError => new CdsError('not-found', message);
export const preconditionFailed = (message: string): CdsError => new CdsError('precondition-failed', message);
