/**
 * The one place errors become HTTP answers. CdsError carries its status (400, 401, 404, 412,
 * 413); body-parser's own errors map to 400 (malformed JSON), 413 (too large) and 415; anything
 * else is a 500 whose body says nothing of the internals. No stack trace ever leaves the process.
 */
import type { ErrorRequestHandler, Response } from 'express';
import { CdsError } from '../errors/cds-error.js';
import type { Logger } from '../logging/logger.js';

interface BodyParserError {
  type: string;
  status: number;
}

function isBodyParserError(error: unknown): error is BodyParserError {
  return (
    typeof error === 'object' &&
    error !== null &&
    'type' in error &&
    typeof error.type === 'string' &&
    'status' in error &&
    typeof error.status === 'number'
  );
}

const BODY_PARSER_ERRORS: Record<string, CdsError> = {
  'entity.parse.failed': new CdsError('bad-request', 'request body is not valid JSON'),
  'entity.too.large': new CdsError('payload-too-large', 'request body is larger than this service accepts'),
  'encoding.unsupported': new CdsError('bad-request', 'request body encoding is not supported'),
  'charset.unsupported': new CdsError('bad-request', 'request body charset is not supported'),
  'request.aborted': new CdsError('bad-request', 'request body was not received in full'),
};

export function sendError(res: Response, error: CdsError): void {
  if (error.code === 'unauthorized') {
    // RFC 6750 section 3: no detail of which check failed reaches the caller.
    res.set('WWW-Authenticate', 'Bearer realm="crs-sentinel", error="invalid_token"');
    res.status(401).json({ error: 'unauthorized' });
    return;
  }
  res.status(error.status).json({ error: error.code, message: error.message });
}

export function createErrorHandler(logger: Logger): ErrorRequestHandler {
  return (error: unknown, _req, res, next) => {
    if (res.headersSent) {
      next(error);
      return;
    }
    const known =
      error instanceof CdsError
        ? error
        : isBodyParserError(error)
          ? BODY_PARSER_ERRORS[error.type]
          : undefined;
    if (known) {
      sendError(res, known);
      return;
    }
    // Unknown: log the kind only (a message could echo request data), answer without internals.
    logger.error({ errorName: error instanceof Error ? error.name : typeof error }, 'unhandled error');
    res.status(500).json({ error: 'internal', message: 'internal error' });
  };
}
