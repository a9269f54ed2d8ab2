/**
 * The one place errors become HTTP answers. CdsError carries its status (400, 401, 404, 405, 412,
 * 413, 415); body-parser's own errors (which carry a `type`, or are zlib errors for a corrupt
 * compressed body) and the router's percent-decoding error are mapped to CdsErrors here; anything
 * else is a 500 whose body says nothing of the internals. No stack trace ever leaves the process.
 */
import type { Duplex } from 'node:stream';
import type { ErrorRequestHandler, Request, Response } from 'express';
import { CdsError } from '../errors/cds-error.js';
import type { Logger } from '../logging/logger.js';
import { declaredLength } from './request-body.js';
import { addLogFacts, requestIdOf } from './request-logging.js';

/** Content codings body-parser inflates on Node 20 (RFC 9110 section 12.5.3 `Accept-Encoding`). */
export const ACCEPTED_CONTENT_CODINGS = 'gzip, deflate, br, identity';

interface HttpishError {
  status: number;
  type?: unknown;
  code?: unknown;
  errno?: unknown;
  name?: unknown;
}

function isHttpishError(error: unknown): error is HttpishError {
  return typeof error === 'object' && error !== null && 'status' in error && typeof error.status === 'number';
}

export const malformedPath = (): CdsError =>
  new CdsError('bad-request', 'request path is malformed: a percent-escape is incomplete or not UTF-8', {
    reason: 'path: malformed percent-escape',
  });

const BODY_PARSER_ERRORS: Record<string, CdsError> = {
  'entity.parse.failed': new CdsError('bad-request', 'request body is not valid JSON'),
  'entity.too.large': new CdsError('payload-too-large', 'request body is larger than this service accepts'),
  // RFC 9110 section 15.5.16: a content coding the resource does not take is a 415.
  'encoding.unsupported': new CdsError(
    'unsupported-media-type',
    'request body Content-Encoding is not supported',
  ),
  'charset.unsupported': new CdsError('unsupported-media-type', 'request body charset is not supported'),
  'request.aborted': new CdsError('bad-request', 'request body was not received in full'),
  'request.size.invalid': new CdsError(
    'bad-request',
    'request body length does not match its Content-Length',
  ),
};

/**
 * Errors raised outside our code that mean "the request is wrong", as CdsErrors; undefined for
 * anything else. body-parser passes on the zlib error (`code` Z_DATA_ERROR, Z_BUF_ERROR, ...;
 * brotli's start ERR_) of a body that fails to inflate, with status 400 and no `type`; express
 * 5's router throws a URIError with status 400 for a path parameter with a malformed
 * percent-escape (app.ts answers those before routing; this is the backstop).
 */
function knownForeignError(error: unknown): CdsError | undefined {
  if (!isHttpishError(error)) return undefined;
  if (typeof error.type === 'string') {
    return Object.hasOwn(BODY_PARSER_ERRORS, error.type) ? BODY_PARSER_ERRORS[error.type] : undefined;
  }
  if (
    error.status === 400 &&
    typeof error.errno === 'number' &&
    typeof error.code === 'string' &&
    /^(Z_|ZSTD_|ERR_)/i.test(error.code)
  ) {
    return new CdsError('bad-request', 'request body could not be decompressed (corrupt Content-Encoding)', {
      reason: 'body: corrupt compressed content',
    });
  }
  if (error.status === 400 && error.name === 'URIError') return malformedPath();
  return undefined;
}

export function sendError(req: Request, res: Response, error: CdsError, bodyLimitBytes: number): void {
  // A refused request whose body was not read and is over the limit (a 413 answered from its
  // Content-Length, or a 401 for a huge body): close the connection after the answer rather than
  // read and discard the rest (RFC 9110 section 15.5.14, RFC 9112 section 9.6). A body within the
  // limit is drained by node instead: closing with unread data can reset the connection before
  // the client reads the answer, and a 401 must reach an EHR whose token expired.
  if (!req.complete && (error.code === 'payload-too-large' || (declaredLength(req) ?? 0) > bodyLimitBytes)) {
    res.set('Connection', 'close');
  }
  if (error.allowedMethods) res.set('Allow', error.allowedMethods.join(', '));
  if (error.code === 'unsupported-media-type') {
    res.set('Accept-Encoding', ACCEPTED_CONTENT_CODINGS);
    // W3C LDP / IANA `Accept-Post`: the media types a POST here takes.
    res.set('Accept-Post', 'application/json');
  }
  if (error.code === 'unauthorized') {
    // RFC 6750 section 3: no detail of which check failed reaches the caller.
    res.set('WWW-Authenticate', 'Bearer realm="crs-sentinel", error="invalid_token"');
    res.status(401).json({ error: 'unauthorized' });
    return;
  }
  res.status(error.status).json({ error: error.code, message: error.message });
}

/** At most this much of a foreign error's message is logged (it could quote data). */
const MAX_LOGGED_MESSAGE = 200;

export function createErrorHandler(logger: Logger, bodyLimitBytes: number): ErrorRequestHandler {
  return (error: unknown, req, res, next) => {
    if (res.headersSent) {
      next(error);
      return;
    }
    const known = error instanceof CdsError ? error : knownForeignError(error);
    if (known && known.code !== 'internal') {
      addLogFacts(res, { reason: known.reason });
      sendError(req, res, known, bodyLimitBytes);
      return;
    }
    // Unhandled: name and message for the operator, with the request id. Our own messages carry
    // no PHI; a foreign one might quote data, so it is cut short.
    const errorName = error instanceof Error ? error.name : typeof error;
    const errorMessage =
      error instanceof CdsError
        ? error.message
        : error instanceof Error
          ? error.message.slice(0, MAX_LOGGED_MESSAGE)
          : undefined;
    addLogFacts(res, { errorName, ...(errorMessage === undefined ? {} : { errorMessage }) });
    logger.error(
      { reqId: requestIdOf(res), errorName, ...(errorMessage === undefined ? {} : { errorMessage }) },
      'unhandled error',
    );
    res.status(500).json({ error: 'internal', message: 'internal error' });
  };
}

/** Every method any path here takes (the union of the routes' `Allow`). */
const ANY_PATH_METHODS = ['GET', 'HEAD', 'POST', 'OPTIONS'] as const;

/**
 * A CONNECT request (a tunnel, RFC 9110 section 9.3.6) never reaches express: node hands it to the
 * server's 'connect' listener and, with none, drops the connection without a word. This service is
 * no proxy: the answer is the 405 any other method gets, with `Allow`, and the connection closes.
 */
export function refuseConnect(socket: Duplex): void {
  const error = new CdsError(
    'method-not-allowed',
    `CONNECT is not allowed here; use ${ANY_PATH_METHODS.join(', ')}`,
    {
      allowedMethods: ANY_PATH_METHODS,
    },
  );
  const body = JSON.stringify({ error: error.code, message: error.message });
  socket.on('error', () => undefined);
  socket.end(
    [
      `HTTP/1.1 ${error.status} Method Not Allowed`,
      `Allow: ${ANY_PATH_METHODS.join(', ')}`,
      'Content-Type: application/json; charset=utf-8',
      `Content-Length: ${Buffer.byteLength(body)}`,
      'Connection: close',
      '',
      body,
    ].join('\r\n'),
  );
}
