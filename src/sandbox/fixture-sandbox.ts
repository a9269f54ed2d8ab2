/**
 * The sandbox preloaded with the constructed fixture patients (fixtures/crs-sentinel/), every
 * timestamp moved from the manifest's anchor to `now` so each story is as recent as when it was
 * written ("infused 3 days ago" stays 3 days ago). Used by `npm run sandbox` and by anything that
 * wants cards with no other set-up.
 */
import { existsSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import type { Bundle } from 'fhir/r4';
import { loadAllFixtures, MANIFEST_FILE, type FixtureManifestEntry } from '../fixtures/fixture-manifest.js';
import { rebaseBundle } from '../fixtures/rebase-fixture.js';
import { startFhirSandbox, type FhirSandbox, type FhirSandboxOptions } from './fhir-sandbox.js';

export interface RebasedFixtures {
  /** The manifest's anchor (ISO): the fixed "now" the stories were written around. */
  anchor: string;
  /** One transaction Bundle per fixture, in manifest order, rebased to `now`. */
  bundles: Bundle[];
  /** The manifest entries (patient id, story, expected card), in the same order. */
  patients: FixtureManifestEntry[];
}

/**
 * The fixture directory: from src/sandbox/ (tests, tsx) or dist/src/sandbox/ (the built scripts)
 * up to the repository's fixtures/crs-sentinel/, wherever the process was started from.
 */
export function defaultFixtureDir(): string {
  const candidates = ['../../fixtures/crs-sentinel', '../../../fixtures/crs-sentinel'].map((relative) =>
    fileURLToPath(new URL(relative, import.meta.url)),
  );
  return candidates.find((dir) => existsSync(`${dir}/${MANIFEST_FILE}`)) ?? (candidates[0] as string);
}

/** Reads and validates the manifest and its Bundles, and rebases each from the anchor to `now`. */
export function loadRebasedFixtures(options: { dir?: string; now?: Date } = {}): RebasedFixtures {
  const { manifest, fixtures } = loadAllFixtures(options.dir ?? defaultFixtureDir());
  const anchor = new Date(manifest.anchor);
  const now = options.now ?? new Date();
  return {
    anchor: manifest.anchor,
    bundles: fixtures.map((fixture) => rebaseBundle(fixture.bundle, anchor, now)),
    patients: fixtures.map(({ bundle: _bundle, ...entry }) => entry),
  };
}

export interface FixtureSandboxOptions extends Omit<FhirSandboxOptions, 'bundles'> {
  /** fixtures/crs-sentinel/ by default. */
  fixtureDir?: string;
  /** The time the stories are moved to; the wall clock by default. */
  now?: Date;
  /** Further transaction Bundles to load after the fixtures (e.g. MIMIC episodes). */
  extraBundles?: Bundle[];
}

/** Starts the sandbox with every fixture patient loaded, rebased to `now`. */
export async function startFixtureSandbox(
  options: FixtureSandboxOptions = {},
): Promise<{ sandbox: FhirSandbox; patients: FixtureManifestEntry[]; anchor: string }> {
  const { fixtureDir, now, extraBundles, ...serverOptions } = options;
  const fixtures = loadRebasedFixtures({
    ...(fixtureDir !== undefined ? { dir: fixtureDir } : {}),
    ...(now !== undefined ? { now } : {}),
  });
  const sandbox = await startFhirSandbox({
    ...serverOptions,
    bundles: [...fixtures.bundles, ...(extraBundles ?? [])],
  });
  return { sandbox, patients: fixtures.patients, anchor: fixtures.anchor };
}
