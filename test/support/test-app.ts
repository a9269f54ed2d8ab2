/**
 * Builds the real app for tests, with fakes passed through createApp(deps): a silent logger, an
 * in-memory feedback store and a fixed clock.
 */
import { pino } from 'pino';
import { createMemoryFeedbackStore, type FeedbackStore } from '../../src/feedback/feedback-store.js';
import { BatchSupportMemory } from '../../src/fhir/fhir-client.js';
import { createApp, type AppDeps } from '../../src/http/app.js';
import { loadCardTemplates } from '../../src/cards/load-card-templates.js';
import { PACKAGE_ROOT } from '../../src/config/load-config.js';
import { DEFAULT_RULE_CONFIG } from '../../src/rules/crs-sentinel/rule-config.js';
import { createDevelopmentVerifier } from '../../src/trust/auth-mode.js';
import { createTrustedRequestAuthenticator } from '../../src/trust/request-authenticator.js';

const developmentAuthenticator = createTrustedRequestAuthenticator(createDevelopmentVerifier());

export const CARD_TEMPLATES = loadCardTemplates(`${PACKAGE_ROOT}cards`);

/** Deterministic uuids for whole-object assertions: 00000000-0000-4000-8000-000000000001, ... */
export function sequentialUuids(): () => string {
  let n = 0;
  return () => `00000000-0000-4000-8000-${String(++n).padStart(12, '0')}`;
}

export const TEST_NOW = new Date('2025-01-15T12:00:00Z');
export const TEST_BASE_URL = 'https://cds.test.example';

export function buildTestApp(overrides: Partial<AppDeps> & { feedbackStore?: FeedbackStore } = {}) {
  const feedbackStore = overrides.feedbackStore ?? createMemoryFeedbackStore();
  const deps: AppDeps = {
    logger: pino({ level: 'silent' }),
    publicBaseUrl: TEST_BASE_URL,
    bodyLimit: '5mb',
    corsOrigins: '*',
    authenticator: developmentAuthenticator,
    feedbackStore,
    patientView: {
      fhirTimeoutMs: 1500,
      fhirMaxPages: 5,
      fhirBatchSupport: new BatchSupportMemory(),
      rules: DEFAULT_RULE_CONFIG,
      cardTemplates: CARD_TEMPLATES,
      now: () => TEST_NOW,
      newUuid: sequentialUuids(),
    },
    hashPatientId: (id) => `hash-of-${id.length}`,
    ...overrides,
  };
  return { app: createApp(deps), deps, feedbackStore };
}

/** A minimal valid patient-view request. */
export function hookRequest(extra: Record<string, unknown> = {}): Record<string, unknown> {
  return {
    hook: 'patient-view',
    hookInstance: 'd1577c69-dfbe-44ad-ba6d-3e05e953b2ea',
    context: { userId: 'Practitioner/example', patientId: 'pat-1' },
    ...extra,
  };
}

/** Prefetch that answers every key with `null` (no data), so nothing is fetched. */
export function emptyPrefetch(): Record<string, null> {
  return {
    patient: null,
    vitals: null,
    bodyWeight: null,
    labs: null,
    medicationAdministrations: null,
    therapyAdministrations: null,
    conditions: null,
    procedures: null,
    encounters: null,
  };
}
