/**
 * One JSON log line per request, written when the response finishes: request id, method, path
 * (never the query), status, latency, and the facts a route added with `addLogFacts` (hook
 * instance, hashed patient id, counts; for a 4xx the `reason`: field and check, never a value; for
 * a 500 the error's name and message). No headers or bodies are ever logged.
 */
import { randomUUID } from 'node:crypto';
import type { RequestHandler, Response } from 'express';
import type { Logger } from '../logging/logger.js';

const REQUEST_ID = /^[A-Za-z0-9._-]{1,64}$/;

interface RequestLogState {
  id: string;
  facts: Record<string, unknown>;
}

function stateOf(res: Response): RequestLogState | undefined {
  return res.locals.requestLog as RequestLogState | undefined;
}

/** The request id of the request's log line (the `X-Request-Id` answered), if any. */
export function requestIdOf(res: Response): string | undefined {
  return stateOf(res)?.id;
}

/** Adds safe facts (no PHI) to the request's log line. */
export function addLogFacts(res: Response, facts: Record<string, unknown>): void {
  const state = stateOf(res);
  if (state) Object.assign(state.facts, facts);
}

export function requestLogging(logger: Logger): RequestHandler {
  return (req, res, next) => {
    const started = process.hrtime.bigint();
    const given = req.headers['x-request-id'];
    const id = typeof given === 'string' && REQUEST_ID.test(given) ? given : randomUUID();
    const path = req.path;
    const state: RequestLogState = { id, facts: {} };
    res.locals.requestLog = state;
    res.setHeader('X-Request-Id', id);
    res.on('finish', () => {
      const status = res.statusCode;
      const level = status >= 500 ? 'error' : status >= 400 ? 'warn' : 'info';
      const latencyMs = Number(process.hrtime.bigint() - started) / 1e6;
      logger[level](
        {
          reqId: id,
          method: req.method,
          path,
          status,
          latencyMs: Math.round(latencyMs * 100) / 100,
          ...state.facts,
        },
        'request completed',
      );
    });
    next();
  };
}
