/**
 * The sandbox preloaded with the constructed fixture patients (fixtures/crs-sentinel/), every
 * timestamp moved from the manifest's anchor to `now` so each story is as recent as when it was
 * written ("infused 3 days ago" stays 3 days ago). Used by `npm run sandbox` and by anything that
 * wants cards with no other set-up.
 */
import { existsSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import type { Bundle } from 'fhir/r4';
import { ConfigError } from '../config/load-config.js';
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

/**
 * Where `npm run sandbox` and `npm run demo` put the sandbox: FHIR_SANDBOX_PORT (default 8080) and
 * FHIR_SANDBOX_HOST (default 127.0.0.1: it has no authentication). A bad value is a one-line
 * ConfigError naming the variable.
 */
export function sandboxAddressFrom(env: NodeJS.ProcessEnv): { port: number; host: string } {
  const raw = env.FHIR_SANDBOX_PORT;
  let port = 8080;
  if (raw !== undefined && raw !== '') {
    port = Number(raw);
    if (!/^\d+$/.test(raw.trim()) || port > 65_535) {
      throw new ConfigError(
        `FHIR_SANDBOX_PORT: must be a TCP port, 0-65535 (got ${JSON.stringify(raw.slice(0, 40))}): set FHIR_SANDBOX_PORT to a free port`,
      );
    }
  }
  const host =
    env.FHIR_SANDBOX_HOST === undefined || env.FHIR_SANDBOX_HOST === '' ? '127.0.0.1' : env.FHIR_SANDBOX_HOST;
  return { port, host };
}
