/**
 * The composition root: turns validated configuration into the app's dependencies, reading every
 * file once at start (rule overrides, site codes, code lists, card templates, trusted clients) and checking
 * DATA_DIR is writable, so a bad one stops the service with a one-line message naming the variable
 * (a ConfigError, printed by config/startup.ts), before it takes any call.
 */
import { randomUUID } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { loadCardTemplates, loadWhatChangedTemplate } from './cards/load-card-templates.js';
import { CRS_SENTINEL_SERVICE_ID } from './cds-hooks/crs-sentinel-service.js';
import type { ServiceConfig } from './config/load-config.js';
import { checkDataDir } from './config/data-dir.js';
import { describeJsonError, parseJsonText } from './config/json-text.js';
import { ConfigError, isProduction } from './config/load-config.js';
import { oneLine } from './config/startup.js';
import { BatchSupportMemory } from './fhir/fhir-client.js';
import { FhirBytePool } from './fhir/fhir-http.js';
import type { AppDeps } from './http/app.js';
import { createPatientKeyHasher, loadOrCreatePatientKey } from './governance/patient-key.js';
import { resolvePolicyConfig, type PolicyConfig } from './governance/policy-config.js';
import { defaultTrendViewDir, trendViewLaunchUrl } from './http/trend-view-app.js';
import { createPatientIdHasher, type Logger } from './logging/logger.js';
import { resolveRuleConfig, type CrsRuleConfig } from './rules/crs-sentinel/rule-config.js';
import { loadCodeLists } from './config/value-sets.js';
import type { RequestAuthenticator } from './service/request-authenticator.js';
import { NO_METRICS, type ServiceMetrics } from './metrics/service-metrics.js';
import type { Stores } from './storage/governance-store.js';
import { openEmbeddedStores } from './storage/open-stores.js';
import { AUTH_OFF_WARNING, createDevelopmentVerifier, parseAuthMode } from './trust/auth-mode.js';
import { ensureDemoClient } from './trust/demo-client.js';
import { createKeyResolver } from './trust/key-resolver.js';
import { createTrustedRequestAuthenticator } from './trust/request-authenticator.js';
import { parseTrustedClients, type TrustedClient } from './trust/trusted-clients.js';
import { createClientJwtVerifier } from './trust/verify-client-jwt.js';

export function composeDependencies(
  config: ServiceConfig,
  env: NodeJS.ProcessEnv,
  logger: Logger,
  isAcceptingWork: () => boolean,
  /** Opened by the caller (server.ts, asynchronously for PostgreSQL/Redis); default: embedded. */
  stores: Stores = openEmbeddedStoresAfterCheck(config.dataDir),
  metrics: ServiceMetrics = NO_METRICS,
): AppDeps {
  checkDataDir(config.dataDir);
  const { codes, siteValueSets } = loadCodeLists(config.siteValueSetsPath);
  return {
    logger,
    publicBaseUrl: config.publicBaseUrl,
    bodyLimit: config.bodyLimit,
    corsOrigins: config.corsOrigins,
    authenticator: createAuthenticator(config, env, logger, stores),
    // Readiness (/readyz) covers every store, the replay cache in Redis included.
    feedbackStore: { append: (records) => stores.governance.append(records), check: () => stores.check() },
    patientView: {
      fhirTimeoutMs: config.fhirTimeoutMs,
      fhirMaxPages: config.fhirMaxPages,
      fhirMaxResponseBytes: config.fhirMaxResponseBytes,
      fhirBytePool: new FhirBytePool(config.fhirMaxInflightBytes),
      fhirBatchSupport: new BatchSupportMemory(),
      rules: { ...ruleConfig(config), codes },
      cardTemplates: loadCardTemplates(config.cardsDir),
      now: () => new Date(),
      newUuid: randomUUID,
      onFhirRequest: (outcome, seconds) => metrics.fhirRequest(outcome, seconds),
      governance: {
        serviceId: CRS_SENTINEL_SERVICE_ID,
        ledger: stores.governance,
        patientKey: createPatientKeyHasher(patientIdHashKey(config)),
        policy: policyConfig(config),
        whatChanged: loadWhatChangedTemplate(config.cardsDir),
        silent: config.silentMode === true,
        onStoreError: (operation, error) => {
          metrics.ledgerFailure(operation);
          logger.error(
            { operation, err: errorFacts(error) },
            'card ledger unavailable: card answered without it',
          );
        },
      },
      trendViewLaunchUrl: trendViewLaunchUrl(config.publicBaseUrl),
    },
    hashPatientId: createPatientIdHasher(config.logHashKey),
    isAcceptingWork,
    metrics,
    trendViewDir: defaultTrendViewDir(),
    // Checked by ruleConfig above; published as they are for the app's own resolveRuleConfig.
    trendViewRules: {
      rules: readOptionalJson(config.rulesConfigPath, 'RULES_CONFIG') ?? null,
      siteCodes: readOptionalJson(config.siteCodesPath, 'SITE_CODES') ?? null,
      valueSets: siteValueSets,
    },
  };
}

function createAuthenticator(
  config: ServiceConfig,
  env: NodeJS.ProcessEnv,
  logger: Logger,
  stores: Stores,
): RequestAuthenticator {
  if (parseAuthMode(env) === 'off') {
    logger.warn(AUTH_OFF_WARNING);
    return createTrustedRequestAuthenticator(createDevelopmentVerifier());
  }
  const verifier = createClientJwtVerifier({
    clients: trustedClients(config, env, logger),
    replayCache: stores.replayCache,
    clockSkewSeconds: config.jwtClockSkewSeconds,
    maxLifetimeSeconds: config.jwtMaxLifetimeSeconds,
    keyResolver: createKeyResolver({ onJwksProblem: (problem) => logger.warn(problem, 'JWK Set problem') }),
  });
  return createTrustedRequestAuthenticator(verifier);
}

/** The governance policy: defaults, with GOVERNANCE_CONFIG's overrides (docs/governance.md). */
function policyConfig(config: ServiceConfig): PolicyConfig {
  const overrides = readOptionalJson(config.governanceConfigPath, 'GOVERNANCE_CONFIG');
  try {
    return resolvePolicyConfig(overrides);
  } catch (error) {
    throw new ConfigError(
      `GOVERNANCE_CONFIG: ${JSON.stringify(config.governanceConfigPath)}: ${oneLine(error instanceof Error ? error.message : String(error))}`,
    );
  }
}

/** PATIENT_ID_HASH_KEY, or (outside production, checked by loadConfig) a key kept in DATA_DIR. */
function patientIdHashKey(config: ServiceConfig): string {
  if (config.patientIdHashKey !== undefined) return config.patientIdHashKey;
  try {
    return loadOrCreatePatientKey(config.dataDir);
  } catch (error) {
    throw new ConfigError(
      `DATA_DIR: the patient-id hash key cannot be used: ${oneLine(error instanceof Error ? error.message : String(error))}`,
    );
  }
}

/** An error's name and code for a log line: messages of database clients may quote values. */
function errorFacts(error: unknown): { name: string; code?: string } {
  const name = error instanceof Error ? error.name : typeof error;
  const code =
    typeof error === 'object' && error !== null && 'code' in error && typeof error.code === 'string'
      ? error.code
      : undefined;
  return code === undefined ? { name } : { name, code };
}

function openEmbeddedStoresAfterCheck(dataDir: string): Stores {
  checkDataDir(dataDir);
  return openEmbeddedStores(dataDir);
}

/** CDS_CLIENTS when set; otherwise only the local demo EHR, whose key is generated in DATA_DIR. */
function trustedClients(config: ServiceConfig, env: NodeJS.ProcessEnv, logger: Logger): TrustedClient[] {
  if (config.cdsClients !== undefined) {
    const clients = parseTrustedClients(config.cdsClients);
    if (clients.length === 0) {
      if (isProduction(env)) {
        throw new ConfigError(
          'CDS_CLIENTS: lists no client, so every call would be refused: add the trusted EHRs when NODE_ENV=production (docs/registration.md)',
        );
      }
      logger.warn('CDS_CLIENTS lists no client: every call will be refused (401)');
    }
    // One loud line at start: plain http lets anyone on the path read patient data and swap keys.
    const insecure = clients.filter((client) => client.allowInsecureHttp).map((client) => client.iss);
    if (insecure.length > 0) {
      logger.warn(
        { issuers: insecure },
        'CDS_CLIENTS: allow_insecure_http is set: plain http JWK Set and FHIR URLs are accepted for these issuers; local testing only, remove it in production',
      );
    }
    return clients;
  }
  if (isProduction(env)) {
    throw new ConfigError(
      'CDS_CLIENTS: required when NODE_ENV=production (the demo EHR key is for local use only): set it to the trusted EHRs, see docs/registration.md',
    );
  }
  let demo: ReturnType<typeof ensureDemoClient>;
  try {
    demo = ensureDemoClient(config.dataDir, { fhirServers: [config.demoFhirServer] });
  } catch (error) {
    throw new ConfigError(
      `DATA_DIR: the demo EHR key cannot be used: ${oneLine(error instanceof Error ? error.message : String(error))}`,
    );
  }
  logger.warn(
    { iss: demo.client.iss, fhirServer: config.demoFhirServer },
    'CDS_CLIENTS is not set: trusting only the local demo EHR key (see docs/registration.md)',
  );
  return [demo.client];
}

/**
 * The rule configuration, each file's problems named by its own variable: RULES_CONFIG alone is
 * resolved first so a bad override is not blamed on SITE_CODES, then with the site codes.
 */
function ruleConfig(config: ServiceConfig): CrsRuleConfig {
  const overrides = readOptionalJson(config.rulesConfigPath, 'RULES_CONFIG');
  const siteCodes = readOptionalJson(config.siteCodesPath, 'SITE_CODES');
  const resolved = resolveOrExplain('RULES_CONFIG', config.rulesConfigPath, () =>
    resolveRuleConfig(overrides),
  );
  if (siteCodes === undefined) return resolved;
  return resolveOrExplain('SITE_CODES', config.siteCodesPath, () => resolveRuleConfig(overrides, siteCodes));
}

function resolveOrExplain(
  variable: string,
  file: string | undefined,
  resolve: () => CrsRuleConfig,
): CrsRuleConfig {
  try {
    return resolve();
  } catch (error) {
    throw new ConfigError(
      `${variable}: ${JSON.stringify(file)}: ${oneLine(error instanceof Error ? error.message : String(error))}`,
    );
  }
}

function readOptionalJson(file: string | undefined, variable: string): unknown {
  if (file === undefined) return undefined;
  let text: string;
  try {
    text = readFileSync(file, 'utf8');
  } catch (error) {
    const code =
      typeof error === 'object' && error !== null && 'code' in error ? String(error.code) : 'error';
    throw new ConfigError(
      `${variable}: ${JSON.stringify(file)} cannot be read (${code}): set ${variable} to a readable JSON file (a relative path is taken from the working directory) or unset it`,
    );
  }
  const parsed = parseJsonText(text);
  if (!parsed.ok) throw new ConfigError(`${variable}: ${JSON.stringify(file)}: ${describeJsonError(parsed)}`);
  return parsed.value;
}
