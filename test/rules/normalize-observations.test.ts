import type { Observation } from 'fhir/r4';
import { describe, expect, it } from 'vitest';
import {
  normalizeObservations,
  type NormalizedObservations,
} from '../../src/rules/crs-sentinel/normalize-observations.js';
import { DEFAULT_CODE_INDEX } from '../../src/rules/crs-sentinel/default-value-sets.js';
import { EMPTY_SITE_CODES } from '../../src/rules/crs-sentinel/site-codes.js';
import { ago, bp, device, LOINC, loinc, obs, quantity, spo2, temp } from './helpers/fhir-builders.js';

const empty: NormalizedObservations = { readings: [], devices: [], ignored: [] };

const cases: { name: string; input: Observation[]; expected: NormalizedObservations }[] = [
  {
    name: '°F temperature (MIMIC: unit "F", code [degF]) is converted to °C',
    input: [
      obs('8310-5', 101.8, 'F', 2, {
        id: 't1',
        valueQuantity: { value: 101.8, unit: 'F', system: 'http://unitsofmeasure.org', code: '[degF]' },
      }),
    ],
    expected: {
      ...empty,
      readings: [
        {
          kind: 'temperature',
          value: 38.8,
          unit: 'Cel',
          time: ago(2),
          timeSource: 'effectiveDateTime',
          source: { resourceId: 't1', system: LOINC, code: '8310-5' },
          original: { value: 101.8, unit: '[degF]' },
        },
      ],
    },
  },
  {
    name: 'a °F-labelled 34.8 is implausible as °F: ignored and reported, never fever',
    input: [obs('8310-5', 34.8, '[degF]', 1, { id: 't2' })],
    expected: {
      ...empty,
      ignored: [
        {
          kind: 'temperature',
          reason: 'implausible',
          detail:
            '34.8 [degF] (= 1.6 °C) is outside the physiological range 25-45 °C: looks like a °C value labelled °F',
          time: ago(1),
          value: 34.8,
          unit: '[degF]',
          source: { resourceId: 't2', system: LOINC, code: '8310-5' },
        },
      ],
    },
  },
  {
    name: 'entered-in-error and cancelled readings are ignored with their status',
    input: [
      temp(39.5, 1, { id: 't3', status: 'entered-in-error' }),
      temp(39.5, 2, { id: 't4', status: 'cancelled' }),
    ],
    expected: {
      ...empty,
      ignored: [
        {
          kind: 'temperature',
          reason: 'cancelled',
          detail: 'status cancelled: not used',
          time: ago(2),
          source: { resourceId: 't4', system: LOINC, code: '8310-5' },
        },
        {
          kind: 'temperature',
          reason: 'entered-in-error',
          detail: 'status entered-in-error: not used',
          time: ago(1),
          source: { resourceId: 't3', system: LOINC, code: '8310-5' },
        },
      ],
    },
  },
  {
    name: 'a value-less reading with a data-absent reason is reported, not read',
    input: [
      {
        resourceType: 'Observation',
        id: 't5',
        status: 'final',
        code: loinc('8310-5'),
        effectiveDateTime: ago(1),
        dataAbsentReason: { coding: [{ code: 'unknown', display: 'Unknown' }] },
      },
    ],
    expected: {
      ...empty,
      ignored: [
        {
          kind: 'temperature',
          reason: 'data-absent',
          detail: 'data absent: Unknown',
          time: ago(1),
          source: { resourceId: 't5', system: LOINC, code: '8310-5' },
        },
      ],
    },
  },
  {
    name: 'an unknown unit is reported, not guessed',
    input: [obs('8310-5', 39, '[degR]', 1, { id: 't6' })],
    expected: {
      ...empty,
      ignored: [
        {
          kind: 'temperature',
          reason: 'unknown-unit',
          detail: 'unit "[degR]" is not a known unit for temperature: not guessed',
          time: ago(1),
          value: 39,
          unit: '[degR]',
          source: { resourceId: 't6', system: LOINC, code: '8310-5' },
        },
      ],
    },
  },
  {
    name: 'kelvin is converted: 312.15 K = 39 °C',
    input: [obs('8329-5', 312.15, 'K', 1, { id: 't7' })],
    expected: {
      ...empty,
      readings: [
        {
          kind: 'temperature',
          value: 39,
          unit: 'Cel',
          time: ago(1),
          timeSource: 'effectiveDateTime',
          source: { resourceId: 't7', system: LOINC, code: '8329-5' },
          original: { value: 312.15, unit: 'K' },
        },
      ],
    },
  },
  {
    name: 'BP panel components are read by code, not position; 55284-4 too',
    input: [bp(84, 50, 1, '85354-9', 'bp1'), bp(95, 60, 3, '55284-4', 'bp2')],
    expected: {
      ...empty,
      readings: [
        {
          kind: 'diastolic-bp',
          value: 60,
          unit: 'mm[Hg]',
          time: ago(3),
          timeSource: 'effectiveDateTime',
          source: { resourceId: 'bp2', system: LOINC, code: '8462-4', componentOf: '55284-4' },
        },
        {
          kind: 'systolic-bp',
          value: 95,
          unit: 'mm[Hg]',
          time: ago(3),
          timeSource: 'effectiveDateTime',
          source: { resourceId: 'bp2', system: LOINC, code: '8480-6', componentOf: '55284-4' },
        },
        {
          kind: 'diastolic-bp',
          value: 50,
          unit: 'mm[Hg]',
          time: ago(1),
          timeSource: 'effectiveDateTime',
          source: { resourceId: 'bp1', system: LOINC, code: '8462-4', componentOf: '85354-9' },
        },
        {
          kind: 'systolic-bp',
          value: 84,
          unit: 'mm[Hg]',
          time: ago(1),
          timeSource: 'effectiveDateTime',
          source: { resourceId: 'bp1', system: LOINC, code: '8480-6', componentOf: '85354-9' },
        },
      ],
    },
  },
  {
    name: 'O2 flow as a component of SpO2; SpO2 59408-5; issued as time fallback',
    input: [
      spo2(91, 1, 4, 's1'),
      {
        resourceType: 'Observation',
        id: 's2',
        status: 'final',
        code: loinc('59408-5'),
        issued: ago(2),
        valueQuantity: quantity(93, '%'),
      },
    ],
    expected: {
      ...empty,
      readings: [
        {
          kind: 'spo2',
          value: 93,
          unit: '%',
          time: ago(2),
          timeSource: 'issued',
          source: { resourceId: 's2', system: LOINC, code: '59408-5' },
        },
        {
          kind: 'spo2',
          value: 91,
          unit: '%',
          time: ago(1),
          timeSource: 'effectiveDateTime',
          source: { resourceId: 's1', system: LOINC, code: '2708-6' },
        },
        {
          kind: 'oxygen-flow',
          value: 4,
          unit: 'L/min',
          time: ago(1),
          timeSource: 'effectiveDateTime',
          source: { resourceId: 's1', system: LOINC, code: '3151-8', componentOf: '2708-6' },
        },
      ],
    },
  },
  {
    name: 'codes are matched on system AND code: 8310-5 in another system is not a temperature',
    input: [
      {
        resourceType: 'Observation',
        id: 'x1',
        status: 'final',
        code: { coding: [{ system: 'http://example.org/local', code: '8310-5' }] },
        effectiveDateTime: ago(1),
        valueQuantity: quantity(39, 'Cel'),
      },
    ],
    expected: empty,
  },
  {
    name: 'oxygen delivery method 107117-4 is classified by device; unknown devices are reported',
    input: [device('High flow nasal cannula', 1, 'd1'), device('Helmet thing', 2, 'd2')],
    expected: {
      ...empty,
      devices: [
        {
          supportClass: 'high-flow',
          text: 'High flow nasal cannula',
          time: ago(1),
          timeSource: 'effectiveDateTime',
          source: { resourceId: 'd1', system: LOINC, code: '107117-4' },
        },
      ],
      ignored: [
        {
          kind: 'oxygen-device',
          reason: 'unknown-device',
          detail: 'oxygen delivery method not recognised: Helmet thing',
          time: ago(2),
          source: { resourceId: 'd2', system: LOINC, code: '107117-4' },
        },
      ],
    },
  },
  {
    name: 'duplicates (same kind, time and value) are kept once; lb converted to kg',
    input: [
      temp(38.2, 1, { id: 'a' }),
      temp(38.2, 1, { id: 'b' }),
      obs('29463-7', 154, '[lb_av]', 5, { id: 'w' }),
    ],
    expected: {
      ...empty,
      readings: [
        {
          kind: 'body-weight',
          value: 69.85,
          unit: 'kg',
          time: ago(5),
          timeSource: 'effectiveDateTime',
          source: { resourceId: 'w', system: LOINC, code: '29463-7' },
          original: { value: 154, unit: '[lb_av]' },
        },
        {
          kind: 'temperature',
          value: 38.2,
          unit: 'Cel',
          time: ago(1),
          timeSource: 'effectiveDateTime',
          source: { resourceId: 'a', system: LOINC, code: '8310-5' },
        },
      ],
    },
  },
];

describe('normalizeObservations', () => {
  it.each(cases)('$name', ({ input, expected }) => {
    expect(normalizeObservations(input, EMPTY_SITE_CODES, DEFAULT_CODE_INDEX)).toEqual(expected);
  });
});
