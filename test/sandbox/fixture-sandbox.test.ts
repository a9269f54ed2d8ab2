import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import type { Bundle, Observation, Patient } from 'fhir/r4';
import { afterAll, describe, expect, it } from 'vitest';
import { PREFETCH_KEYS } from '../../src/cds-hooks/crs-sentinel-service.js';
import {
  defaultFixtureDir,
  loadRebasedFixtures,
  startFixtureSandbox,
} from '../../src/sandbox/fixture-sandbox.js';

const HOUR = 3_600_000;
const ANCHOR = '2025-01-15T12:00:00Z';

const tinyPatient: Patient = { resourceType: 'Patient', id: 'tiny-p', birthDate: '1980-06-01' };
const tinyTemperature: Observation = {
  resourceType: 'Observation',
  id: 'tiny-temp',
  status: 'final',
  code: { coding: [{ system: 'http://loinc.org', code: '8310-5' }] },
  subject: { reference: 'Patient/tiny-p' },
  effectiveDateTime: '2025-01-15T09:00:00-05:00', // 14:00Z, 2 h after the anchor
  valueQuantity: { value: 38.6, unit: 'Cel', system: 'http://unitsofmeasure.org', code: 'Cel' },
};

const tinyBundle: Bundle = {
  resourceType: 'Bundle',
  type: 'transaction',
  entry: [
    {
      resource: tinyPatient,
      request: { method: 'PUT', url: 'Patient/tiny-p' },
    },
    {
      resource: tinyTemperature,
      request: { method: 'PUT', url: 'Observation/tiny-temp' },
    },
  ],
};

const tmpDirs: string[] = [];
afterAll(() => {
  for (const dir of tmpDirs) rmSync(dir, { recursive: true, force: true });
});

function tinyFixtureDir(): string {
  const dir = mkdtempSync(path.join(tmpdir(), 'crs-sandbox-fixtures-'));
  tmpDirs.push(dir);
  writeFileSync(
    path.join(dir, 'manifest.json'),
    JSON.stringify({
      anchor: ANCHOR,
      constructed: true,
      description: 'one tiny fixture for the sandbox loader test',
      fixtures: [{ file: 'tiny.json', patientId: 'tiny-p', story: 'a fever', expected: { card: 'none' } }],
    }),
  );
  writeFileSync(path.join(dir, 'tiny.json'), JSON.stringify(tinyBundle));
  return dir;
}

describe('fixture loading', () => {
  it('moves every timestamp from the manifest anchor to now, keeping the offset', async () => {
    const now = new Date('2030-06-01T12:00:00Z'); // anchor + 1963 days exactly
    const { sandbox, patients, anchor } = await startFixtureSandbox({
      fixtureDir: tinyFixtureDir(),
      now,
      port: 0,
    });
    try {
      expect(anchor).toBe(ANCHOR);
      expect(patients.map((p) => p.patientId)).toEqual(['tiny-p']);
      const res = await fetch(`${sandbox.baseUrl}/Observation/tiny-temp`);
      const observation = (await res.json()) as Observation;
      expect(observation.effectiveDateTime).toBe('2030-06-01T09:00:00-05:00');
      const patient = (await (await fetch(`${sandbox.baseUrl}/Patient/tiny-p`)).json()) as Patient;
      expect(patient.birthDate).toBe('1985-10-16'); // a date moves by whole days: the age is kept
    } finally {
      await sandbox.close();
    }
  });

  it('loads every fixture patient of the repository, answering the service queries', async () => {
    const now = new Date();
    const { patients, bundles } = loadRebasedFixtures({ now });
    expect(defaultFixtureDir().endsWith(path.join('fixtures', 'crs-sentinel'))).toBe(true);
    expect(patients.length).toBeGreaterThan(0);
    expect(bundles).toHaveLength(patients.length);
    const { sandbox } = await startFixtureSandbox({ now, port: 0 });
    try {
      for (const { patientId } of patients) {
        const patient = await fetch(`${sandbox.baseUrl}/Patient/${patientId}`);
        expect(patient.status, patientId).toBe(200);
        const vitalsUrl = PREFETCH_KEYS.vitals.template.replaceAll('{{context.patientId}}', patientId);
        const vitals = (await (await fetch(`${sandbox.baseUrl}/${vitalsUrl}`)).json()) as Bundle;
        expect(vitals.resourceType, patientId).toBe('Bundle');
        for (const entry of vitals.entry ?? []) {
          const o = entry.resource as Observation;
          const at = Date.parse(o.effectiveDateTime ?? o.effectivePeriod?.start ?? o.issued ?? '');
          if (Number.isFinite(at))
            expect(at, `${patientId} ${o.id ?? ''}`).toBeLessThanOrEqual(now.getTime() + HOUR);
        }
      }
    } finally {
      await sandbox.close();
    }
  });
});
