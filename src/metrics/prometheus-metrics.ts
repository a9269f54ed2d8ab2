/**
 * ServiceMetrics in the Prometheus text format with prom-client
 * (https://github.com/siimots/prom-client), in a registry of its own (no global state, so tests
 * and several services in one process do not collide), with Node's default process metrics.
 */
import { Counter, Histogram, Registry, collectDefaultMetrics } from 'prom-client';
import type { ServiceMetrics } from './service-metrics.js';

/** Latency buckets in seconds: the hook's p50 is tens of ms, its FHIR deadline 3 s by default. */
const LATENCY_BUCKETS = [0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10];

export interface PrometheusMetrics extends ServiceMetrics {
  readonly registry: Registry;
}

export function createPrometheusMetrics(options: { defaultMetrics?: boolean } = {}): PrometheusMetrics {
  const registry = new Registry();
  if (options.defaultMetrics !== false)
    collectDefaultMetrics({ register: registry, prefix: 'crs_sentinel_' });
  const registers = [registry];
  const hookCalls = new Counter({
    name: 'crs_sentinel_hook_calls_total',
    help: 'patient-view calls answered, by outcome (grade-N, data-gap, none, suppressed, silent, ...)',
    labelNames: ['outcome'],
    registers,
  });
  const httpRequests = new Counter({
    name: 'crs_sentinel_http_requests_total',
    help: 'HTTP requests by route pattern, method and status',
    labelNames: ['route', 'method', 'status'],
    registers,
  });
  const httpDuration = new Histogram({
    name: 'crs_sentinel_http_request_duration_seconds',
    help: 'HTTP request latency by route pattern and method',
    labelNames: ['route', 'method'],
    buckets: LATENCY_BUCKETS,
    registers,
  });
  const fhirRequests = new Counter({
    name: 'crs_sentinel_fhir_requests_total',
    help: 'FHIR HTTP requests made by the service, by outcome',
    labelNames: ['outcome'],
    registers,
  });
  const fhirDuration = new Histogram({
    name: 'crs_sentinel_fhir_request_duration_seconds',
    help: 'FHIR HTTP request latency by outcome',
    labelNames: ['outcome'],
    buckets: LATENCY_BUCKETS,
    registers,
  });
  const authFailures = new Counter({
    name: 'crs_sentinel_auth_failures_total',
    help: 'Refused client JWTs by the check that failed',
    labelNames: ['check'],
    registers,
  });
  const feedback = new Counter({
    name: 'crs_sentinel_feedback_total',
    help: 'Card feedback items by outcome and override reason',
    labelNames: ['outcome', 'reason'],
    registers,
  });
  const ledgerFailures = new Counter({
    name: 'crs_sentinel_ledger_failures_total',
    help: 'Card ledger reads or writes that failed (the hook was answered anyway)',
    labelNames: ['operation'],
    registers,
  });
  return {
    registry,
    hookCall: (outcome) => hookCalls.inc({ outcome }),
    httpRequest(route, method, status, seconds) {
      httpRequests.inc({ route, method, status: String(status) });
      httpDuration.observe({ route, method }, seconds);
    },
    fhirRequest(outcome, seconds) {
      fhirRequests.inc({ outcome });
      fhirDuration.observe({ outcome }, seconds);
    },
    authFailure: (check) => authFailures.inc({ check }),
    feedback: (outcome, reason) => feedback.inc({ outcome, reason }),
    ledgerFailure: (operation) => ledgerFailures.inc({ operation }),
  };
}
