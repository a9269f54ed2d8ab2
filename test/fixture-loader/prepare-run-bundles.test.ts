/** Rewriting the fixture Bundles for one run, without a server. */
import type { Bundle, FhirResource } from 'fhir/r4';
import { describe, expect, it } from 'vitest';
import { defaultFixtureDir } from '../../src/fixture-loader/fixture-loader.js';
import { prepareRunBundles, runResourceId } from '../../src/fixture-loader/prepare-run-bundles.js';
import { checkRunTag, makeRunTag, RUN_TAG_SYSTEM, runIdPrefix } from '../../src/fixture-loader/run-tag.js';
import { loadAllFixtures } from '../../src/fixtures/fixture-manifest.js';

const { manifest, fixtures } = loadAllFixtures(defaultFixtureDir());
const anchor = new Date(manifest.anchor);
const inputs = fixtures.map((f) => ({ file: f.file, bundle: f.bundle }));

function resourcesOf(bundles: Bundle[]): FhirResource[] {
  return bundles.flatMap((b) => (b.entry ?? []).map((e) => e.resource as FhirResource));
}

describe('run tags', () => {
  it('are made from the UTC minute and 6 random characters', () => {
    const tag = makeRunTag(new Date('2025-01-15T12:34:56Z'), () => 0);
    expect(tag).toBe('crs-sentinel-run-202501151234-aaaaaa');
    expect(runIdPrefix(tag)).toBe('crs-202501151234-aaaaaa');
    expect(makeRunTag()).toMatch(/^crs-sentinel-run-\d{12}-[a-z0-9]{6}$/);
    expect(makeRunTag()).not.toBe(makeRunTag());
  });

  it('refuse anything else', () => {
    expect(() => checkRunTag('crs-sentinel-run-2025-x')).toThrow(/not a run tag/);
    expect(() => checkRunTag('')).toThrow(/not a run tag/);
  });
});

describe('prepareRunBundles', () => {
  const runTag = makeRunTag(new Date('2026-02-02T10:00:00Z'));
  const prefix = runIdPrefix(runTag);
  const now = new Date('2026-02-02T10:00:00Z');
  const run = prepareRunBundles(inputs, { runTag, anchor, now });
  const resources = resourcesOf(run.bundles);

  it('gives every resource a run-prefixed id of at most 64 characters and leaves no fixture id behind', () => {
    expect(resources).toHaveLength(resourcesOf(fixtures.map((f) => f.bundle)).length);
    for (const r of resources) {
      expect(r.id).toMatch(new RegExp(`^${prefix}-[A-Za-z0-9\\-.]+$`));
      expect(r.id!.length).toBeLessThanOrEqual(64);
    }
    expect(JSON.stringify(run.bundles)).not.toContain('crs-fx-');
  });

  it('keeps every reference, request url and urn:uuid fullUrl consistent', () => {
    const ids = new Set(resources.map((r) => `${r.resourceType}/${r.id ?? ''}`));
    const refs = JSON.stringify(run.bundles).match(/"reference":"[^"]+"/g) ?? [];
    expect(refs.length).toBeGreaterThan(1000);
    for (const ref of refs) expect(ids.has(ref.slice(13, -1)), ref).toBe(true);
    for (const bundle of run.bundles) {
      for (const entry of bundle.entry ?? []) {
        expect(entry.request).toEqual({
          method: 'PUT',
          url: `${entry.resource!.resourceType}/${entry.resource!.id!}`,
        });
      }
    }
    const fullUrls = run.bundles.flatMap((b) => (b.entry ?? []).map((e) => e.fullUrl));
    const original = fixtures.flatMap((f) => (f.bundle.entry ?? []).map((e) => e.fullUrl));
    expect(new Set(fullUrls).size).toBe(fullUrls.length);
    for (const url of fullUrls) expect(original).not.toContain(url);
  });

  it('adds the run tag and keeps the test-data tags', () => {
    for (const r of resources) {
      expect(r.meta?.tag).toContainEqual(expect.objectContaining({ system: RUN_TAG_SYSTEM, code: runTag }));
      expect(r.meta?.tag).toContainEqual(expect.objectContaining({ code: 'HTEST' }));
    }
  });

  it('suffixes the fixture MRNs with the run', () => {
    const patient = resources.find(
      (r) => r.resourceType === 'Patient' && r.id === `${prefix}-cart-grade2-patient`,
    );
    expect(patient?.resourceType === 'Patient' && patient.identifier).toEqual([
      { system: 'urn:crs-sentinel:fixture-mrn', value: `CRS-FX-002-${prefix}` },
    ]);
  });

  it('rebases the dates and does not touch its input', () => {
    const before = JSON.stringify(inputs);
    const again = prepareRunBundles(inputs, { runTag, anchor, now: anchor });
    expect(JSON.stringify(inputs)).toBe(before);
    const obs = (bs: Bundle[]) =>
      resourcesOf(bs).find((r) => r.resourceType === 'Observation' && r.effectiveDateTime !== undefined);
    const atAnchor = obs(again.bundles);
    const atNow = obs(run.bundles);
    expect(atAnchor?.resourceType === 'Observation' && atNow?.resourceType === 'Observation').toBe(true);
    if (atAnchor?.resourceType !== 'Observation' || atNow?.resourceType !== 'Observation') return;
    expect(Date.parse(atNow.effectiveDateTime!) - Date.parse(atAnchor.effectiveDateTime!)).toBe(
      now.getTime() - anchor.getTime(),
    );
  });

  it('refuses a reference to a fixture resource outside the run', () => {
    const grade2 = fixtures.find((f) => f.patientId === 'crs-fx-cart-grade2-patient')!;
    const withoutPatient: Bundle = {
      ...grade2.bundle,
      entry: grade2.bundle.entry!.filter((e) => e.resource?.resourceType !== 'Patient'),
    };
    expect(() =>
      prepareRunBundles([{ file: grade2.file, bundle: withoutPatient }], { runTag, anchor, now }),
    ).toThrow(/reference Patient\/crs-fx-cart-grade2-patient points at no resource of this run/);
  });

  it('refuses an id that would be longer than 64 characters', () => {
    expect(() => runResourceId(`crs-fx-${'x'.repeat(50)}`, runTag)).toThrow(/at most 64/);
  });
});
