import { describe, expect, it } from 'vitest';
import type { LedgerEntry } from '../../src/governance/card-ledger.js';
import type { FeedbackRecord } from '../../src/feedback/feedback-store.js';
import { buildLedgerReport, formatLedgerReport } from '../../src/governance/ledger-report.js';

let n = 0;
function entry(
  patientKey: string,
  decidedAt: string,
  grade: number | null,
  disposition: LedgerEntry['disposition'],
): LedgerEntry {
  n++;
  return {
    cardUuid: `c${n}`,
    suggestionUuids: [],
    serviceId: 'crs-sentinel',
    patientKey,
    hookInstance: 'h',
    ehrIssuer: 'iss',
    kind: grade === null ? 'data-gap' : 'crs',
    grade,
    context: 'car-t',
    indicator: grade === null ? 'info' : grade === 1 ? 'warning' : 'critical',
    fingerprint: { domains: [], agents: [] },
    decidedAt,
    disposition,
    feedback: [],
  };
}
const fb = (outcome: FeedbackRecord['outcome'], code?: string, unknownCard?: true): FeedbackRecord => ({
  serviceId: 'crs-sentinel',
  card: 'c1',
  outcome,
  ...(code === undefined ? {} : { overrideReason: { system: 'urn:crs-sentinel:override-reason', code } }),
  outcomeTimestamp: '2025-01-15T12:00:00.000Z',
  receivedAt: '2025-01-15T12:00:00.000Z',
  ...(unknownCard === undefined ? {} : { unknownCard }),
});

describe('ledger report', () => {
  it('counts would-be and shown cards per patient-day by indicator and grade, feedback, and time to escalation', () => {
    const entries = [
      entry('a', '2025-01-15T08:00:00.000Z', 2, 'shown'),
      entry('a', '2025-01-15T09:00:00.000Z', 2, 'suppressed'),
      entry('a', '2025-01-15T14:00:00.000Z', 3, 'shown'),
      entry('b', '2025-01-15T10:00:00.000Z', 1, 'silent'),
      entry('b', '2025-01-16T10:00:00.000Z', 1, 'silent'),
      entry('c', '2025-01-16T10:00:00.000Z', null, 'shown'),
    ];
    const feedback = [
      fb('overridden', 'already-managed'),
      fb('overridden'),
      fb('accepted'),
      fb('accepted', undefined, true),
    ];
    const report = buildLedgerReport(
      entries,
      feedback,
      new Date('2025-01-15T00:00:00Z'),
      new Date('2025-01-17T00:00:00Z'),
    );
    expect(report).toMatchObject({
      decisions: 6,
      patients: 3,
      patientDays: 4,
      suppressed: 1,
      feedback: {
        total: 4,
        byOutcome: { overridden: 2, accepted: 2 },
        byOverrideReason: { 'urn:crs-sentinel:override-reason|already-managed': 1, none: 1 },
        unknownCards: 1,
      },
      escalation: { patients: 1, hoursFromFirstCard: [6], medianHours: 6 },
    });
    expect(report.byIndicatorAndGrade).toEqual([
      {
        indicator: 'critical',
        grade: 2,
        wouldBe: 2,
        shown: 1,
        suppressed: 1,
        silent: 0,
        wouldBePerPatientDay: 0.5,
        shownPerPatientDay: 0.25,
      },
      {
        indicator: 'critical',
        grade: 3,
        wouldBe: 1,
        shown: 1,
        suppressed: 0,
        silent: 0,
        wouldBePerPatientDay: 0.25,
        shownPerPatientDay: 0.25,
      },
      {
        indicator: 'info',
        grade: null,
        wouldBe: 1,
        shown: 1,
        suppressed: 0,
        silent: 0,
        wouldBePerPatientDay: 0.25,
        shownPerPatientDay: 0.25,
      },
      {
        indicator: 'warning',
        grade: 1,
        wouldBe: 2,
        shown: 0,
        suppressed: 0,
        silent: 2,
        wouldBePerPatientDay: 0.5,
        shownPerPatientDay: 0,
      },
    ]);
    const text = formatLedgerReport(report);
    expect(text).toContain('6 decisions, 3 patients, 4 patient-days, 1 suppressed');
    expect(text).toContain('Escalations: 1 patients, median 6 h from first card');
  });

  it('an empty period', () => {
    const report = buildLedgerReport([], [], new Date(0), new Date(1));
    expect(report).toMatchObject({
      decisions: 0,
      patientDays: 0,
      byIndicatorAndGrade: [],
      escalation: { medianHours: null },
    });
    expect(formatLedgerReport(report)).toContain('Escalations: none');
  });
});
