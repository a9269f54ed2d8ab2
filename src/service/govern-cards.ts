/**
 * Alert governance for one hook call (issue 11): every card decided is written to the card ledger
 * with its facts and disposition. A store that fails never fails the hook: the card is answered,
 * and the failure is reported (logged without PHI, counted) through `onStoreError`.
 */
import type { CdsCard } from '../cds-hooks/cds-hooks-types.js';
import type { HookRequest } from '../cds-hooks/hook-request.js';
import { cardFacts } from '../governance/card-facts.js';
import type { CardDecision, CardLedger, Disposition } from '../governance/card-ledger.js';
import type { PatientKeyHasher } from '../governance/patient-key.js';
import type { CrsAssessment } from '../rules/crs-sentinel/assess-crs.js';
import type { AuthenticatedCaller } from './request-authenticator.js';

export interface GovernanceDeps {
  readonly serviceId: string;
  readonly ledger: CardLedger;
  readonly patientKey: PatientKeyHasher;
  /** A ledger read or write failed (the hook is still answered). */
  readonly onStoreError?: (operation: 'read' | 'write', error: unknown) => void;
}

export interface GovernedCards {
  readonly cards: CdsCard[];
  /** Facts for the request log and metrics: no PHI. */
  readonly log: { dispositions: Disposition[]; ledger: 'recorded' | 'write-failed' | 'nothing-to-record' };
}

export interface GovernInput {
  readonly request: HookRequest;
  readonly caller: AuthenticatedCaller;
  readonly assessment: CrsAssessment;
  readonly cards: readonly CdsCard[];
  readonly now: Date;
}

export async function governCards(input: GovernInput, deps: GovernanceDeps): Promise<GovernedCards> {
  const patientKey = deps.patientKey(input.caller.iss, input.request.context.patientId);
  const decisions = input.cards.map((card) => decisionFor(input, deps.serviceId, patientKey, card, 'shown'));
  const ledger = await recordDecisions(decisions, deps);
  return {
    cards: [...input.cards],
    log: { dispositions: decisions.map((d) => d.disposition), ledger },
  };
}

function decisionFor(
  input: GovernInput,
  serviceId: string,
  patientKey: string,
  card: CdsCard,
  disposition: Disposition,
): CardDecision {
  const facts = cardFacts(input.assessment, card);
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
    await deps.ledger.record(decisions);
    return 'recorded';
  } catch (error) {
    deps.onStoreError?.('write', error);
    return 'write-failed';
  }
}
