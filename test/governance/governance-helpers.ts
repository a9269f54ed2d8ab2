/**
 * Helpers for the governance tests: a fixture patient's prefetch under any patient id (so one
 * "patient" can worsen from one fixture's data to another's), and the test app with a card ledger.
 */
import { readFileSync } from 'node:fs';
import path from 'node:path';
import type { Bundle } from 'fhir/r4';
import { CRS_SENTINEL_SERVICE_ID } from '../../src/cds-hooks/crs-sentinel-service.js';
import { loadWhatChangedTemplate } from '../../src/cards/load-card-templates.js';
import { PACKAGE_ROOT } from '../../src/config/load-config.js';
import { DEFAULT_POLICY_CONFIG } from '../../src/governance/policy-config.js';
import { bundleToPrefetch } from '../../src/fixtures/bundle-split.js';
import { FIXTURE_ANCHOR, FIXTURE_DIR, rebaseBundle } from '../../src/fixtures/fixture-manifest.js';
import { createPatientKeyHasher } from '../../src/governance/patient-key.js';
import type { AppDeps } from '../../src/http/app.js';
import type { GovernanceDeps } from '../../src/service/govern-cards.js';
import type { GovernanceStore } from '../../src/storage/governance-store.js';
import { buildTestApp } from '../support/test-app.js';

export const WHAT_CHANGED = loadWhatChangedTemplate(`${PACKAGE_ROOT}cards`);
export const PATIENT_KEY_SECRET = 'test-patient-key-secret-0123456789abcdef';
export const patientKey = createPatientKeyHasher(PATIENT_KEY_SECRET);

/**
 * The prefetch of fixture `file` with its patient id replaced by `patientId` everywhere, its times
 * moved from the fixture anchor to `now` when given (so a later call sees fresh data).
 */
export function fixturePrefetch(file: string, patientId: string, now?: Date): Record<string, unknown> {
  const bundle = JSON.parse(readFileSync(path.join(PACKAGE_ROOT, FIXTURE_DIR, file), 'utf8')) as Bundle;
  const original = bundle.entry?.find((e) => e.resource?.resourceType === 'Patient')?.resource?.id;
  if (original === undefined) throw new Error(`${file} has no Patient`);
  const renamed = JSON.parse(JSON.stringify(bundle).replaceAll(original, patientId)) as Bundle;
  const rebased = now === undefined ? renamed : rebaseBundle(renamed, new Date(FIXTURE_ANCHOR), now);
  return bundleToPrefetch(rebased);
}

export function governedApp(
  store: GovernanceStore,
  options: { now: () => Date; governance?: Partial<GovernanceDeps>; app?: Partial<AppDeps> },
) {
  const built = buildTestApp({ feedbackStore: store, ...options.app });
  const governance: GovernanceDeps = {
    serviceId: CRS_SENTINEL_SERVICE_ID,
    ledger: store,
    patientKey,
    policy: DEFAULT_POLICY_CONFIG,
    whatChanged: WHAT_CHANGED,
    ...options.governance,
  };
  return buildTestApp({
    feedbackStore: store,
    ...options.app,
    patientView: { ...built.deps.patientView, now: options.now, governance },
  });
}
