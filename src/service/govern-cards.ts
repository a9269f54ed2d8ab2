/**
 * Alert governance for one hook call (issue 11): read the patient's ledger, let the pure policy
 * (src/governance/policy.ts) decide each card (show, or suppress after a clinician's answer; an
 * escalation says what changed), and write every decision to the ledger with its disposition.
 * A store that fails never fails the hook: without the history every card is shown, without the
 * write the card is still answered, and the failure is reported (logged without PHI, counted)
 * through `onStoreError`.
 */
import type { CdsCard } from '../cds-hooks/cds-hooks-types.js';
import type { HookRequest } from '../cds-hooks/hook-request.js';
import { cardFacts, type CardFacts } from '../governance/card-facts.js';
import type { CardDecision, CardLedger, Disposition, LedgerEntry } from '../governance/card-ledger.js';
import type { PatientKeyHasher } from '../governance/patient-key.js';
import { decideCard, type PolicyDecision } from '../governance/policy.js';
import { hoursToMs, type PolicyConfig } from '../governance/policy-config.js';
import { describeWhatChanged, type WhatChangedTemplate } from '../governance/what-changed.js';
import type { CrsAssessment } from '../rules/crs-sentinel/assess-crs.js';
import type { AuthenticatedCaller } from './request-authenticator.js';

export interface GovernanceDeps {
  readonly serviceId: string;
  readonly ledger: CardLedger;
  readonly patientKey: PatientKeyHasher;
  readonly policy: PolicyConfig;
  readonly whatChanged: WhatChangedTemplate;
  /** Silent mode for every caller (SILENT_MODE): assess and record as silent, answer no cards. */
  readonly silent?: boolean;
  /** A ledger read or write failed (the hook is still answered). */
  readonly onStoreError?: (operation: 'read' | 'write', error: unknown) => void;
  /** How long the hook waits for the ledger (default STORE_DEADLINE_MS); a slow store is a failed one. */
  readonly storeDeadlineMs?: number;
}

export interface GovernedCards {
  readonly cards: CdsCard[];
  /** Facts for the request log and metrics: no PHI. */
  readonly log: {
    dispositions: Disposition[];
    /** Why each card was shown or suppressed (policy reasons), in card order. */
    policy: PolicyDecision['reason'][];
    ledger: 'recorded' | 'write-failed' | 'nothing-to-record' | 'history-unavailable';
  };
}

export interface GovernInput {
  readonly request: HookRequest;
  readonly caller: AuthenticatedCaller;
  readonly assessment: CrsAssessment;
  readonly cards: readonly CdsCard[];
  readonly now: Date;
}

/**
 * The longest a hook call waits for the ledger: a slow or hung store must not make the EHR wait
 * (issue 11, "Cost": no 5xx when the store is slow or down). [DESIGN] 1 s, a third of the default
 * FHIR deadline.
 */
export const STORE_DEADLINE_MS = 1000;

export class StoreDeadlineError extends Error {
  constructor(operation: string, ms: number) {
    super(`card ledger ${operation} took longer than ${ms} ms`);
    this.name = 'StoreDeadlineError';
  }
}

/**
 * `work`, or a StoreDeadlineError after the deadline. The work goes on: a write that fails later
 * is still reported (never lost silently); one that succeeds later is simply recorded late.
 */
function withDeadline<T>(work: Promise<T>, operation: 'read' | 'write', deps: GovernanceDeps): Promise<T> {
  const ms = deps.storeDeadlineMs ?? STORE_DEADLINE_MS;
  let timer: NodeJS.Timeout | undefined;
  let timedOut = false;
  const deadline = new Promise<never>((_resolve, reject) => {
    timer = setTimeout(() => {
      timedOut = true;
      reject(new StoreDeadlineError(operation, ms));
    }, ms);
  });
  work.then(
    () => undefined,
    (error: unknown) => {
      if (timedOut) deps.onStoreError?.(operation, error);
    },
  );
  return Promise.race([work, deadline]).finally(() => clearTimeout(timer));
}

/** An extension on an escalated card: what changed, as data (the text is in the detail). */
export const GOVERNANCE_EXTENSION = 'org.crs-sentinel.governance';

export async function governCards(input: GovernInput, deps: GovernanceDeps): Promise<GovernedCards> {
  if (input.cards.length === 0)
    return { cards: [], log: { dispositions: [], policy: [], ledger: 'nothing-to-record' } };
  const patientKey = deps.patientKey(input.caller.iss, input.request.context.patientId);
  if (deps.silent === true || input.caller.silent === true) return silently(input, deps, patientKey);
  const since = new Date(input.now.getTime() - hoursToMs(deps.policy.historyHours));
  let history: LedgerEntry[] | undefined;
  try {
    history = await withDeadline(deps.ledger.patientHistory(deps.serviceId, patientKey, since), 'read', deps);
  } catch (error) {
    deps.onStoreError?.('read', error);
  }
  const answered: CdsCard[] = [];
  const decisions: CardDecision[] = [];
  const reasons: PolicyDecision['reason'][] = [];
  for (const card of input.cards) {
    const facts = cardFacts(input.assessment, card);
    const decision: PolicyDecision =
      history === undefined
        ? { action: 'show', reason: 'no-acknowledgement' }
        : decideCard({ history, candidate: facts, now: input.now, config: deps.policy });
    reasons.push(decision.reason);
    decisions.push(
      decisionFor(
        input,
        deps.serviceId,
        patientKey,
        card,
        facts,
        decision.action === 'show' ? 'shown' : 'suppressed',
      ),
    );
    if (decision.action === 'show') answered.push(annotate(card, decision, input.now, deps.whatChanged));
  }
  const ledger = await recordDecisions(decisions, deps);
  return {
    cards: answered,
    log: {
      dispositions: decisions.map((d) => d.disposition),
      policy: reasons,
      ledger: history === undefined ? 'history-unavailable' : ledger,
    },
  };
}

/**
 * Silent mode (a site validating before go-live): every would-be card is recorded as `silent`
 * and none is answered; the policy is not consulted, as no clinician saw anything to answer.
 */
async function silently(
  input: GovernInput,
  deps: GovernanceDeps,
  patientKey: string,
): Promise<GovernedCards> {
  const decisions = input.cards.map((card) =>
    decisionFor(input, deps.serviceId, patientKey, card, cardFacts(input.assessment, card), 'silent'),
  );
  const ledger = await recordDecisions(decisions, deps);
  return { cards: [], log: { dispositions: decisions.map((d) => d.disposition), policy: [], ledger } };
}

/** An escalated card says what changed, first in its detail, and as data in an extension. */
function annotate(
  card: CdsCard,
  decision: PolicyDecision,
  now: Date,
  template: WhatChangedTemplate,
): CdsCard {
  if (decision.action !== 'show' || decision.whatChanged === undefined) return card;
  const text = describeWhatChanged(decision.whatChanged, now, template);
  const line = template.detailLine.replace('{text}', text);
  return {
    ...card,
    detail: card.detail === undefined ? line : `${line}\n\n${card.detail}`,
    extension: { ...card.extension, [GOVERNANCE_EXTENSION]: { whatChanged: decision.whatChanged } },
  };
}

function decisionFor(
  input: GovernInput,
  serviceId: string,
  patientKey: string,
  card: CdsCard,
  facts: CardFacts,
  disposition: Disposition,
): CardDecision {
  return {
    cardUuid: card.uuid ?? '',
    suggestionUuids: (card.suggestions ?? []).flatMap((s) => (s.uuid === undefined ? [] : [s.uuid])),
    serviceId,
    patientKey,
    hookInstance: input.request.hookInstance,
    ehrIssuer: input.caller.iss,
    ...facts,
    decidedAt: input.now.toISOString(),
    disposition,
  };
}

async function recordDecisions(
  decisions: readonly CardDecision[],
  deps: GovernanceDeps,
): Promise<GovernedCards['log']['ledger']> {
  if (decisions.length === 0) return 'nothing-to-record';
  try {
    await withDeadline(deps.ledger.record(decisions), 'write', deps);
    return 'recorded';
  } catch (error) {
    deps.onStoreError?.('write', error);
    return 'write-failed';
  }
}
