/**
 * The governance step of a replay: given the decisions already taken for a patient and a new
 * would-be card, is it shown or suppressed? Pluggable; the default is no governance (every
 * would-be card counts as shown: "raw" = "governed"). `assumeAcknowledgement` runs the service's
 * own policy (src/governance/policy.ts, issue 11) with a clinician answering every shown card
 * "already being managed" a fixed delay after it was shown (`--assume-ack <duration>`).
 */
import type { CardFacts } from '../governance/card-facts.js';
import type { LedgerEntry } from '../governance/card-ledger.js';
import { decideCard } from '../governance/policy.js';
import { OVERRIDE_REASON_SYSTEM, type PolicyConfig } from '../governance/policy-config.js';

export type Indicator = 'info' | 'warning' | 'critical';

export interface WouldBeCard {
  atMs: number;
  indicator: Indicator;
  /** The engine's outcome kind: crs-card, afebrile-card, sepsis-card, data-gap-card. */
  kind: string;
  /** ASTCT grade (`none` outside a therapy window). */
  grade: string;
  contexts: string[];
  /** The card's summary line, as an EHR would show it. */
  summary: string;
  /** What set the card (the card kind and, in a sepsis context, the rules that fired). */
  rule: string;
  /** Findings behind the card (domains and agents), for a policy that compares cards. */
  fingerprint: string;
  /** What the service's ledger keeps of the card (src/governance/card-facts.ts). */
  facts: CardFacts;
}

export interface Decision extends WouldBeCard {
  shown: boolean;
}

export type GovernancePolicy = (previous: readonly Decision[], next: WouldBeCard) => 'shown' | 'suppressed';

/** No governance: everything the engine would say is shown. */
export const showEveryCard: GovernancePolicy = () => 'shown';

/** The override every simulated clinician gives (a reason the card offers). */
const ALREADY_MANAGED = { system: OVERRIDE_REASON_SYSTEM, code: 'already-managed' };

/** A replayed decision as the service's ledger would hold it, with the simulated answer. */
function ledgerEntry(d: Decision, index: number, ackMs: number): LedgerEntry {
  const decidedAt = new Date(d.atMs).toISOString();
  const cardUuid = `replay-${String(index)}`;
  const answeredAt = new Date(d.atMs + ackMs).toISOString();
  return {
    ...d.facts,
    cardUuid,
    suggestionUuids: [],
    serviceId: 'crs-sentinel',
    patientKey: 'replay',
    hookInstance: 'replay',
    ehrIssuer: 'replay',
    decidedAt,
    disposition: d.shown ? 'shown' : 'suppressed',
    feedback: d.shown
      ? [
          {
            serviceId: 'crs-sentinel',
            card: cardUuid,
            outcome: 'overridden',
            overrideReason: ALREADY_MANAGED,
            outcomeTimestamp: answeredAt,
            receivedAt: answeredAt,
          },
        ]
      : [],
  };
}

/**
 * The service's governance policy, every shown card answered "already being managed" `ackMs`
 * after it was shown (the policy only counts an answer once its time has come).
 */
export function assumeAcknowledgement(ackMs: number, config: PolicyConfig): GovernancePolicy {
  return (previous, next) => {
    const history = previous.map((d, i) => ledgerEntry(d, i, ackMs));
    const decision = decideCard({ history, candidate: next.facts, now: new Date(next.atMs), config });
    return decision.action === 'show' ? 'shown' : 'suppressed';
  };
}
