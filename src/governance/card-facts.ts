/**
 * What the ledger keeps of a decided card (issue 11): kind, grade, context, indicator and the
 * fingerprint of the findings that set it (domains and vasopressor agents), read from the
 * assessment. Pure: no values, names or ids of the patient, only codes the rules define.
 */
import type { CdsCard } from '../cds-hooks/cds-hooks-types.js';
import type { CrsAssessment } from '../rules/crs-sentinel/assess-crs.js';
import type { FindingsFingerprint } from './card-ledger.js';

/** The finding domains a card can rest on; a new one joining is an escalation. */
export const DOMAINS = ['fever', 'hypotension', 'hypoxia'] as const;

export interface CardFacts {
  readonly kind: string;
  readonly grade: number | null;
  /** Therapy contexts, sorted and joined with `+` (e.g. `car-t`, `bispecific+car-t`), or null. */
  readonly context: string | null;
  readonly indicator: 'info' | 'warning' | 'critical';
  readonly fingerprint: FindingsFingerprint;
}

const KIND: Record<CrsAssessment['outcome']['kind'], string> = {
  'crs-card': 'crs',
  'afebrile-card': 'afebrile-physiology',
  'sepsis-card': 'sepsis-circulation',
  'data-gap-card': 'data-gap',
  'no-card': 'none',
};

export function cardFacts(assessment: CrsAssessment, card: CdsCard): CardFacts {
  const g = assessment.grade;
  const domains: string[] = [];
  if (g.feverPresent) domains.push('fever');
  if (g.hypotensionDomain > 0) domains.push('hypotension');
  if (g.hypoxiaDomain > 0) domains.push('hypoxia');
  const outcome = assessment.outcome;
  if (outcome.kind === 'data-gap-card') domains.push(`data-gap:${outcome.missing}`);
  return {
    kind: KIND[outcome.kind],
    grade: g.grade === 'none' ? null : g.grade,
    context: assessment.contexts.length === 0 ? null : [...assessment.contexts].sort().join('+'),
    indicator: card.indicator,
    fingerprint: {
      domains,
      agents: assessment.vitals.vasopressors.agents.map((a) => a.id).sort(),
    },
  };
}
