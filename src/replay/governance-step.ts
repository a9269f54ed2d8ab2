/**
 * The governance step of a replay: given the decisions already taken for a patient and a new
 * would-be card, is it shown or suppressed? Pluggable so the replay runs the same policy as the
 * service (issue 11's alert-governance policy plugs in here); the default is no governance: every
 * would-be card counts as shown, and the report's "raw" and "governed" figures are equal.
 */

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
}

export interface Decision extends WouldBeCard {
  shown: boolean;
}

export type GovernancePolicy = (previous: readonly Decision[], next: WouldBeCard) => 'shown' | 'suppressed';

/** No governance: everything the engine would say is shown. */
export const showEveryCard: GovernancePolicy = () => 'shown';
