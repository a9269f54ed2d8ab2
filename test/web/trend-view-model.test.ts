/**
 * The trend view's DOM-free parts, in Node: the grade band equals the card's grade for every
 * fixture patient (the same engine, run as of `now`), appContext narrowing, scope choice, and the
 * FHIR searches (the service's own code lists).
 */
import { describe, expect, it } from 'vitest';
import { PREFETCH_KEYS, type PrefetchKeyName } from '../../src/cds-hooks/crs-sentinel-service.js';
import { loadRebasedFixtures } from '../../src/sandbox/fixture-sandbox.js';
import { DEFAULT_RULE_CONFIG } from '../../src/rules/crs-sentinel/rule-config.js';
import { parseAppContext } from '../../web/trend-view/src/app-context.js';
import { assemble, searchUrls } from '../../web/trend-view/src/fhir-searches.js';
import { bandAt, bandHours, prepareTimedData } from '../../web/trend-view/src/grade-band.js';
import { scopesFor } from '../../web/trend-view/src/smart-config.js';
import { buildTrendModel } from '../../web/trend-view/src/trend-model.js';

const NOW = new Date('2025-01-15T12:00:00Z');
const fixtures = loadRebasedFixtures({ now: NOW });

/** Where each resource type lands, as the view's searches bring them. */
const KEY_OF: Partial<Record<string, PrefetchKeyName>> = {
  Patient: 'patient',
  Observation: 'vitals',
  MedicationAdministration: 'medicationAdministrations',
  Medication: 'medicationAdministrations',
  Condition: 'conditions',
  Procedure: 'procedures',
  Encounter: 'encounters',
};

function patientDataOf(index: number, patientId: string) {
  const resources = (fixtures.bundles[index]?.entry ?? []).flatMap((e) => (e.resource ? [e.resource] : []));
  const byKey = new Map<PrefetchKeyName, unknown[]>();
  for (const r of resources) {
    const key = KEY_OF[r.resourceType];
    if (key) byKey.set(key, [...(byKey.get(key) ?? []), r]);
  }
  return assemble(
    [...byKey].map(([key, list]) => ({ key, resources: list, truncated: false })),
    patientId,
  );
}

/** The band state the card of each fixture's story stands for. */
function expectedState(expected: { card: string; grade?: number }, inTherapy: boolean): string {
  if (expected.card === 'crs') return `grade-${String(expected.grade)}`;
  if (expected.card === 'data-gap') return 'data-gap';
  if (expected.card === 'afebrile') return 'afebrile';
  return inTherapy ? 'no-crs' : 'no-context';
}

describe('the grade band at now is the card the service gives', () => {
  it.each(fixtures.patients.map((p, i) => ({ ...p, i })))('$patientId', ({ i, patientId, expected }) => {
    const data = patientDataOf(i, patientId);
    const model = buildTrendModel(data, NOW, DEFAULT_RULE_CONFIG, undefined);
    const band = bandAt(prepareTimedData(data), NOW.getTime(), DEFAULT_RULE_CONFIG);
    expect(band.state).toBe(
      expectedState(expected as { card: string; grade?: number }, model.index !== undefined),
    );
  });
});

describe('bandHours', () => {
  it('on the hour from the start, ending at the end itself', () => {
    const hour = 3_600_000;
    expect(bandHours(10 * hour + 5, 13 * hour + 7)).toEqual([11 * hour, 12 * hour, 13 * hour, 13 * hour + 7]);
  });
});

describe('parseAppContext', () => {
  it.each([
    [
      JSON.stringify({ indexTime: '2025-01-12T12:00:00Z', agent: 'axi-cel' }),
      { indexTime: '2025-01-12T12:00:00Z', agent: 'axi-cel' },
    ],
    [JSON.stringify({ indexTime: 'not a time', agent: 'axi-cel' }), { agent: 'axi-cel' }],
    [JSON.stringify({ other: 1 }), undefined],
    ['{not json', undefined],
    ['null', undefined],
    [null, undefined],
    ['x'.repeat(3000), undefined],
  ])('%s', (raw, expected) => {
    expect(parseAppContext(raw)).toEqual(expected);
  });
});

describe('scopesFor', () => {
  it('SMART 2 scopes for a server with permission-v2, SMART 1 otherwise; read-only, patient-level', () => {
    expect(scopesFor('ehr', ['launch-ehr', 'permission-v2'])).toBe(
      'launch patient/Patient.r patient/Observation.rs patient/MedicationAdministration.rs patient/Medication.rs patient/Condition.rs patient/Procedure.rs patient/Encounter.rs',
    );
    expect(scopesFor('standalone', [])).toBe(
      'launch/patient patient/Patient.read patient/Observation.read patient/MedicationAdministration.read patient/Medication.read patient/Condition.read patient/Procedure.read patient/Encounter.read',
    );
  });
});

describe('searchUrls', () => {
  it("one Observation search with the service's vitals, labs and weight codes, windowed by date", () => {
    const urls = searchUrls('p-1', '2025-01-01T00:00:00.000Z');
    const observation = urls.filter((u) => u.url.startsWith('Observation?'));
    expect(observation).toHaveLength(1);
    const codes = new URLSearchParams(observation[0]!.url.split('?')[1]).get('code')!.split(',');
    for (const key of ['vitals', 'labs', 'bodyWeight'] as const)
      for (const code of new URLSearchParams(PREFETCH_KEYS[key].template.split('?')[1])
        .get('code')!
        .split(','))
        expect(codes).toContain(code);
    expect(observation[0]!.url).toContain('patient=p-1');
    expect(observation[0]!.url).toContain('date=ge2025-01-01T00%3A00%3A00.000Z');
    expect(urls.find((u) => u.key === 'medicationAdministrations')?.url).toContain('effective-time=ge');
  });
});
