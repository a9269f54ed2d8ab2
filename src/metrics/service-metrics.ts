/**
 * What the service counts (issue 11, "Metrics"), as an interface the HTTP layer and use cases call;
 * prometheus-metrics.ts implements it with prom-client. Every label is a closed set of codes
 * (outcomes, checks, routes, override reason codes), never an id, name, value or token.
 */
import type { FhirRequestOutcome } from '../fhir/fhir-client.js';

export interface ServiceMetrics {
  /** One patient-view call answered 200: its outcome (`grade-2`, `data-gap`, `none`, `suppressed`, `silent`...). */
  hookCall(outcome: string): void;
  /** Any HTTP request: the matched route pattern (not the path), method, status and duration. */
  httpRequest(route: string, method: string, status: number, seconds: number): void;
  fhirRequest(outcome: FhirRequestOutcome, seconds: number): void;
  /** A refused JWT: the check that failed (`signature`, `expired`, `replayed`, ...). */
  authFailure(failedCheck: string): void;
  /** One feedback item: outcome and override reason (`system|code` of our own reasons, else `other`/`none`). */
  feedback(outcome: string, reason: string): void;
  /** A card ledger read or write that failed (the hook was answered anyway). */
  ledgerFailure(operation: 'read' | 'write'): void;
}

/** Metrics that go nowhere (tests, and callers that do not count). */
export const NO_METRICS: ServiceMetrics = {
  hookCall: () => undefined,
  httpRequest: () => undefined,
  fhirRequest: () => undefined,
  authFailure: () => undefined,
  feedback: () => undefined,
  ledgerFailure: () => undefined,
};

const FINDING_OUTCOMES: Record<string, string> = {
  'afebrile-card': 'afebrile',
  'sepsis-card': 'sepsis',
  'data-gap-card': 'data-gap',
  'no-card': 'none',
};

/**
 * The hook outcome label: `silent` or `suppressed` when governance held every card back, else the
 * card's kind, a CRS card by its grade (`grade-1` .. `grade-4`).
 */
export function hookOutcomeLabel(facts: {
  outcome: string;
  grade?: number | null;
  dispositions?: readonly string[];
}): string {
  const dispositions = facts.dispositions ?? [];
  if (dispositions.length > 0 && dispositions.every((d) => d === 'silent')) return 'silent';
  if (dispositions.length > 0 && dispositions.every((d) => d === 'suppressed')) return 'suppressed';
  if (facts.outcome === 'crs-card') return typeof facts.grade === 'number' ? `grade-${facts.grade}` : 'crs';
  return FINDING_OUTCOMES[facts.outcome] ?? 'other';
}

/** Our own override reasons keep their code; an EHR's own codes are `other` (unbounded set). */
export function feedbackReasonLabel(
  reason: { system?: string | undefined; code: string } | undefined,
  ownSystem: string,
): string {
  if (reason === undefined) return 'none';
  return reason.system === ownSystem && /^[a-z0-9-]{1,40}$/.test(reason.code) ? reason.code : 'other';
}
