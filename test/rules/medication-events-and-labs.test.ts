import type { Medication } from 'fhir/r4';
import { describe, expect, it } from 'vitest';
import { medicationEvents } from '../../src/rules/crs-sentinel/medication-events.js';
import { normalizeObservations } from '../../src/rules/crs-sentinel/normalize-observations.js';
import { DEFAULT_RULE_CONFIG, resolveRuleConfig } from '../../src/rules/crs-sentinel/rule-config.js';
import { supportingLabs } from '../../src/rules/crs-sentinel/supporting-labs.js';
import { admin, ago, LOINC, NOW, obs, patientData } from './helpers/fhir-builders.js';

const FORMULARY = 'http://mimic.mit.edu/fhir/mimic/CodeSystem/mimic-medication-formulary-drug-cd';

describe('medicationEvents', () => {
  it('follows a bundled Medication mix to its ingredients and their formulary identifiers (site code)', () => {
    const rules = resolveRuleConfig(
      {},
      {
        site: 'test',
        medications: [{ system: FORMULARY, code: 'NORE8/250N', concept: 'norepinephrine' }],
      },
    );
    const medications: Medication[] = [
      {
        resourceType: 'Medication',
        id: 'mix',
        ingredient: [
          { itemReference: { reference: 'Medication/nore' } },
          { itemReference: { reference: 'Medication/ns' } },
        ],
      },
      { resourceType: 'Medication', id: 'nore', identifier: [{ system: FORMULARY, value: 'NORE8/250N' }] },
      { resourceType: 'Medication', id: 'ns', code: { text: 'Sodium chloride 0.9 %' } },
    ];
    const data = patientData({
      medications,
      medicationAdministrations: [admin({ reference: 'Medication/mix' }, 4, { id: 'ma1', untilHoursAgo: 1 })],
    });
    expect(medicationEvents(data, NOW, rules.siteCodes, rules.codes)).toEqual([
      {
        conceptId: 'norepinephrine',
        name: 'norepinephrine',
        medicationClass: 'vasopressor',
        start: ago(4),
        end: ago(1),
        status: 'completed',
        matchedBy: 'site-code',
        matchedOn: `${FORMULARY}|NORE8/250N`,
        resourceType: 'MedicationAdministration',
        resourceId: 'ma1',
        route: 'unknown',
        infusion: true,
      },
    ]);
  });

  it('whole-word names: levothyroxine is not levofloxacin, norepinephrine is not epinephrine', () => {
    const data = patientData({
      medicationAdministrations: [
        admin({ text: 'Levothyroxine Sodium' }, 2, { id: 'a' }),
        admin({ coding: [{ system: 'urn:local', code: 'x', display: 'NORepinephrine' }] }, 2, { id: 'b' }),
      ],
    });
    expect(
      medicationEvents(data, NOW, DEFAULT_RULE_CONFIG.siteCodes, DEFAULT_RULE_CONFIG.codes).map((e) => [
        e.resourceId,
        e.conceptId,
      ]),
    ).toEqual([['b', 'norepinephrine']]);
  });
});

describe('supportingLabs', () => {
  it('latest IL-6/CRP/ferritin with trend since the dose; lactate with vasopressors meets Sepsis-3 shock', () => {
    const readings = normalizeObservations(
      [
        obs('26881-3', 8, 'pg/mL', 80, { id: 'il6a' }),
        obs('26881-3', 240, 'pg/mL', 3, { id: 'il6b' }),
        obs('1988-5', 12, 'mg/dL', 2, { id: 'crp' }),
        obs('2524-7', 3.4, 'mmol/L', 1, { id: 'lac' }),
      ],
      DEFAULT_RULE_CONFIG.siteCodes,
      DEFAULT_RULE_CONFIG.codes,
    ).readings;
    const labs = supportingLabs({
      readings,
      now: NOW,
      referenceTime: ago(72),
      windowStartMs: NOW.getTime() - 24 * 3_600_000,
      sepsisContext: true,
      onVasopressors: true,
      rules: DEFAULT_RULE_CONFIG,
    });
    const reading = (
      kind: string,
      id: string,
      code: string,
      value: number,
      unit: string,
      hours: number,
      original?: object,
    ) => ({
      kind,
      value,
      unit,
      time: ago(hours),
      timeSource: 'effectiveDateTime',
      source: { resourceId: id, system: LOINC, code },
      ...(original && { original }),
    });
    expect(labs).toEqual({
      markers: [
        {
          kind: 'il-6',
          latest: reading('il-6', 'il6b', '26881-3', 240, 'pg/mL', 3),
          baseline: reading('il-6', 'il6a', '26881-3', 8, 'pg/mL', 80),
          direction: 'rising',
          changeFactor: 30,
        },
        {
          kind: 'crp',
          latest: reading('crp', 'crp', '1988-5', 120, 'mg/L', 2, { value: 12, unit: 'mg/dL' }),
        },
      ],
      lactate: {
        latest: reading('lactate', 'lac', '2524-7', 3.4, 'mmol/L', 1),
        aboveShockThreshold: true,
        sepsis3ShockCriterion: true,
      },
    });
  });
});
