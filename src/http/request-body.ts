/**
 * Reading a JSON request body: what is refused before a byte of it is read, then express.json
 * (body-parser) for the rest (inflating gzip, deflate and br; limiting the inflated size).
 */
import type { IncomingMessage } from 'node:http';
import express, { type RequestHandler } from 'express';
import { CdsError } from '../errors/cds-error.js';

const UNITS: Record<string, number> = { b: 1, kb: 1024, mb: 1024 ** 2, gb: 1024 ** 3 };

/**
 * BODY_LIMIT ("5mb", "800kb") in bytes, with the units body-parser uses (1kb = 1024 bytes), so
 * that this check and body-parser's agree to the byte: body-parser is given the number.
 */
export function parseByteLimit(limit: string): number {
  const match = /^(\d+(?:\.\d+)?)\s*(b|kb|mb|gb)?$/i.exec(limit.trim());
  if (!match) throw new Error(`not a byte size: ${limit}`);
  return Math.floor(Number(match[1]) * (UNITS[(match[2] ?? 'b').toLowerCase()] ?? 1));
}

/** The request's declared Content-Length, when it has a valid one. */
export function declaredLength(req: IncomingMessage): number | undefined {
  const declared = req.headers['content-length'];
  return declared !== undefined && /^\d+$/.test(declared) ? Number(declared) : undefined;
}

const JSON_TYPES = ['application/json', 'application/*+json'];

/**
 * Refuses, before reading anything:
 * - a declared `Content-Length` over the limit: 413 at once (body-parser would first read and
 *   discard the whole body, so a client that declares a large length and stalls waited for the
 *   request timeout); RFC 9110 section 15.5.14. BODY_LIMIT bounds the bytes sent as well as the
 *   bytes inflated.
 * - no content at all (no Transfer-Encoding, no or zero Content-Length): 400, as every POST here
 *   needs a JSON object (CDS Hooks 2.0 "HTTP Request"). Not a 415: with no content there is no
 *   media type to refuse (RFC 9110 section 8.3).
 * - content that is not declared JSON (another or no Content-Type): 415, RFC 9110 section
 *   15.5.16; without a Content-Type a recipient may take it as application/octet-stream (8.3).
 */
export function jsonBody(limitBytes: number): RequestHandler[] {
  const gate: RequestHandler = (req, _res, next) => {
    const length = declaredLength(req);
    if (length !== undefined && length > limitBytes) {
      next(new CdsError('payload-too-large', 'request body is larger than this service accepts'));
      return;
    }
    if (req.headers['transfer-encoding'] === undefined && (length === undefined || length === 0)) {
      next(
        new CdsError('bad-request', 'request body is empty: this endpoint takes a JSON object', {
          reason: 'body: empty',
        }),
      );
      return;
    }
    if (req.is(JSON_TYPES) === false) {
      next(
        new CdsError('unsupported-media-type', 'request body must be JSON (Content-Type: application/json)', {
          reason: 'body: not declared application/json',
        }),
      );
      return;
    }
    next();
  };
  // strict: false parses any JSON value, so that `"x"` or `42` is answered "(body): expected
  // object, got string" by validation rather than "not valid JSON", which it is.
  return [gate, express.json({ limit: limitBytes, type: JSON_TYPES, strict: false })];
}
