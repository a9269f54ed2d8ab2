/**
 * The governance policy, rule by rule (issue 11, "Governance policy"), table-driven with a fixed
 * `now`: pure, so the whole story of a patient's cards and answers is data.
 */
import { describe, expect, it } from 'vitest';
import type { CardFacts } from '../../src/governance/card-facts.js';
import type { LedgerEntry } from '../../src/governance/card-ledger.js';
import type { FeedbackRecord } from '../../src/feedback/feedback-store.js';
import { decideCard, type PolicyDecision } from '../../src/governance/policy.js';
import {
  DEFAULT_POLICY_CONFIG,
  OVERRIDE_REASON_SYSTEM,
  resolvePolicyConfig,
} from '../../src/governance/policy-config.js';
import { describeWhatChanged } from '../../src/governance/what-changed.js';
import { WHAT_CHANGED } from './governance-helpers.js';

const NOW = new Date('2025-01-15T20:00:00Z');
const at = (hhmm: string, day = '2025-01-15') => `${day}T${hhmm}:00.000Z`;

const grade2: CardFacts = {
  kind: 'crs',
  grade: 2,
  context: 'car-t',
  indicator: 'critical',
  fingerprint: { domains: ['fever', 'hypotension'], agents: [] },
};
const grade1: CardFacts = {
  ...grade2,
  grade: 1,
  indicator: 'warning',
  fingerprint: { domains: ['fever'], agents: [] },
};
const grade3Norepi: CardFacts = {
  ...grade2,
  grade: 3,
  fingerprint: { domains: ['fever', 'hypotension'], agents: ['norepinephrine'] },
};
const grade2Hypoxia: CardFacts = {
  ...grade2,
  fingerprint: { domains: ['fever', 'hypotension', 'hypoxia'], agents: [] },
};
const grade2Sepsis: CardFacts = { ...grade2, context: 'car-t+sepsis' };
const grade2Bispecific: CardFacts = { ...grade2, context: 'bispecific' };
const dataGap: CardFacts = {
  kind: 'data-gap',
  grade: null,
  context: 'car-t',
  indicator: 'info',
  fingerprint: { domains: ['data-gap:vital-signs'], agents: [] },
};

const overridden = (
  code: string | undefined,
  when: string,
  system = OVERRIDE_REASON_SYSTEM,
): FeedbackRecord => ({
  serviceId: 'crs-sentinel',
  card: 'x',
  outcome: 'overridden',
  ...(code === undefined ? {} : { overrideReason: { system, code } }),
  outcomeTimestamp: when,
  receivedAt: when,
});
const accepted = (when: string): FeedbackRecord => ({
  ...overridden(undefined, when),
  outcome: 'accepted',
  acceptedSuggestions: ['s'],
});

let n = 0;
function card(
  facts: CardFacts,
  decidedAt: string,
  feedback: FeedbackRecord[] = [],
  disposition: LedgerEntry['disposition'] = 'shown',
): LedgerEntry {
  n++;
  return {
    ...facts,
    cardUuid: `card-${n}`,
    suggestionUuids: [],
    serviceId: 'crs-sentinel',
    patientKey: 'pk',
    hookInstance: 'h',
    ehrIssuer: 'iss',
    decidedAt,
    disposition,
    feedback: feedback.map((f) => ({ ...f, card: `card-${n}` })),
  };
}

interface Case {
  name: string;
  history: LedgerEntry[];
  candidate: CardFacts;
  expected: Pick<PolicyDecision, 'action' | 'reason'>;
  text?: string;
}

const cases: Case[] = [
  {
    name: 'no earlier card: shown',
    history: [],
    candidate: grade2,
    expected: { action: 'show', reason: 'no-acknowledgement' },
  },
  {
    name: 'the same card again without any answer: shown (nobody acknowledged it)',
    history: [card(grade2, at('14:02')), card(grade2, at('16:00'))],
    candidate: grade2,
    expected: { action: 'show', reason: 'no-acknowledgement' },
  },
  {
    name: 'already being managed, same grade and context, 6 h later: suppressed',
    history: [card(grade2, at('14:02'), [overridden('already-managed', at('14:05'))])],
    candidate: grade2,
    expected: { action: 'suppress', reason: 'acknowledged' },
  },
  {
    name: 'already being managed, a lower grade: suppressed',
    history: [card(grade2, at('14:02'), [overridden('already-managed', at('14:05'))])],
    candidate: grade1,
    expected: { action: 'suppress', reason: 'acknowledged' },
  },
  {
    name: 'already being managed, then a data-gap card (no grade, same context): suppressed',
    history: [card(grade2, at('14:02'), [overridden('already-managed', at('14:05'))])],
    candidate: dataGap,
    expected: { action: 'suppress', reason: 'acknowledged' },
  },
  {
    name: 'already being managed, 12 h are over: shown again',
    history: [card(grade2, at('07:00'), [overridden('already-managed', at('08:00'))])],
    candidate: grade2,
    expected: { action: 'show', reason: 'quiet-period-over' },
  },
  {
    name: 'already being managed, 1 minute before the 12 h end: still suppressed',
    history: [card(grade2, at('07:00'), [overridden('already-managed', at('08:01'))])],
    candidate: grade2,
    expected: { action: 'suppress', reason: 'acknowledged' },
  },
  {
    name: 'an accepted suggestion: suppressed for 12 h',
    history: [card(grade2, at('14:02'), [accepted(at('14:10'))])],
    candidate: grade2,
    expected: { action: 'suppress', reason: 'acknowledged' },
  },
  {
    name: 'fever has another cause: suppressed for 12 h',
    history: [card(grade2, at('14:02'), [overridden('fever-other-cause', at('14:10'))])],
    candidate: grade2,
    expected: { action: 'suppress', reason: 'acknowledged' },
  },
  {
    name: 'an EHR-specific reason (other system): the other-override period, 12 h',
    history: [card(grade2, at('14:02'), [overridden('already-managed', at('14:10'), 'urn:ehr:reasons')])],
    candidate: grade2,
    expected: { action: 'suppress', reason: 'acknowledged' },
  },
  {
    name: 'an override without a reason, 13 h ago: shown',
    history: [card(grade2, at('06:00'), [overridden(undefined, at('07:00'))])],
    candidate: grade2,
    expected: { action: 'show', reason: 'quiet-period-over' },
  },
  {
    name: 'not relevant for this patient, two days later, same context: suppressed',
    history: [
      card(grade2, at('10:00', '2025-01-13'), [overridden('not-relevant', at('10:05', '2025-01-13'))]),
    ],
    candidate: grade2,
    expected: { action: 'suppress', reason: 'acknowledged' },
  },
  {
    name: 'not relevant, then the bispecific context replaces CAR-T: shown (context changed)',
    history: [card(grade2, at('10:00'), [overridden('not-relevant', at('10:05'))])],
    candidate: grade2Bispecific,
    expected: { action: 'show', reason: 'escalation' },
    text: 'since 10:00 UTC: bispecific context now present',
  },
  {
    name: 'escalation: a higher grade with a new vasopressor breaks through at once',
    history: [card(grade2, at('14:02'), [overridden('already-managed', at('14:05'))])],
    candidate: grade3Norepi,
    expected: { action: 'show', reason: 'escalation' },
    text: 'grade 2 -> 3 since 14:02 UTC: norepinephrine started',
  },
  {
    name: 'escalation: a new domain (hypoxia joins hypotension) at the same grade',
    history: [card(grade2, at('14:02'), [overridden('already-managed', at('14:05'))])],
    candidate: grade2Hypoxia,
    expected: { action: 'show', reason: 'escalation' },
    text: 'since 14:02 UTC: hypoxia joined',
  },
  {
    name: 'escalation: a new context (sepsis) at the same grade',
    history: [card(grade2, at('14:02'), [accepted(at('14:05'))])],
    candidate: grade2Sepsis,
    expected: { action: 'show', reason: 'escalation' },
    text: 'since 14:02 UTC: sepsis context now present',
  },
  {
    name: 'escalation: from a grade-1 card answered yesterday, the date is given',
    history: [
      card(grade1, at('22:00', '2025-01-14'), [overridden('already-managed', at('22:10', '2025-01-14'))]),
    ],
    candidate: grade2,
    expected: { action: 'show', reason: 'escalation' },
    text: 'grade 1 -> 2 since 2025-01-14 22:00 UTC: hypotension joined',
  },
  {
    name: 'after an escalation was shown, the same escalated card keeps showing until answered',
    history: [
      card(grade2, at('14:02'), [overridden('already-managed', at('14:05'))]),
      card(grade3Norepi, at('16:00')),
    ],
    candidate: grade3Norepi,
    expected: { action: 'show', reason: 'escalation' },
    text: 'grade 2 -> 3 since 14:02 UTC: norepinephrine started',
  },
  {
    name: 'the escalated card answered too: the next grade-3 card is suppressed',
    history: [
      card(grade2, at('14:02'), [overridden('already-managed', at('14:05'))]),
      card(grade3Norepi, at('16:00'), [overridden('already-managed', at('16:10'))]),
    ],
    candidate: grade3Norepi,
    expected: { action: 'suppress', reason: 'acknowledged' },
  },
  {
    name: 'without an answer, a worse card still says what changed since the last card shown',
    history: [card(grade2, at('14:02')), card(grade2, at('15:00'), [], 'suppressed')],
    candidate: grade3Norepi,
    expected: { action: 'show', reason: 'no-acknowledgement' },
    text: 'grade 2 -> 3 since 14:02 UTC: norepinephrine started',
  },
  {
    name: 'an answer timed after now (clock skew) is not used yet',
    history: [card(grade2, at('14:02'), [overridden('already-managed', at('21:00'))])],
    candidate: grade2,
    expected: { action: 'show', reason: 'no-acknowledgement' },
  },
];

describe('governance policy', () => {
  it.each(cases)('$name', ({ history, candidate, expected, text }) => {
    const decision = decideCard({ history, candidate, now: NOW, config: DEFAULT_POLICY_CONFIG });
    expect(decision).toMatchObject(expected);
    const what = decision.action === 'show' ? decision.whatChanged : undefined;
    expect(what === undefined ? undefined : describeWhatChanged(what, NOW, WHAT_CHANGED)).toBe(text);
  });

  it('suppression says which answered card holds it and until when', () => {
    const history = [card(grade2, at('14:02'), [overridden('already-managed', at('14:05'))])];
    expect(decideCard({ history, candidate: grade2, now: NOW, config: DEFAULT_POLICY_CONFIG })).toEqual({
      action: 'suppress',
      reason: 'acknowledged',
      acknowledgedCard: history[0]?.cardUuid,
      until: '2025-01-16T02:05:00.000Z',
    });
  });

  it('periods per reason are configurable, merged over the defaults', () => {
    const config = resolvePolicyConfig({
      overrideReasons: { [`${OVERRIDE_REASON_SYSTEM}|already-managed`]: { hours: 4 } },
    });
    const history = [card(grade2, at('14:02'), [overridden('already-managed', at('14:05'))])];
    expect(decideCard({ history, candidate: grade2, now: NOW, config })).toMatchObject({
      action: 'show',
      reason: 'quiet-period-over',
    });
    expect(config.overrideReasons[`${OVERRIDE_REASON_SYSTEM}|not-relevant`]).toEqual({
      untilContextChanges: true,
    });
    expect(() => resolvePolicyConfig({ accepted: { hours: -1 } })).toThrow(/^accepted/);
    expect(() => resolvePolicyConfig({ overrideReasons: { 'no-system': { hours: 1 } } })).toThrow(
      /system\|code/,
    );
  });
});
