/**
 * Helpers for the governance tests: a fixture patient's prefetch under any patient id (so one
 * "patient" can worsen from one fixture's data to another's), and the test app with a card ledger.
 */
import { readFileSync } from 'node:fs';
import path from 'node:path';
import type { Bundle } from 'fhir/r4';
import { CRS_SENTINEL_SERVICE_ID } from '../../src/cds-hooks/crs-sentinel-service.js';
import { PACKAGE_ROOT } from '../../src/config/load-config.js';
import { bundleToPrefetch } from '../../src/fixtures/bundle-split.js';
import { FIXTURE_DIR } from '../../src/fixtures/fixture-manifest.js';
import { createPatientKeyHasher } from '../../src/governance/patient-key.js';
import type { AppDeps } from '../../src/http/app.js';
import type { GovernanceDeps } from '../../src/service/govern-cards.js';
import type { GovernanceStore } from '../../src/storage/governance-store.js';
import { buildTestApp } from '../support/test-app.js';

export const PATIENT_KEY_SECRET = 'test-patient-key-secret-0123456789abcdef';
export const patientKey = createPatientKeyHasher(PATIENT_KEY_SECRET);

/** The prefetch of fixture `file` with its patient id replaced by `patientId` everywhere. */
export function fixturePrefetch(file: string, patientId: string): Record<string, unknown> {
  const bundle = JSON.parse(readFileSync(path.join(PACKAGE_ROOT, FIXTURE_DIR, file), 'utf8')) as Bundle;
  const original = bundle.entry?.find((e) => e.resource?.resourceType === 'Patient')?.resource?.id;
  if (original === undefined) throw new Error(`${file} has no Patient`);
  const renamed = JSON.parse(JSON.stringify(bundle).replaceAll(original, patientId)) as Bundle;
  return bundleToPrefetch(renamed);
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
    ...options.governance,
  };
  return buildTestApp({
    feedbackStore: store,
    ...options.app,
    patientView: { ...built.deps.patientView, now: options.now, governance },
  });
}
