import type { Condition, Encounter } from 'fhir/r4';
import { describe, expect, it } from 'vitest';
import { medicationEvents } from '../../src/rules/crs-sentinel/medication-events.js';
import { DEFAULT_RULE_CONFIG, resolveRuleConfig } from '../../src/rules/crs-sentinel/rule-config.js';
import { findSepsisContext, type SepsisContext } from '../../src/rules/crs-sentinel/sepsis-context.js';
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
  expected: SepsisContext | undefined;
}

const noPhysiology = { antibiotics: [], sirsCriteria: [], qsofaCriteria: [] };

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
    name: 'antibiotics in 72 h with SIRS and qSOFA physiology (each rule named)',
    meds: [admin(named('Vancomycin 1 g IV'), 10)],
    vitals: [temp(38.6, 2), obs('8867-4', 112, '/min', 2), obs('9279-1', 24, '/min', 2), bp(96, 50, 2)],
    expected: {
      rulesFired: ['antibiotics-with-sirs', 'antibiotics-with-qsofa'],
      diagnoses: [],
      antibiotics: [{ id: 'vancomycin', name: 'vancomycin', lastGiven: ago(10) }],
      sirsCriteria: ['temperature 38.6 °C > 38', 'heart rate 112/min > 90', 'respiratory rate 24/min > 20'],
      qsofaCriteria: ['respiratory rate 24/min >= 22', 'SBP 96 mmHg <= 100'],
    },
  },
  {
    name: 'antibiotics 4 days ago do not make a context',
    meds: [admin(named('cefepime'), 96)],
    vitals: [temp(38.6, 2), obs('8867-4', 112, '/min', 2)],
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
    const recent = normalizeObservations(data.vitals, rules.siteCodes).readings;
    const found = findSepsisContext({
      conditions: data.conditions,
      encounters: data.encounters,
      events: medicationEvents(data, NOW, rules.siteCodes),
      recent,
      now: NOW,
      ...(c.encounterId !== undefined && { encounterId: c.encounterId }),
      rules,
    });
    expect(found).toEqual(c.expected);
  });
});
