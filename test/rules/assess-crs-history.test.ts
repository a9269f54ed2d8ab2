/**
 * assessCrs skips the Observations outside every window the rules read (performance: a long chart
 * is not normalized). These pin down what must still be read: body weight whatever its age, the
 * cytokine markers back to the start of their trend, undated readings (reported), and a time taken
 * from `issued` when effectiveDateTime does not parse. And a long irrelevant history changes nothing.
 */
import type { Observation } from 'fhir/r4';
import { describe, expect, it } from 'vitest';
import { assessCrs, type CrsAssessment } from '../../src/rules/crs-sentinel/assess-crs.js';
import type { PatientData } from '../../src/rules/crs-sentinel/patient-data.js';
import { DEFAULT_RULE_CONFIG } from '../../src/rules/crs-sentinel/rule-config.js';
import {
  admin,
  ago,
  AXI_CEL,
  bp,
  device,
  loinc,
  NOW,
  obs,
  patientData,
  quantity,
  spo2,
  temp,
  weight,
} from './helpers/fhir-builders.js';

const HOURS_PER_DAY = 24;

function assess(data: PatientData): CrsAssessment {
  return assessCrs({ data, now: NOW, rules: DEFAULT_RULE_CONFIG });
}

/** Day 3 after axi-cel, 39.1 °C and SBP 84 now: grade 2, where a tocilizumab dose is suggested. */
function grade2(extra: { vitals?: Observation[]; labs?: Observation[] } = {}): PatientData {
  return patientData({
    medicationAdministrations: [admin(AXI_CEL, 72)],
    vitals: [temp(39.1, 2), bp(84, 50, 2), bp(86, 52, 4), spo2(97, 2), ...(extra.vitals ?? [])],
    labs: extra.labs ?? [],
  });
}

/**
 * Extreme vital signs (and labs read only in the window) from before the dose (73 h) to ~6 months
 * ago: fevers since the dose are read (CRS was present), older ones never are.
 */
function irrelevantHistory(count: number): Observation[] {
  const history: Observation[] = [];
  for (let i = 0; i < count; i++) {
    const hoursAgo = 73 + i * 1.5;
    const pick = i % 7;
    if (pick === 0) history.push(temp(40.8, hoursAgo));
    else if (pick === 1) history.push(bp(62, 30, hoursAgo));
    else if (pick === 2) history.push(spo2(81, hoursAgo, 12));
    else if (pick === 3) history.push(device('BiPAP', hoursAgo));
    else if (pick === 4) history.push(obs('2524-7', 6.5, 'mmol/L', hoursAgo));
    else if (pick === 5) history.push(temp(39.9, hoursAgo, { status: 'entered-in-error' }));
    else history.push(obs('8310-5', 30, '[degF]', hoursAgo)); // implausible: would be reported
  }
  // Older than the markers' look-back (7 days before the dose): never part of a trend.
  history.push(obs('1988-5', 500, 'mg/L', 72 + 8 * HOURS_PER_DAY));
  return history;
}

describe('assessCrs reads only what its windows need, with the same results', () => {
  it('uses a 20-day-old body weight for the tocilizumab dose', () => {
    const result = assess(grade2({ vitals: [weight(70, 20 * HOURS_PER_DAY)] }));
    expect(result.grade.grade).toBe(2);
    expect(result.latestWeight?.time).toBe(ago(20 * HOURS_PER_DAY));
    expect(result.tocilizumab.suggestion).toEqual({
      allowed: true,
      doseMg: 560,
      mgPerKg: 8,
      weightKg: 70,
      weightTime: ago(20 * HOURS_PER_DAY),
      capped: false,
    });
  });

  it('reports a 45-day-old weight as too old rather than missing', () => {
    const result = assess(grade2({ vitals: [weight(70, 45 * HOURS_PER_DAY)] }));
    expect(result.latestWeight?.value).toBe(70);
    expect(result.dataGaps.map((g) => g.code)).not.toContain('no-body-weight');
    expect(result.tocilizumab.suggestion).toEqual({
      allowed: false,
      reason: 'latest body weight is older than 30 days',
    });
  });

  it('finds an old weight misfiled among the labs, and one inside a panel', () => {
    const misfiled = assess(grade2({ labs: [weight(64, 10 * HOURS_PER_DAY)] }));
    expect(misfiled.latestWeight?.value).toBe(64);
    const panel: Observation = {
      resourceType: 'Observation',
      id: 'panel-1',
      status: 'final',
      code: loinc('85353-1'),
      effectiveDateTime: ago(12 * HOURS_PER_DAY),
      component: [{ code: loinc('29463-7'), valueQuantity: quantity(58, 'kg') }],
    };
    expect(assess(grade2({ vitals: [panel] })).latestWeight?.value).toBe(58);
  });

  it('ignores a very old fever: no fever now, and not listed among ignored readings', () => {
    const result = assess(
      patientData({
        medicationAdministrations: [admin(AXI_CEL, 72)],
        vitals: [temp(36.9, 2), temp(40.5, 30 * HOURS_PER_DAY), temp(99, 30 * HOURS_PER_DAY)],
      }),
    );
    expect(result.vitals.fever.present).toBe(false);
    expect(result.vitals.fever.highest?.value).toBe(36.9);
    expect(result.ignoredReadings).toEqual([]);
  });

  it('still reports an undated reading as ignored', () => {
    const undated = temp(39.5, 0, { id: 'undated' });
    delete undated.effectiveDateTime;
    const result = assess(grade2({ vitals: [undated] }));
    expect(result.ignoredReadings).toEqual([
      {
        kind: 'temperature',
        reason: 'no-time',
        detail: 'no effective time or issued',
        source: { resourceId: 'undated', system: 'http://loinc.org', code: '8310-5' },
      },
    ]);
  });

  it('times a reading by `issued` when effectiveDateTime does not parse, even if it looks old', () => {
    const reading = temp(40.2, 0, { effectiveDateTime: '2001-01-01T99:00:00Z', issued: ago(1) });
    const result = assess(grade2({ vitals: [reading] }));
    expect(result.vitals.fever.highest).toMatchObject({ value: 40.2, timeSource: 'issued' });
  });

  it('keeps a cytokine baseline from before the dose, up to the edge of the look-back', () => {
    // Dose 72 h ago, look-back 7 days before it: the trend reads from 240 h ago.
    const result = assess(
      grade2({
        labs: [obs('1988-5', 10, 'mg/L', 239), obs('1988-5', 80, 'mg/L', 2)],
        vitals: irrelevantHistory(10),
      }),
    );
    expect(result.labs.markers).toMatchObject([
      { kind: 'crp', baseline: { value: 10 }, latest: { value: 80 }, direction: 'rising', changeFactor: 8 },
    ]);
  });

  it('gives the same assessment with 3,000 irrelevant older Observations, in any order', () => {
    const base = grade2({
      vitals: [weight(70, 20 * HOURS_PER_DAY), temp(37.2, 23), temp(38.4, 30)],
      labs: [obs('1988-5', 10, 'mg/L', 100), obs('1988-5', 80, 'mg/L', 2)],
    });
    const history = irrelevantHistory(3000);
    const shuffled = history.map((o, i) => ({ o, key: (i * 7919) % history.length }));
    shuffled.sort((a, b) => a.key - b.key);
    const long = { ...base, vitals: [...shuffled.map((s) => s.o), ...base.vitals] };
    expect(assess(long)).toEqual(assess(base));
  });
});
