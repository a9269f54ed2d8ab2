import { describe, expect, it } from 'vitest';
import { buildTimeline } from '../../src/replay/patient-timeline.js';
import { dataAt } from '../../src/replay/time-travel.js';
import {
  HOUR,
  T0,
  at,
  diagnosis,
  infusion,
  person,
  stay,
  systolic,
  temperature,
} from './constructed-export.js';

const DAY = 24 * HOUR;
const lab = {
  resourceType: 'Observation',
  id: 'lactate',
  status: 'final',
  category: [
    {
      coding: [{ system: 'http://terminology.hl7.org/CodeSystem/observation-category', code: 'laboratory' }],
    },
  ],
  code: { coding: [{ system: 'http://loinc.org', code: '2524-7' }] },
  subject: { reference: 'Patient/p' },
  effectiveDateTime: at(3),
  issued: at(5),
  valueQuantity: { value: 4.1, unit: 'mmol/L' },
};
const timeline = buildTimeline('p', [
  { ...person('p'), deceasedDateTime: at(30) },
  stay('p', 'enc', 0, 24),
  temperature('p', 'o1', 37, 1),
  temperature('p', 'o2', 38.5, 4),
  systolic('p', 'o3', 80, 6),
  lab,
  infusion('p', 'norepi', 'norepinephrine', 2, 8),
  diagnosis('p', 'sepsis', 'A41.9', 24),
  {
    resourceType: 'Condition',
    id: 'no-recorded',
    code: { text: 'x' },
    subject: { reference: 'Patient/p' },
    onsetDateTime: at(0),
  },
  { resourceType: 'Observation', id: 'broken', code: { coding: 'not-an-array' } },
]);

const ids = (list: readonly { id?: string | undefined }[]) => list.map((r) => r.id);

describe('time travel: what the EHR held at each step', () => {
  it.each([
    [0, [], [], []],
    [1, ['o1'], [], []],
    [4, ['o1', 'o2'], [], ['norepi']],
    [5, ['o1', 'o2'], ['lactate'], ['norepi']],
    [7, ['o1', 'o2', 'o3'], ['lactate'], ['norepi']],
  ])('at %i h: vitals %j, labs %j (issued, not effective, time), infusions %j', (h, vitals, labs, mas) => {
    const data = dataAt(timeline, T0 + h * HOUR, 31 * DAY);
    expect(ids(data.vitals)).toEqual(vitals);
    expect(ids(data.labs)).toEqual(labs);
    expect(ids(data.medicationAdministrations)).toEqual(mas);
  });

  it('never includes anything known after now', () => {
    for (let h = -1; h <= 30; h += 0.5) {
      const now = T0 + h * HOUR;
      const data = dataAt(timeline, now, 31 * DAY);
      for (const o of [...data.vitals, ...data.labs])
        expect(Date.parse(o.issued ?? o.effectiveDateTime ?? '')).toBeLessThanOrEqual(now);
      for (const m of data.medicationAdministrations) {
        expect(Date.parse(m.effectivePeriod?.start ?? '')).toBeLessThanOrEqual(now);
        if (m.effectivePeriod?.end !== undefined)
          expect(Date.parse(m.effectivePeriod.end)).toBeLessThanOrEqual(now);
      }
      for (const c of data.conditions) expect(Date.parse(c.recordedDate ?? '')).toBeLessThanOrEqual(now);
      for (const e of data.encounters)
        if (e.period?.end) expect(Date.parse(e.period.end)).toBeLessThanOrEqual(now);
      if (data.patient?.deceasedDateTime)
        expect(Date.parse(data.patient.deceasedDateTime)).toBeLessThanOrEqual(now);
    }
  });

  it('a running infusion is in progress: no end, no final amount; after its end it is as charted', () => {
    const running = dataAt(timeline, T0 + 5 * HOUR, 31 * DAY).medicationAdministrations[0];
    expect(running?.status).toBe('in-progress');
    expect(running?.effectivePeriod).toEqual({ start: at(2) });
    expect(running?.dosage).toEqual({ rateQuantity: { value: 0.1, unit: 'mcg/kg/min' } });
    const done = dataAt(timeline, T0 + 9 * HOUR, 31 * DAY).medicationAdministrations[0];
    expect(done?.status).toBe('completed');
    expect(done?.effectivePeriod).toEqual({ start: at(2), end: at(8) });
  });

  it('a diagnosis is seen only from its recordedDate; one without recordedDate never (counted undated)', () => {
    expect(ids(dataAt(timeline, T0 + 23 * HOUR, 31 * DAY).conditions)).toEqual([]);
    expect(ids(dataAt(timeline, T0 + 24 * HOUR, 31 * DAY).conditions)).toEqual(['sepsis']);
    expect(timeline.undated).toEqual({ Condition: 1 });
  });

  it('the stay is in progress until its end; the death only after it happened', () => {
    const during = dataAt(timeline, T0 + 10 * HOUR, 31 * DAY);
    expect(during.encounters).toEqual([
      expect.objectContaining({ status: 'in-progress', period: { start: at(0) } }),
    ]);
    expect(during.patient?.deceasedDateTime).toBeUndefined();
    const after = dataAt(timeline, T0 + 31 * HOUR, 31 * DAY);
    expect(after.encounters[0]?.status).toBe('finished');
    expect(after.patient?.deceasedDateTime).toBe(at(30));
  });

  it('looks back no further than the horizon; unreadable resources are counted by problem', () => {
    expect(ids(dataAt(timeline, T0 + 7 * HOUR, 2 * HOUR).vitals)).toEqual(['o3']);
    expect(timeline.unreadable).toEqual({ 'Observation.code.coding: expected array, got string': 1 });
  });
});
