/**
 * Counts every HTTP request by the route pattern it matched (`/cds-services/:id`, never the path
 * itself), method and status, with its latency (issue 11, "Metrics").
 */
import type { RequestHandler } from 'express';
import type { ServiceMetrics } from '../metrics/service-metrics.js';

const METHODS = new Set(['GET', 'HEAD', 'POST', 'OPTIONS', 'PUT', 'PATCH', 'DELETE']);

export function httpMetrics(metrics: ServiceMetrics): RequestHandler {
  return (req, res, next) => {
    const started = process.hrtime.bigint();
    res.on('finish', () => {
      const pattern: unknown = (req.route as { path?: unknown } | undefined)?.path;
      const route = typeof pattern === 'string' ? pattern : 'unmatched';
      const method = METHODS.has(req.method) ? req.method : 'other';
      metrics.httpRequest(route, method, res.statusCode, Number(process.hrtime.bigint() - started) / 1e9);
    });
    next();
  };
}
