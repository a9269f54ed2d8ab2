import { describe, expect, it } from 'vitest';
import { medicationEvents } from '../../src/rules/crs-sentinel/medication-events.js';
import { DEFAULT_RULE_CONFIG, resolveRuleConfig } from '../../src/rules/crs-sentinel/rule-config.js';
import {
  findTherapyContexts,
  type TherapyContext,
  type TherapyFindings,
} from '../../src/rules/crs-sentinel/therapy-context.js';
import type { PatientData } from '../../src/rules/crs-sentinel/patient-data.js';
import { admin, ago, AXI_CEL, named, NOW, patientData, procedure, rx } from './helpers/fhir-builders.js';

const RX = 'http://www.nlm.nih.gov/research/umls/rxnorm';
const axiCel = { id: 'axicabtagene-ciloleucel', name: 'axicabtagene ciloleucel' };

const cases: {
  name: string;
  data: PatientData;
  expected: { contexts: Partial<TherapyContext>[]; past: TherapyFindings['past'] };
}[] = [
  {
    name: 'CAR-T by RxNorm product code, day 3: high attention',
    data: patientData({ medicationAdministrations: [admin(AXI_CEL, 3 * 24 + 2)] }),
    expected: {
      contexts: [
        {
          kind: 'car-t',
          agent: axiCel,
          latestDose: ago(74),
          doseCount: 1,
          daysSinceDose: 3,
          hoursSinceDose: 74,
          window: 'high-attention',
          matchedBy: 'rxnorm',
          matchedOn: `${RX}|1987402`,
        },
      ],
      past: [],
    },
  },
  {
    name: 'product known only by brand name in text, day 20: extended window',
    data: patientData({
      medicationAdministrations: [admin(named('KYMRIAH suspension for IV infusion'), 20 * 24)],
    }),
    expected: {
      contexts: [
        {
          kind: 'car-t',
          agent: { id: 'tisagenlecleucel', name: 'tisagenlecleucel' },
          latestDose: ago(480),
          doseCount: 1,
          daysSinceDose: 20,
          hoursSinceDose: 480,
          window: 'extended',
          matchedBy: 'name',
          matchedOn: 'KYMRIAH suspension for IV infusion',
        },
      ],
      past: [],
    },
  },
  {
    name: 'medicationReference to a contained Medication; not-done administrations never count',
    data: patientData({
      medicationAdministrations: [
        admin({ reference: '#m1' }, 30, {
          contained: [
            {
              resourceType: 'Medication',
              id: 'm1',
              code: { text: 'ciltacabtagene autoleucel' },
            },
          ],
        }),
        admin(AXI_CEL, 2, { status: 'not-done' }),
      ],
    }),
    expected: {
      contexts: [
        {
          kind: 'car-t',
          agent: { id: 'ciltacabtagene-autoleucel', name: 'ciltacabtagene autoleucel' },
          latestDose: ago(30),
          doseCount: 1,
          daysSinceDose: 1,
          hoursSinceDose: 30,
          window: 'high-attention',
          matchedBy: 'name',
          matchedOn: 'ciltacabtagene autoleucel',
        },
      ],
      past: [],
    },
  },
  {
    name: 'ICD-10-PCS administration procedure; infusion 45 days ago is no context',
    data: patientData({
      procedures: [procedure('http://www.cms.gov/Medicare/Coding/ICD10', 'XW033H7', 45 * 24)],
    }),
    expected: {
      contexts: [],
      past: [{ kind: 'car-t', agent: axiCel, latestDose: ago(1080), daysSinceDose: 45 }],
    },
  },
  {
    name: 'bispecific step-up doses: the latest dose is the index; 8 days later there is no context',
    data: patientData({
      medicationAdministrations: [
        admin(rx('2619432', 'Tecvayli'), 5 * 24),
        admin(rx('2619438', 'Tecvayli'), 26),
        admin(named('epcoritamab'), 8 * 24 + 1),
      ],
    }),
    expected: {
      contexts: [
        {
          kind: 'bispecific',
          agent: { id: 'teclistamab', name: 'teclistamab' },
          latestDose: ago(26),
          doseCount: 2,
          daysSinceDose: 1,
          hoursSinceDose: 26,
          window: 'high-attention',
          matchedBy: 'rxnorm',
          matchedOn: `${RX}|2619438`,
        },
      ],
      past: [],
    },
  },
];

describe('findTherapyContexts', () => {
  it.each(cases)('$name', ({ data, expected }) => {
    const events = medicationEvents(data, NOW, DEFAULT_RULE_CONFIG.siteCodes, DEFAULT_RULE_CONFIG.codes);
    expect(findTherapyContexts(events, NOW, DEFAULT_RULE_CONFIG)).toMatchObject(expected);
  });

  it('windows are configurable: CAR-T high attention shortened to 7 days', () => {
    const rules = resolveRuleConfig({ carT: { highAttentionDays: 7 } });
    const data = patientData({ medicationAdministrations: [admin(AXI_CEL, 10 * 24)] });
    const found = findTherapyContexts(medicationEvents(data, NOW, rules.siteCodes, rules.codes), NOW, rules);
    expect(found).toMatchObject({
      contexts: [
        {
          kind: 'car-t',
          agent: axiCel,
          latestDose: ago(240),
          doseCount: 1,
          daysSinceDose: 10,
          hoursSinceDose: 240,
          window: 'extended',
          matchedBy: 'rxnorm',
          matchedOn: `${RX}|1987402`,
        },
      ],
      past: [],
    });
  });
});
