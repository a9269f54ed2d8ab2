import { describe, expect, it } from 'vitest';
import { cohortReport, distribution, summaryPattern } from '../../src/replay/cohort-metrics.js';
import type { Decision } from '../../src/replay/governance-step.js';
import { DEFAULT_REFERENCE_EVENTS } from '../../src/replay/reference-events.js';
import type { PatientReplay } from '../../src/replay/replay-patient.js';

const H = 3_600_000;
const DAY = 24 * H;

function card(atMs: number, fingerprint: unknown[], indicator: Decision['indicator'] = 'critical'): Decision {
  return {
    atMs,
    indicator,
    kind: 'sepsis-card',
    grade: 'none',
    contexts: ['sepsis'],
    summary: `Circulatory failure in a sepsis context: SBP ${String(80 + atMs / H)} mmHg`,
    rule: 'sepsis-circulation (diagnosis)',
    fingerprint: JSON.stringify(fingerprint),
    facts: {
      kind: 'sepsis-circulation',
      grade: null,
      context: 'sepsis',
      indicator,
      fingerprint: { domains: [], agents: [] },
    },
    shown: true,
  };
}

/** Two patients, 3 days in all: one coded septic (2 days, 1 episode), one never coded (1 day, 2 episodes). */
const patients: PatientReplay[] = [
  {
    patientKey: 'a',
    steps: 49,
    patientDays: 2,
    stays: [
      {
        startMs: 0,
        endMs: 2 * DAY,
        steps: 49,
        codedSepsis: true,
        episodes: [{ startMs: 3 * H, endMs: 4 * H, indicator: 'critical', shown: true }],
        events: [
          {
            id: 'vasopressor-start',
            atMs: 2.5 * H,
            firstAlertMs: 3 * H,
            outcomeAfter: 'sepsis-card (critical)',
          },
        ],
      },
    ],
    decisions: [
      card(3 * H, [4, 0, false, ['norepinephrine']]),
      card(4 * H, [4, 0, false, ['norepinephrine']]),
    ],
    dataGapSteps: { 'no-spo2': 2 },
    undated: {},
    unreadable: {},
    unused: {},
  },
  {
    patientKey: 'b',
    steps: 25,
    patientDays: 1,
    stays: [
      {
        startMs: 0,
        endMs: DAY,
        steps: 25,
        codedSepsis: false,
        episodes: [
          { startMs: H, endMs: H, indicator: 'critical', shown: true },
          { startMs: 5 * H, endMs: 5 * H, indicator: 'critical', shown: true },
        ],
        events: [
          {
            id: 'vasopressor-start',
            atMs: 10 * H,
            outcomeAfter: 'no card: no CAR-T, bispecific or sepsis context',
          },
        ],
      },
    ],
    decisions: [card(H, [0, 3, false, []]), card(5 * H, [0, 3, false, []])],
    dataGapSteps: { 'no-spo2': 1 },
    undated: {},
    unreadable: {},
    unused: {},
  },
];

describe('cohort figures on hand-computed cases', () => {
  const report = cohortReport(patients, DEFAULT_REFERENCE_EVENTS);

  it('alert burden overall and in stays never coded as sepsis', () => {
    expect(report.patientDays).toBe(3);
    expect(report.alertEpisodes).toEqual({ raw: 3, governed: 3, perPatientDay: { raw: 1, governed: 1 } });
    expect(report.notCodedSepsis).toEqual({
      stays: 1,
      patientDays: 1,
      alertEpisodes: { raw: 2, governed: 2 },
      perPatientDay: { raw: 2, governed: 2 },
    });
    expect(report.cardsPerPatientDay.raw).toEqual({ critical: 1.3333, 'critical/grade none': 1.3333 });
  });

  it('critical cards set by oxygen alone in a sepsis-only context are counted', () => {
    expect(report.oxygenOnlyCriticalInSepsis).toBe(2);
  });

  it('time to alert and why an event was not alerted within 1 h', () => {
    expect(report.events[0]).toEqual({
      id: 'vasopressor-start',
      label: 'vasopressor infusion started',
      stays: 2,
      alerted: 1,
      alertedWithin1h: 1,
      leadLagMinutes: { count: 1, min: 30, p25: 30, median: 30, p75: 30, max: 30 },
      notAlertedWithin1hBecause: [['no card: no CAR-T, bispecific or sepsis context', 1]],
    });
    expect(report.dataGapSteps).toEqual({ 'no-spo2': 3 });
    expect(report.top.summaries[0]).toEqual(['Circulatory failure in a sepsis context: SBP # mmHg', 4]);
  });

  it('distribution quantiles are nearest-rank', () => {
    expect(distribution([40, 10, 30, 20])).toEqual({
      count: 4,
      min: 10,
      p25: 10,
      median: 20,
      p75: 30,
      max: 40,
    });
    expect(summaryPattern('39.1 °C, SBP 84 mmHg, day 3')).toBe('# °C, SBP # mmHg, day #');
  });
});
