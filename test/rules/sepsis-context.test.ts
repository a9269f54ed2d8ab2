import type { Condition, Encounter } from 'fhir/r4';
import { describe, expect, it } from 'vitest';
import { medicationEvents } from '../../src/rules/crs-sentinel/medication-events.js';
import { DEFAULT_RULE_CONFIG, resolveRuleConfig } from '../../src/rules/crs-sentinel/rule-config.js';
import {
  findSepsisContext,
  type SepsisContext,
  type SepsisInput,
} from '../../src/rules/crs-sentinel/sepsis-context.js';
import { normalizeObservations } from '../../src/rules/crs-sentinel/normalize-observations.js';
import type { Observation, MedicationAdministration } from 'fhir/r4';
import {
  admin,
  ago,
  bp,
  condition,
  encounter,
  named,
  NOW,
  obs,
  patientData,
  temp,
} from './helpers/fhir-builders.js';

const ICD9 = 'http://hl7.org/fhir/sid/icd-9-cm';
const ICD10 = 'http://hl7.org/fhir/sid/icd-10-cm';
const MIMIC_ICD9 = 'http://mimic.mit.edu/fhir/mimic/CodeSystem/mimic-diagnosis-icd9';
const mimicRules = resolveRuleConfig({}, { site: 'test', systemAliases: { [MIMIC_ICD9]: ICD9 } });

interface Case {
  name: string;
  conditions?: Condition[];
  encounters?: Encounter[];
  vitals?: Observation[];
  meds?: MedicationAdministration[];
  encounterId?: string;
  rules?: typeof DEFAULT_RULE_CONFIG;
  age?: SepsisInput['age'];
  expected: SepsisContext | undefined;
}

const noPhysiology = {
  antibiotics: [],
  notCounted: [],
  sirsCriteria: [],
  qsofaCriteria: [],
  infectionSigns: [],
};
const sirsVitals = [temp(38.6, 2), obs('8867-4', 112, '/min', 2), obs('9279-1', 24, '/min', 2)];
const iv = (ma: MedicationAdministration): MedicationAdministration => ({
  ...ma,
  dosage: { route: { coding: [{ system: 'http://snomed.info/sct', code: '47625008' }] } },
});
const culture = (hoursAgo: number): Observation => ({
  resourceType: 'Observation',
  id: `culture-${hoursAgo}`,
  status: 'preliminary',
  code: { coding: [{ system: 'http://loinc.org', code: '600-7' }] },
  effectiveDateTime: ago(hoursAgo),
});

/** An infusion started `hoursAgo` and still running. */
const running = (text: string, hoursAgo: number): MedicationAdministration =>
  admin(named(text), hoursAgo, { status: 'in-progress', untilHoursAgo: -1 });
const cefepimeCourse = (firstHoursAgo: number, lastHoursAgo: number) => ({
  id: 'cefepime',
  name: 'cefepime',
  intent: 'treatment' as const,
  firstGiven: ago(firstHoursAgo),
  lastGiven: ago(lastHoursAgo),
  basis: 'treatment agent',
});

const cases: Case[] = [
  {
    name: 'ICD-10-CM A41.9 with onset 3 days ago',
    conditions: [condition(ICD10, 'A41.9', { id: 'c1', onsetDateTime: ago(72) })],
    expected: {
      rulesFired: ['diagnosis'],
      diagnoses: [{ system: ICD10, code: 'A41.9', conditionId: 'c1', basis: 'onset' }],
      ...noPhysiology,
    },
  },
  {
    name: 'a sepsis diagnosis recorded 30 days ago is not the present illness',
    conditions: [condition(ICD10, 'R65.21', { id: 'c2', recordedDate: ago(30 * 24) })],
    expected: undefined,
  },
  {
    name: 'undated MIMIC ICD-9 code without dot (78552) on the hook encounter, via system alias',
    conditions: [condition(MIMIC_ICD9, '78552', { id: 'c3', encounter: { reference: 'Encounter/e1' } })],
    encounterId: 'e1',
    rules: mimicRules,
    expected: {
      rulesFired: ['diagnosis'],
      diagnoses: [{ system: ICD9, code: '78552', conditionId: 'c3', basis: 'hook-encounter' }],
      ...noPhysiology,
    },
  },
  {
    name: 'undated 038.9 on an encounter active in the window; not on one that ended 20 days ago',
    conditions: [
      condition(ICD9, '038.9', { id: 'c4', encounter: { reference: 'Encounter/e2' } }),
      condition(ICD9, '995.92', { id: 'c5', encounter: { reference: 'Encounter/old' } }),
    ],
    encounters: [encounter('e2', 48), encounter('old', 30 * 24, 20 * 24)],
    expected: {
      rulesFired: ['diagnosis'],
      diagnoses: [{ system: ICD9, code: '038.9', conditionId: 'c4', basis: 'active-encounter' }],
      ...noPhysiology,
    },
  },
  {
    name: 'refuted SNOMED septic shock does not count',
    conditions: [
      condition('http://snomed.info/sct', '76571007', {
        onsetDateTime: ago(5),
        verificationStatus: { coding: [{ code: 'refuted' }] },
      }),
    ],
    expected: undefined,
  },
  {
    name: 'a treatment antibiotic in 72 h with SIRS and qSOFA physiology (each rule named)',
    meds: [admin(named('Cefepime 2 g IV'), 10)],
    vitals: [...sirsVitals, bp(96, 50, 2)],
    expected: {
      rulesFired: ['suspected-infection-with-sirs', 'suspected-infection-with-qsofa'],
      diagnoses: [],
      antibiotics: [
        {
          id: 'cefepime',
          name: 'cefepime',
          intent: 'treatment',
          firstGiven: ago(10),
          lastGiven: ago(10),
          basis: 'treatment agent',
        },
      ],
      notCounted: [],
      sirsCriteria: ['temperature 38.6 °C > 38', 'heart rate 112/min > 90', 'respiratory rate 24/min > 20'],
      qsofaCriteria: ['respiratory rate 24/min >= 22', 'SBP 96 mmHg <= 100'],
      infectionSigns: [],
    },
  },
  {
    name: 'antibiotics 4 days ago do not make a context',
    meds: [admin(named('cefepime'), 96)],
    vitals: [temp(38.6, 2), obs('8867-4', 112, '/min', 2)],
    expected: undefined,
  },
  {
    name: 'prophylaxis alone (levofloxacin, acyclovir, fluconazole) with SIRS is no context',
    meds: [
      admin(named('Levofloxacin 500 mg'), 10),
      admin(named('Acyclovir 400 mg'), 10),
      admin(named('Fluconazole'), 10),
    ],
    vitals: sirsVitals,
    expected: undefined,
  },
  {
    name: 'vancomycin with no route may be oral: not systemic, no context',
    meds: [admin(named('Vancomycin'), 10)],
    vitals: sirsVitals,
    expected: undefined,
  },
  {
    name: 'perioperative cefazolin (16 h) is no context; continued 60 h it is',
    meds: [
      iv(admin(named('Cefazolin 2 g'), 16)),
      iv(admin(named('Cefazolin 2 g'), 8)),
      iv(admin(named('Cefazolin 2 g'), 1)),
    ],
    vitals: sirsVitals,
    expected: undefined,
  },
  {
    name: 'cefazolin continued for 60 h counts as treatment',
    meds: [iv(admin(named('Cefazolin 2 g'), 61)), iv(admin(named('Cefazolin 2 g'), 1))],
    vitals: sirsVitals,
    expected: {
      rulesFired: ['suspected-infection-with-sirs'],
      diagnoses: [],
      antibiotics: [
        {
          id: 'cefazolin',
          name: 'cefazolin',
          intent: 'surgical-prophylaxis',
          firstGiven: ago(61),
          lastGiven: ago(1),
          basis: 'continued 60 h, beyond surgical prophylaxis',
        },
      ],
      notCounted: [],
      sirsCriteria: ['temperature 38.6 °C > 38', 'heart rate 112/min > 90', 'respiratory rate 24/min > 20'],
      qsofaCriteria: ['respiratory rate 24/min >= 22'],
      infectionSigns: [],
    },
  },
  {
    name: 'levofloxacin paired with a blood culture counts (Seymour pairing)',
    meds: [admin(named('Levofloxacin 750 mg IV'), 5)],
    vitals: [...sirsVitals, culture(6)],
    expected: {
      rulesFired: ['suspected-infection-with-sirs'],
      diagnoses: [],
      antibiotics: [
        {
          id: 'levofloxacin',
          name: 'levofloxacin',
          intent: 'prophylaxis',
          firstGiven: ago(5),
          lastGiven: ago(5),
          pairedCulture: ago(6),
          basis: 'paired with a culture',
        },
      ],
      notCounted: [],
      sirsCriteria: ['temperature 38.6 °C > 38', 'heart rate 112/min > 90', 'respiratory rate 24/min > 20'],
      qsofaCriteria: ['respiratory rate 24/min >= 22'],
      infectionSigns: [],
    },
  },
  {
    name: 'a vasopressor infusion with a confirmed fever before any antimicrobial opens a context',
    meds: [running('Norepinephrine infusion', 1)],
    vitals: [temp(38.9, 2), temp(38.2, 6)],
    expected: {
      rulesFired: ['vasopressor-with-infection-signs'],
      diagnoses: [],
      antibiotics: [],
      notCounted: [],
      sirsCriteria: ['temperature 38.9 °C > 38'],
      qsofaCriteria: [],
      infectionSigns: ['temperature 38.9 °C >= 38.3, confirmed by 38.2 °C'],
    },
  },
  {
    name: 'a confirmed fever in the day before the vasopressor started still counts while it runs',
    meds: [running('Norepinephrine infusion', 20)],
    vitals: [temp(38.8, 30), temp(38.4, 27), temp(37.2, 2)],
    expected: {
      rulesFired: ['vasopressor-with-infection-signs'],
      diagnoses: [],
      antibiotics: [],
      notCounted: [],
      sirsCriteria: [],
      qsofaCriteria: [],
      infectionSigns: ['temperature 38.8 °C >= 38.3, confirmed by 38.4 °C'],
    },
  },
  {
    name: 'a fever more than a day before the vasopressor started is no sign of this shock',
    meds: [running('Norepinephrine infusion', 20)],
    vitals: [temp(38.8, 50), temp(38.4, 47), temp(37.2, 2)],
    expected: undefined,
  },
  {
    name: 'one fever spike with a vasopressor before any antimicrobial is no sign of infection',
    meds: [running('Norepinephrine infusion', 1)],
    vitals: [temp(38.9, 2), temp(37.4, 6)],
    expected: undefined,
  },
  {
    name: 'a treatment antimicrobial and a vasopressor, SIRS not met: organ dysfunction (SOFA)',
    meds: [admin(named('Cefepime 2 g IV'), 10), running('Norepinephrine infusion', 1)],
    vitals: [obs('8867-4', 85, '/min', 2)],
    expected: {
      rulesFired: ['suspected-infection-with-vasopressor'],
      diagnoses: [],
      antibiotics: [cefepimeCourse(10, 10)],
      notCounted: [],
      sirsCriteria: [],
      qsofaCriteria: [],
      infectionSigns: [],
    },
  },
  {
    name: 'SIRS around the onset of the suspected infection counts when the recent window has none',
    meds: [admin(named('Cefepime 2 g IV'), 40), admin(named('Cefepime 2 g IV'), 16)],
    vitals: [temp(38.6, 50), obs('8867-4', 112, '/min', 50), obs('8867-4', 80, '/min', 2)],
    expected: {
      rulesFired: ['suspected-infection-with-sirs'],
      diagnoses: [],
      antibiotics: [cefepimeCourse(40, 16)],
      notCounted: [],
      sirsCriteria: ['temperature 38.6 °C > 38', 'heart rate 112/min > 90'],
      qsofaCriteria: [],
      onsetWindow: { onset: ago(40), from: ago(88), to: ago(16) },
      infectionSigns: [],
    },
  },
  {
    name: 'SIRS before the onset window does not count',
    meds: [admin(named('Cefepime 2 g IV'), 40)],
    vitals: [temp(38.6, 100), obs('8867-4', 112, '/min', 100), obs('8867-4', 80, '/min', 2)],
    expected: undefined,
  },
  {
    name: 'norepinephrine and vasopressin with SIRS before any antimicrobial: shock on several vasopressors',
    meds: [running('Norepinephrine infusion', 2), running('Vasopressin infusion', 1)],
    vitals: [obs('8867-4', 118, '/min', 1), obs('9279-1', 26, '/min', 1)],
    expected: {
      rulesFired: ['vasopressor-shock-with-sirs'],
      diagnoses: [],
      antibiotics: [],
      notCounted: [],
      sirsCriteria: ['heart rate 118/min > 90', 'respiratory rate 26/min > 20'],
      qsofaCriteria: ['respiratory rate 26/min >= 22'],
      infectionSigns: [],
      shockVasopressors: ['norepinephrine', 'vasopressin'],
    },
  },
  {
    name: 'epinephrine and dopamine with SIRS (cardiac support) open no context',
    meds: [running('Epinephrine infusion', 2), running('Dopamine infusion', 1)],
    vitals: [obs('8867-4', 118, '/min', 1), obs('9279-1', 26, '/min', 1)],
    expected: undefined,
  },
  {
    name: 'qSOFA is not applied to a child: RR 28 and SBP 95 normal at 3 years, on ceftriaxone',
    meds: [admin(named('Ceftriaxone 1 g IV'), 6)],
    vitals: [temp(37.0, 2), obs('9279-1', 28, '/min', 2), bp(95, 55, 2)],
    age: { known: true, years: 3, days: 3 * 365 + 30, birthDate: '2027-05-01' },
    expected: undefined,
  },
  {
    name: 'one vasopressor with SIRS and no antimicrobial opens no context',
    meds: [running('Norepinephrine infusion', 2)],
    vitals: [obs('8867-4', 118, '/min', 1), obs('9279-1', 26, '/min', 1)],
    expected: undefined,
  },
  {
    name: 'a sepsis diagnosis of a previous admission does not count on readmission',
    conditions: [
      condition(ICD10, 'A41.9', { recordedDate: ago(5 * 24), encounter: { reference: 'Encounter/prev' } }),
    ],
    encounters: [encounter('prev', 12 * 24, 5 * 24), encounter('now', 20)],
    expected: undefined,
  },
];

describe('findSepsisContext', () => {
  it.each(cases)('$name', (c) => {
    const rules = c.rules ?? DEFAULT_RULE_CONFIG;
    const data = patientData({
      conditions: c.conditions ?? [],
      encounters: c.encounters ?? [],
      vitals: c.vitals ?? [],
      medicationAdministrations: c.meds ?? [],
    });
    const readings = normalizeObservations(data.vitals, rules.siteCodes, rules.codes).readings;
    const windowStart = NOW.getTime() - rules.recentWindowHours * 3_600_000;
    const recent = readings.filter((r) => Date.parse(r.time) >= windowStart);
    const found = findSepsisContext({
      conditions: data.conditions,
      encounters: data.encounters,
      events: medicationEvents(data, NOW, rules.siteCodes, rules.codes),
      recent,
      earlier: readings,
      cultures: data.vitals
        .filter((o) => o.id?.startsWith('culture'))
        .map((o) => Date.parse(o.effectiveDateTime ?? '')),
      age: c.age ?? { known: true, years: 60, days: 60 * 365, birthDate: '1970-01-01' },
      therapyContext: false,
      now: NOW,
      ...(c.encounterId !== undefined && { encounterId: c.encounterId }),
      rules,
    });
    expect(found).toEqual(c.expected);
  });
});
