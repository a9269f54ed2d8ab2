import type { MedicationAdministration, Observation, Condition, Patient } from 'fhir/r4';
import { describe, expect, it } from 'vitest';
import { assessCrs, type CrsOutcome } from '../../src/rules/crs-sentinel/assess-crs.js';
import type { GradeResult } from '../../src/rules/crs-sentinel/grade-crs.js';
import { DEFAULT_RULE_CONFIG } from '../../src/rules/crs-sentinel/rule-config.js';
import {
  admin,
  ago,
  AXI_CEL,
  bp,
  condition,
  device,
  DOBUTAMINE,
  NOREPINEPHRINE,
  NOW,
  obs,
  patient,
  patientData,
  PHENYLEPHRINE,
  rx,
  spo2,
  temp,
  TOCILIZUMAB,
  VASOPRESSIN,
} from './helpers/fhir-builders.js';

const carT = admin(AXI_CEL, 3 * 24);
const running = (med: typeof NOREPINEPHRINE): MedicationAdministration =>
  admin(med, 6, { status: 'in-progress', untilHoursAgo: -1 });

/** The fields a case checks: the grade, its domains, the fever rule and the basis. */
function graded(partial: Partial<GradeResult>): Partial<GradeResult> {
  return {
    grade: 'none',
    hypotensionDomain: 0,
    hypoxiaDomain: 0,
    feverPresent: false,
    feverRequired: true,
    afebrilePhysiology: false,
    ...partial,
  };
}
const CRITICAL: CrsOutcome = { kind: 'crs-card', indicator: 'critical' };
const WARNING: CrsOutcome = { kind: 'crs-card', indicator: 'warning' };
const NO_FINDING: CrsOutcome = { kind: 'no-card', reason: 'no CRS-consistent finding in the recent window' };
const fever = 'fever: 39.1 °C >= 38 °C';
/** Two low readings at distinct times: confirmed hypotension. */
const lowBp = (systolic: number): Observation[] => [bp(systolic, 50, 1), bp(systolic + 1, 50, 3)];
const IM_EPINEPHRINE: MedicationAdministration = {
  ...admin(rx('3992', 'epinephrine'), 2),
  dosage: { route: { coding: [{ system: 'http://snomed.info/sct', code: '78421000' }] } },
};

interface Case {
  name: string;
  vitals?: Observation[];
  meds?: MedicationAdministration[];
  conditions?: Condition[];
  patient?: Patient;
  expected: { grade: Partial<GradeResult>; outcome: CrsOutcome };
}

/** A vasopressor record `in-progress` with a start and no end (an infusion nobody closed). */
const openSince = (hoursAgo: number): MedicationAdministration => {
  const { effectiveDateTime: _time, ...record } = admin(NOREPINEPHRINE, hoursAgo, { status: 'in-progress' });
  return { ...record, effectivePeriod: { start: ago(hoursAgo) } };
};

const cases: Case[] = [
  {
    name: 'an open vasopressor record started 10 days ago is stale, not support now: grade 1',
    vitals: [temp(39.1, 2), bp(118, 70, 2)],
    meds: [carT, openSince(10 * 24)],
    expected: { grade: graded({ grade: 1, feverPresent: true, basis: [fever] }), outcome: WARNING },
  },
  {
    name: 'an open vasopressor record started 2 days ago is still running: grade 3',
    vitals: [temp(39.1, 2), bp(118, 70, 2)],
    meds: [carT, openSince(2 * 24)],
    expected: { grade: graded({ grade: 3, hypotensionDomain: 3, feverPresent: true }), outcome: CRITICAL },
  },
  {
    name: 'grade 1: fever alone after CAR-T',
    vitals: [temp(39.1, 2), bp(118, 70, 2)],
    meds: [carT],
    expected: { grade: graded({ grade: 1, feverPresent: true, basis: [fever] }), outcome: WARNING },
  },
  {
    name: 'grade 2: fever and SBP 84 twice without vasopressors',
    vitals: [temp(39.1, 2), ...lowBp(84)],
    meds: [carT],
    expected: {
      grade: graded({
        grade: 2,
        hypotensionDomain: 2,
        feverPresent: true,
        basis: [fever, 'SBP 84 mmHg < 90 (2 readings) without vasopressors: hypotension domain grade 2'],
      }),
      outcome: CRITICAL,
    },
  },
  {
    name: 'one low reading is not confirmed hypotension: grade 1',
    vitals: [temp(39.1, 2), bp(84, 50, 1), bp(118, 70, 3)],
    meds: [carT],
    expected: { grade: graded({ grade: 1, feverPresent: true, basis: [fever] }), outcome: WARNING },
  },
  {
    name: 'grade 3: one vasopressor plus vasopressin',
    vitals: [temp(39.1, 2), bp(84, 50, 1)],
    meds: [carT, running(NOREPINEPHRINE), running(VASOPRESSIN)],
    expected: {
      grade: graded({
        grade: 3,
        hypotensionDomain: 3,
        feverPresent: true,
        basis: [
          fever,
          'one vasopressor (norepinephrine + vasopressin; vasopressin not counted toward several): hypotension domain grade 3',
        ],
      }),
      outcome: CRITICAL,
    },
  },
  {
    name: 'grade 4: two counted vasopressors',
    vitals: [temp(39.1, 2)],
    meds: [carT, running(NOREPINEPHRINE), admin(PHENYLEPHRINE, 5, { untilHoursAgo: 3 })],
    expected: {
      grade: graded({
        grade: 4,
        hypotensionDomain: 4,
        feverPresent: true,
        basis: [fever, '2 vasopressors (norepinephrine + phenylephrine): hypotension domain grade 4'],
      }),
      outcome: CRITICAL,
    },
  },
  {
    name: 'IM epinephrine and a single IV push of phenylephrine are not vasopressor support',
    vitals: [temp(39.1, 2), bp(118, 70, 2)],
    meds: [carT, IM_EPINEPHRINE, admin(PHENYLEPHRINE, 1)],
    expected: { grade: graded({ grade: 1, feverPresent: true, basis: [fever] }), outcome: WARNING },
  },
  {
    name: 'dobutamine is an inotrope: not counted',
    vitals: [temp(39.1, 2), bp(100, 60, 1)],
    meds: [carT, running(DOBUTAMINE)],
    expected: { grade: graded({ grade: 1, feverPresent: true, basis: [fever] }), outcome: WARNING },
  },
  {
    name: 'low-flow oxygen: exactly 6 L/min is grade 2 (ASTCT)',
    vitals: [temp(39.1, 2), spo2(93, 1, 6)],
    meds: [carT],
    expected: {
      grade: graded({
        grade: 2,
        hypoxiaDomain: 2,
        feverPresent: true,
        basis: [fever, 'oxygen support low-flow (6 L/min): hypoxia domain grade 2'],
      }),
      outcome: CRITICAL,
    },
  },
  {
    name: 'high-flow oxygen: 8 L/min nasal cannula is grade 3',
    vitals: [temp(39.1, 2), spo2(92, 1, 8), device('Nasal cannula', 1)],
    meds: [carT],
    expected: {
      grade: graded({
        grade: 3,
        hypoxiaDomain: 3,
        feverPresent: true,
        basis: [fever, 'oxygen support high-flow (Nasal cannula, 8 L/min): hypoxia domain grade 3'],
      }),
      outcome: CRITICAL,
    },
  },
  {
    name: 'positive pressure (BiPAP) serving hypoxia is grade 4',
    vitals: [temp(39.1, 2), device('BiPAP', 1), spo2(88, 1)],
    meds: [carT],
    expected: {
      grade: graded({
        grade: 4,
        hypoxiaDomain: 4,
        feverPresent: true,
        basis: [fever, 'oxygen support positive-pressure (BiPAP): hypoxia domain grade 4'],
      }),
      outcome: CRITICAL,
    },
  },
  {
    name: 'home CPAP on room air (no oxygen need) is not positive pressure for CRS: grade 1',
    vitals: [temp(39.1, 2), device('CPAP (home machine)', 1), spo2(96, 1)],
    meds: [carT],
    expected: { grade: graded({ grade: 1, feverPresent: true, basis: [fever] }), outcome: WARNING },
  },
  {
    name: 'SpO2 86 % with no support charted is hypoxia needing support: grade 2',
    vitals: [temp(39.1, 2), spo2(86, 1)],
    meds: [carT],
    expected: {
      grade: graded({
        grade: 2,
        hypoxiaDomain: 2,
        feverPresent: true,
        basis: [
          fever,
          'SpO2 86 % with no oxygen support charted: treated as hypoxia needing support, hypoxia domain grade 2',
        ],
      }),
      outcome: CRITICAL,
    },
  },
  {
    name: 'waiver: fever (CRS present), then tocilizumab, now afebrile hypotension: grade 2',
    vitals: [temp(39.0, 30), temp(37.0, 2), ...lowBp(85)],
    meds: [carT, admin(TOCILIZUMAB, 10)],
    expected: {
      grade: graded({
        grade: 2,
        hypotensionDomain: 2,
        feverRequired: false,
        feverMaskedBy: [
          { id: 'tocilizumab', name: 'tocilizumab', medicationClass: 'tocilizumab', lastGiven: ago(10) },
        ],
      }),
      outcome: CRITICAL,
    },
  },
  {
    name: 'tocilizumab before any fever never waives it: afebrile physiology, no CRS grade',
    vitals: [temp(37.0, 2), ...lowBp(85)],
    meds: [carT, admin(TOCILIZUMAB, 10)],
    expected: {
      grade: graded({ hypotensionDomain: 2, afebrilePhysiology: true }),
      outcome: { kind: 'afebrile-card', indicator: 'warning' },
    },
  },
  {
    name: 'waiver by a recorded CRS diagnosis then dexamethasone',
    vitals: [temp(37.2, 2), ...lowBp(86)],
    meds: [carT, admin(rx('3264', 'dexamethasone'), 8)],
    conditions: [condition('http://hl7.org/fhir/sid/icd-10-cm', 'D89.831', { onsetDateTime: ago(12) })],
    expected: {
      grade: graded({ grade: 2, hypotensionDomain: 2, feverRequired: false }),
      outcome: CRITICAL,
    },
  },
  {
    name: 'afebrile hypotension after CAR-T without CRS first: not CRS by ASTCT',
    vitals: [temp(37.0, 2), ...lowBp(85)],
    meds: [carT],
    expected: {
      grade: graded({ hypotensionDomain: 2, afebrilePhysiology: true }),
      outcome: { kind: 'afebrile-card', indicator: 'warning' },
    },
  },
  {
    name: 'no usable temperature with hypotension in a therapy window: a data-gap card',
    vitals: [...lowBp(82)],
    meds: [carT],
    expected: {
      grade: graded({ hypotensionDomain: 2, afebrilePhysiology: true }),
      outcome: { kind: 'data-gap-card', indicator: 'info', missing: 'temperature' },
    },
  },
  {
    name: 'old fever (30 h ago) with normal recent vitals: no card',
    vitals: [temp(39.4, 30), temp(37.1, 2), bp(120, 70, 2)],
    meds: [carT],
    expected: { grade: graded({}), outcome: NO_FINDING },
  },
  {
    name: 'entered-in-error fever is not read',
    vitals: [temp(39.4, 2, { status: 'entered-in-error' }), temp(37.1, 1), bp(120, 70, 2)],
    meds: [carT],
    expected: { grade: graded({}), outcome: NO_FINDING },
  },
  {
    name: 'paediatric threshold: age 4, SBP 72 < 74 (Goldstein band 2-5 years)',
    vitals: [temp(39.1, 2), ...lowBp(72)],
    meds: [carT],
    patient: patient('2026-01-01'),
    expected: {
      grade: graded({
        grade: 2,
        hypotensionDomain: 2,
        feverPresent: true,
        basis: [
          fever,
          'SBP 72 mmHg < 74 (age-adjusted for 4 y, Goldstein band 2-5 years) (2 readings) without vasopressors: hypotension domain grade 2',
        ],
      }),
      outcome: CRITICAL,
    },
  },
  {
    name: 'fever without any context: no card',
    vitals: [temp(39.1, 2), ...lowBp(84)],
    expected: {
      grade: graded({ hypotensionDomain: 2, feverPresent: true }),
      outcome: { kind: 'no-card', reason: 'no CAR-T, bispecific or sepsis context' },
    },
  },
  {
    name: 'sepsis diagnosis, ongoing hypotension with lactate 3.4: a critical sepsis circulation card, no CRS grade',
    vitals: [temp(36.8, 2), bp(80, 45, 0.5), bp(82, 45, 1), bp(84, 46, 2), obs('2524-7', 3.4, 'mmol/L', 1)],
    conditions: [condition('http://hl7.org/fhir/sid/icd-10-cm', 'A41.9', { onsetDateTime: ago(20) })],
    expected: {
      grade: graded({ hypotensionDomain: 2, temperatureState: 'afebrile' }),
      outcome: { kind: 'sepsis-card', indicator: 'critical' },
    },
  },
  {
    name: 'sepsis diagnosis, ongoing hypotension without lactate, fluids or vasopressor: no card',
    vitals: [temp(36.8, 2), bp(80, 45, 0.5), bp(82, 45, 1), bp(84, 46, 2)],
    conditions: [condition('http://hl7.org/fhir/sid/icd-10-cm', 'A41.9', { onsetDateTime: ago(20) })],
    expected: {
      grade: graded({ hypotensionDomain: 2, temperatureState: 'afebrile' }),
      outcome: { kind: 'no-card', reason: 'sepsis context without circulatory failure' },
    },
  },
  {
    name: 'sepsis context with fever and oxygen only: no card',
    vitals: [temp(39.1, 2), bp(120, 70, 1), spo2(93, 1, 3)],
    conditions: [condition('http://hl7.org/fhir/sid/icd-10-cm', 'A41.9', { onsetDateTime: ago(20) })],
    expected: {
      grade: graded({ hypoxiaDomain: 2, feverPresent: true }),
      outcome: { kind: 'no-card', reason: 'sepsis context without circulatory failure' },
    },
  },
  {
    name: 'data gap: CAR-T window but no vital signs in 24 h',
    vitals: [temp(37.0, 30)],
    meds: [carT],
    expected: {
      grade: graded({}),
      outcome: { kind: 'data-gap-card', indicator: 'info', missing: 'vital-signs' },
    },
  },
];

describe('ASTCT grade through assessCrs', () => {
  it.each(cases)('$name', (c) => {
    const data = patientData({
      vitals: c.vitals ?? [],
      medicationAdministrations: c.meds ?? [],
      conditions: c.conditions ?? [],
      ...(c.patient && { patient: c.patient }),
    });
    const assessment = assessCrs({ data, now: NOW, rules: DEFAULT_RULE_CONFIG });
    expect(assessment.grade).toMatchObject(c.expected.grade);
    expect(assessment.outcome).toEqual(c.expected.outcome);
  });

  it('SpO2 below 90 uses the configured threshold; MAP < 65 counts as hypotension', () => {
    const data = patientData({
      vitals: [temp(38.5, 1), obs('8478-0', 60, 'mm[Hg]', 1), obs('8478-0', 62, 'mm[Hg]', 2)],
      medicationAdministrations: [carT],
    });
    const assessment = assessCrs({ data, now: NOW, rules: DEFAULT_RULE_CONFIG });
    expect({ grade: assessment.grade, outcome: assessment.outcome }).toMatchObject({
      grade: graded({
        grade: 2,
        hypotensionDomain: 2,
        feverPresent: true,
        basis: [
          'fever: 38.5 °C >= 38 °C',
          'MAP 60 mmHg < 65 (2 readings) without vasopressors: hypotension domain grade 2',
        ],
      }),
      outcome: CRITICAL,
    });
  });
});
