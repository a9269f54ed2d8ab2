/**
 * The governance policy (issue 11): pure, no I/O, no clock. The patient's prior ledger entries
 * (with their feedback), the new card's facts and `now` in; show or suppress, and what changed,
 * out. docs/governance.md states the rules and their reasons:
 *
 * - An answered card (an accepted suggestion, or an override) quiets later cards for the same
 *   patient that are no worse: same or lower grade, no new context, vasopressor or domain. The
 *   quiet period depends on the answer (policy-config.ts). Acknowledgement is patient-level: it
 *   holds for every clinician who opens the chart (CDS Hooks feedback carries no user, and the
 *   override speaks for the team: "already being managed").
 * - Escalation always breaks through, at once: a higher grade, a new therapy context, a new
 *   vasopressor agent, a new finding domain. The card then says what changed since the card the
 *   clinicians answered (or, without an answer, since the last card shown).
 */
import type { FeedbackRecord } from '../feedback/feedback-store.js';
import type { CardFacts } from './card-facts.js';
import { DOMAINS } from './card-facts.js';
import type { LedgerEntry } from './card-ledger.js';
import { hoursToMs, type PolicyConfig, type QuietPeriod } from './policy-config.js';

export type Change =
  | { readonly kind: 'grade'; readonly from: number | null; readonly to: number | null }
  | { readonly kind: 'context-added'; readonly context: string }
  | { readonly kind: 'vasopressor-started'; readonly agent: string }
  | { readonly kind: 'domain-added'; readonly domain: string };

/** What changed since an earlier card, and when that card was decided. */
export interface WhatChanged {
  readonly since: string;
  readonly changes: readonly Change[];
}

export type PolicyDecision =
  | {
      readonly action: 'show';
      readonly reason: 'no-acknowledgement' | 'quiet-period-over' | 'escalation';
      readonly whatChanged?: WhatChanged;
    }
  | {
      readonly action: 'suppress';
      readonly reason: 'acknowledged';
      /** The answered card that keeps this one quiet. */
      readonly acknowledgedCard: string;
      /** Quiet until this instant (ISO); absent: until the therapy context changes. */
      readonly until?: string;
    };

export interface PolicyInput {
  /** The patient's earlier decisions for this service, any order. */
  readonly history: readonly LedgerEntry[];
  readonly candidate: CardFacts;
  readonly now: Date;
  readonly config: PolicyConfig;
}

interface Acknowledgement {
  readonly entry: LedgerEntry;
  readonly at: number;
  readonly period: QuietPeriod;
}

export function decideCard(input: PolicyInput): PolicyDecision {
  const nowMs = input.now.getTime();
  const acknowledgement = latestAcknowledgement(input.history, nowMs, input.config);
  const lastShown = latestShown(input.history, nowMs);
  if (acknowledgement === undefined) {
    return withChanges({ action: 'show', reason: 'no-acknowledgement' }, lastShown, input.candidate);
  }
  const answered = acknowledgement.entry;
  const escalation = escalations(answered, input.candidate);
  if (escalation.length > 0) {
    return {
      action: 'show',
      reason: 'escalation',
      whatChanged: { since: answered.decidedAt, changes: escalation },
    };
  }
  const period = acknowledgement.period;
  if ('untilContextChanges' in period) {
    if (answered.context !== input.candidate.context) {
      return withChanges({ action: 'show', reason: 'quiet-period-over' }, lastShown, input.candidate);
    }
    return {
      action: 'suppress',
      reason: 'acknowledged',
      acknowledgedCard: answered.cardUuid,
      until: 'context-change',
    };
  }
  const until = acknowledgement.at + hoursToMs(period.hours);
  if (nowMs >= until) {
    return withChanges({ action: 'show', reason: 'quiet-period-over' }, lastShown, input.candidate);
  }
  return {
    action: 'suppress',
    reason: 'acknowledged',
    acknowledgedCard: answered.cardUuid,
    until: new Date(until).toISOString(),
  };
}

/** Adds what changed since the last card shown, when anything got worse. */
function withChanges(
  decision: PolicyDecision & { action: 'show' },
  lastShown: LedgerEntry | undefined,
  candidate: CardFacts,
): PolicyDecision {
  if (lastShown === undefined) return decision;
  const changes = escalations(lastShown, candidate);
  return changes.length === 0
    ? decision
    : { ...decision, whatChanged: { since: lastShown.decidedAt, changes } };
}

/** The answer given last (by its outcome time, up to now), with its quiet period. */
function latestAcknowledgement(
  history: readonly LedgerEntry[],
  nowMs: number,
  config: PolicyConfig,
): Acknowledgement | undefined {
  let latest: Acknowledgement | undefined;
  for (const entry of history) {
    for (const feedback of entry.feedback) {
      const at = Date.parse(feedback.outcomeTimestamp);
      if (!(at <= nowMs) || (latest !== undefined && at < latest.at)) continue;
      latest = { entry, at, period: quietPeriod(feedback, config) };
    }
  }
  return latest;
}

export function quietPeriod(feedback: FeedbackRecord, config: PolicyConfig): QuietPeriod {
  if (feedback.outcome === 'accepted') return config.accepted;
  const reason = feedback.overrideReason;
  if (reason?.system === undefined) return config.otherOverride;
  return config.overrideReasons[`${reason.system}|${reason.code}`] ?? config.otherOverride;
}

function latestShown(history: readonly LedgerEntry[], nowMs: number): LedgerEntry | undefined {
  let latest: LedgerEntry | undefined;
  for (const entry of history) {
    if (entry.disposition !== 'shown' || Date.parse(entry.decidedAt) > nowMs) continue;
    if (latest === undefined || entry.decidedAt >= latest.decidedAt) latest = entry;
  }
  return latest;
}

/** How `next` is worse than `before`: higher grade, new context, new vasopressor, new domain. */
export function escalations(before: CardFacts, next: CardFacts): Change[] {
  const changes: Change[] = [];
  if ((next.grade ?? 0) > (before.grade ?? 0))
    changes.push({ kind: 'grade', from: before.grade, to: next.grade });
  const beforeContexts = new Set(before.context?.split('+') ?? []);
  for (const context of next.context?.split('+') ?? []) {
    if (!beforeContexts.has(context)) changes.push({ kind: 'context-added', context });
  }
  for (const agent of next.fingerprint.agents) {
    if (!before.fingerprint.agents.includes(agent)) changes.push({ kind: 'vasopressor-started', agent });
  }
  for (const domain of next.fingerprint.domains) {
    if ((DOMAINS as readonly string[]).includes(domain) && !before.fingerprint.domains.includes(domain)) {
      changes.push({ kind: 'domain-added', domain });
    }
  }
  return changes;
}
