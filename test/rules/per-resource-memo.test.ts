/**
 * The per-resource memo (per-resource-memo.ts) changes nothing but cost: every fixture patient,
 * assessed at several times with one memo (as a replay does), gives exactly the assessment it
 * gives without one, and the remembered items are frozen.
 */
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { bundleToPatientData, FIXTURE_DIR, loadAllFixtures } from '../../src/fixtures/fixture-manifest.js';
import { assessCrs } from '../../src/rules/crs-sentinel/assess-crs.js';
import { normalizeTimedObservations } from '../../src/rules/crs-sentinel/normalize-observations.js';
import { ResourceMemo } from '../../src/rules/crs-sentinel/per-resource-memo.js';
import { DEFAULT_RULE_CONFIG } from '../../src/rules/crs-sentinel/rule-config.js';

const { manifest, fixtures } = loadAllFixtures(path.resolve(FIXTURE_DIR));
const anchorMs = Date.parse(manifest.anchor);
const HOUR_MS = 3_600_000;
const rules = DEFAULT_RULE_CONFIG;

describe('per-resource memo', () => {
  it.each(fixtures.map((f) => [f.file, f] as const))('%s: same assessments with and without', (_, f) => {
    const data = bundleToPatientData(f.bundle);
    const memo = new ResourceMemo(rules.siteCodes, rules.codes);
    for (const hours of [-30, -6, 0, 6]) {
      const now = new Date(anchorMs + hours * HOUR_MS);
      expect(assessCrs({ data, now, rules, memo })).toEqual(assessCrs({ data, now, rules }));
    }
  });

  it('freezes what it remembers, and remembers nothing for other code lists', () => {
    const data = bundleToPatientData(fixtures[0]!.bundle);
    const memo = new ResourceMemo(rules.siteCodes, rules.codes);
    const first = normalizeTimedObservations(data.vitals, rules.siteCodes, rules.codes, undefined, memo);
    const second = normalizeTimedObservations(data.vitals, rules.siteCodes, rules.codes, undefined, memo);
    expect(second.readings.map((r) => r.item)).toEqual(first.readings.map((r) => r.item));
    expect(second.readings[0]?.item).toBe(first.readings[0]?.item);
    expect(Object.isFrozen(first.readings[0]?.item)).toBe(true);
    const otherLists = new ResourceMemo({ ...rules.siteCodes }, rules.codes);
    const fresh = normalizeTimedObservations(
      data.vitals,
      rules.siteCodes,
      rules.codes,
      undefined,
      otherLists,
    );
    expect(Object.isFrozen(fresh.readings[0]?.item)).toBe(false);
  });
});
