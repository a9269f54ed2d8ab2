import { rmSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { afterAll, describe, expect, it } from 'vitest';
import { cohortReport } from '../../src/replay/cohort-metrics.js';
import { DEFAULT_REFERENCE_EVENTS } from '../../src/replay/reference-events.js';
import type { GovernancePolicy } from '../../src/replay/governance-step.js';
import { buildTimeline } from '../../src/replay/patient-timeline.js';
import { replayPatient } from '../../src/replay/replay-patient.js';
import { replayOptions, runReplay, type ReplaySettings } from '../../src/replay/run-replay.js';
import { patientKey } from '../../src/replay/split-export.js';
import { HOUR, T0, cartAndQuietPatients, writeExport } from './constructed-export.js';

const settings: ReplaySettings = {
  stepMs: HOUR,
  eventWindowMs: 24 * HOUR,
  events: [...DEFAULT_REFERENCE_EVENTS],
  plotSeries: true,
  cardsDir: fileURLToPath(new URL('../../cards', import.meta.url)),
};

const exportDir = writeExport(cartAndQuietPatients(), {
  'Observation.ndjson.gz': ['{"resourceType": "Observation", "id": ', '[1,2]'],
});
afterAll(() => rmSync(exportDir, { recursive: true, force: true }));

describe('replay of a constructed export', () => {
  it('replays each stay hour by hour with the engine; malformed lines reported by file and line, skipped', async () => {
    const run = await runReplay({ ndjson: exportDir, settings });
    expect(run.split.malformed).toEqual({
      count: 2,
      first: [
        { file: 'Observation.ndjson.gz', line: 145, problem: 'not JSON' },
        { file: 'Observation.ndjson.gz', line: 146, problem: 'not a JSON object' },
      ],
    });
    const cart = run.patients.find((p) => p.patientKey === patientKey('cart'));
    const quiet = run.patients.find((p) => p.patientKey === patientKey('quiet'));
    expect(quiet).toMatchObject({ steps: 11, decisions: [], stays: [{ episodes: [], events: [] }] });
    expect(cart?.steps).toBe(25);
    const timeline = cart?.decisions.map((d) => `${String((d.atMs - T0) / HOUR)}h ${d.indicator} ${d.grade}`);
    expect(timeline?.join(', ')).toBe(
      '5h warning 1, 6h warning 1, 7h warning 1, 8h warning 1, 9h warning 1, 10h warning 1, 11h critical 2, ' +
        Array.from({ length: 13 }, (_, i) => `${String(12 + i)}h critical 3`).join(', '),
    );
    expect(cart?.stays).toEqual([
      {
        startMs: T0,
        endMs: T0 + 24 * HOUR,
        steps: 25,
        codedSepsis: false,
        episodes: [{ startMs: T0 + 5 * HOUR, endMs: T0 + 24 * HOUR, indicator: 'critical', shown: true }],
        // First shown alert within 24 h of each event: 5 h, before the pressor and the hypotension.
        events: [
          {
            id: 'fever',
            atMs: T0 + 5 * HOUR,
            firstAlertMs: T0 + 5 * HOUR,
            outcomeAfter: 'crs-card (warning)',
          },
          {
            id: 'hypotension',
            atMs: T0 + 10 * HOUR,
            firstAlertMs: T0 + 5 * HOUR,
            outcomeAfter: 'crs-card (warning)',
          },
          {
            id: 'vasopressor-start',
            atMs: T0 + 12 * HOUR,
            firstAlertMs: T0 + 5 * HOUR,
            outcomeAfter: 'crs-card (critical)',
          },
        ],
      },
    ]);
    expect(cart?.plot?.infusions).toEqual([[T0 + 12 * HOUR, T0 + 20 * HOUR, 'norepinephrine']]);
    expect(quiet?.plot).toBeUndefined();

    // Hand-computed cohort figures: 34 h = 1.41667 patient-days.
    const report = cohortReport(run.patients, DEFAULT_REFERENCE_EVENTS);
    expect(report).toMatchObject({
      patients: 2,
      stays: 2,
      steps: 36,
      patientDays: 1.42,
      cards: {
        raw: {
          warning: 6,
          critical: 14,
          'warning/grade 1': 6,
          'critical/grade 2': 1,
          'critical/grade 3': 13,
        },
      },
      cardsPerPatientDay: { raw: { warning: Number((6 / (34 / 24)).toFixed(4)) } },
      alertEpisodes: { raw: 1, governed: 1, perPatientDay: { raw: Number((24 / 34).toFixed(4)) } },
      patientsEverAlerted: { raw: 1, governed: 1, share: { raw: 0.5, governed: 0.5 } },
      events: [
        {
          id: 'vasopressor-start',
          stays: 1,
          alerted: 1,
          alertedWithin1h: 1,
          leadLagMinutes: { count: 1, median: -420 },
        },
        {
          id: 'hypotension',
          stays: 1,
          alerted: 1,
          alertedWithin1h: 1,
          leadLagMinutes: { count: 1, median: -300 },
        },
        { id: 'fever', stays: 1, alerted: 1, alertedWithin1h: 1, leadLagMinutes: { count: 1, median: 0 } },
      ],
    });
    expect(report.top.contexts).toEqual([['car-t', 20]]);
  });

  it('sharding: the shards partition the patients and their merge equals one run', async () => {
    const whole = await runReplay({ ndjson: exportDir, settings });
    const shards = [];
    for (const index of [1, 2, 3])
      shards.push(await runReplay({ ndjson: exportDir, settings, shard: { index, count: 3 } }));
    const merged = shards.flatMap((s) => s.patients).sort((a, b) => (a.patientKey < b.patientKey ? -1 : 1));
    expect(merged).toEqual(whole.patients);
    expect(cohortReport(merged, DEFAULT_REFERENCE_EVENTS)).toEqual(
      cohortReport(whole.patients, DEFAULT_REFERENCE_EVENTS),
    );
    expect(shards.map((s) => s.split.routed).reduce((a, b) => a + b, 0)).toBe(whole.split.routed);
  });

  it('a governance policy decides shown or suppressed from the previous decisions: raw and governed differ', () => {
    // Shown again only when the indicator rises or 6 h after the last shown card.
    const quiet6h: GovernancePolicy = (previous, next) => {
      const last = [...previous].reverse().find((d) => d.shown);
      if (!last || (next.indicator === 'critical' && last.indicator !== 'critical')) return 'shown';
      return next.atMs - last.atMs >= 6 * HOUR ? 'shown' : 'suppressed';
    };
    const resources = cartAndQuietPatients().filter((r) => JSON.stringify(r).includes('cart'));
    const replay = replayPatient(buildTimeline('cart', resources), 'k', {
      ...replayOptions(settings),
      policy: quiet6h,
    });
    const shown = replay.decisions.filter((d) => d.shown).map((d) => (d.atMs - T0) / HOUR);
    expect(shown).toEqual([5, 11, 17, 23]);
    const report = cohortReport([replay], DEFAULT_REFERENCE_EVENTS);
    expect(report.cards).toEqual({
      raw: { critical: 14, 'critical/grade 2': 1, 'critical/grade 3': 13, warning: 6, 'warning/grade 1': 6 },
      governed: {
        critical: 3,
        'critical/grade 2': 1,
        'critical/grade 3': 2,
        warning: 1,
        'warning/grade 1': 1,
      },
    });
  });

  it('--assume-ack runs the service governance policy: an answered card quiets the same card, escalation breaks through', async () => {
    const run = await runReplay({ ndjson: exportDir, settings: { ...settings, assumeAckMs: 2 * HOUR } });
    const cart = run.patients.find((p) => p.patientKey === patientKey('cart'));
    const shown = cart?.decisions
      .filter((d) => d.shown)
      .map((d) => `${String((d.atMs - T0) / HOUR)}h ${d.grade}`);
    // 5 h and 6 h shown (no answer yet); the 5 h card is answered at 7 h: quiet for 12 h (policy
    // default) until the grade rises at 11 h and 12 h (and at 13 h against the grade-2 card answered
    // then); from 14 h the grade-3 card answered is the reference and nothing is new.
    expect(shown?.join(', ')).toBe('5h 1, 6h 1, 11h 2, 12h 3, 13h 3');
    const report = cohortReport(run.patients, DEFAULT_REFERENCE_EVENTS);
    expect(report.cards.governed).toEqual({
      critical: 3,
      'critical/grade 2': 1,
      'critical/grade 3': 2,
      warning: 2,
      'warning/grade 1': 2,
    });
    expect(report.alertEpisodes).toMatchObject({ raw: 1, governed: 1 });
  });
});
