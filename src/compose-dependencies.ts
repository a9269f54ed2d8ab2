/**
 * The composition root: turns validated configuration into the app's dependencies, reading every
 * file once at start (rule overrides, site codes, card templates, trusted clients) so a bad one
 * stops the service with a message naming it, before it takes any call.
 */
import { randomUUID } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { loadCardTemplates } from './cards/load-card-templates.js';
import type { ServiceConfig } from './config/load-config.js';
import { ConfigError } from './config/load-config.js';
import { createFileFeedbackStore } from './feedback/feedback-store.js';
import { BatchSupportMemory } from './fhir/fhir-client.js';
import type { AppDeps } from './http/app.js';
import { createPatientIdHasher, type Logger } from './logging/logger.js';
import { resolveRuleConfig } from './rules/crs-sentinel/rule-config.js';
import type { RequestAuthenticator } from './service/request-authenticator.js';
import { AUTH_OFF_WARNING, createDevelopmentVerifier, parseAuthMode } from './trust/auth-mode.js';
import { ensureDemoClient } from './trust/demo-client.js';
import { createKeyResolver } from './trust/key-resolver.js';
import { InMemoryReplayCache } from './trust/replay-cache.js';
import { createTrustedRequestAuthenticator } from './trust/request-authenticator.js';
import { parseTrustedClients, type TrustedClient } from './trust/trusted-clients.js';
import { createClientJwtVerifier } from './trust/verify-client-jwt.js';

export function composeDependencies(
  config: ServiceConfig,
  env: NodeJS.ProcessEnv,
  logger: Logger,
  isAcceptingWork: () => boolean,
): AppDeps {
  return {
    logger,
    publicBaseUrl: config.publicBaseUrl,
    bodyLimit: config.bodyLimit,
    corsOrigins: config.corsOrigins,
    authenticator: createAuthenticator(config, env, logger),
    feedbackStore: createFileFeedbackStore(config.dataDir),
    patientView: {
      fhirTimeoutMs: config.fhirTimeoutMs,
      fhirMaxPages: config.fhirMaxPages,
      fhirMaxResponseBytes: config.fhirMaxResponseBytes,
      fhirBatchSupport: new BatchSupportMemory(),
      rules: resolveRuleConfig(
        readOptionalJson(config.rulesConfigPath, 'RULES_CONFIG'),
        readOptionalJson(config.siteCodesPath, 'SITE_CODES'),
      ),
      cardTemplates: loadCardTemplates(config.cardsDir),
      now: () => new Date(),
      newUuid: randomUUID,
    },
    hashPatientId: createPatientIdHasher(config.logHashKey),
    isAcceptingWork,
  };
}

function createAuthenticator(
  config: ServiceConfig,
  env: NodeJS.ProcessEnv,
  logger: Logger,
): RequestAuthenticator {
  if (parseAuthMode(env) === 'off') {
    logger.warn(AUTH_OFF_WARNING);
    return createTrustedRequestAuthenticator(createDevelopmentVerifier());
  }
  const verifier = createClientJwtVerifier({
    clients: trustedClients(config, env, logger),
    replayCache: new InMemoryReplayCache(),
    clockSkewSeconds: config.jwtClockSkewSeconds,
    maxLifetimeSeconds: config.jwtMaxLifetimeSeconds,
    keyResolver: createKeyResolver({ onJwksProblem: (problem) => logger.warn(problem, 'JWK Set problem') }),
  });
  return createTrustedRequestAuthenticator(verifier);
}

/** CDS_CLIENTS when set; otherwise only the local demo EHR, whose key is generated in DATA_DIR. */
function trustedClients(config: ServiceConfig, env: NodeJS.ProcessEnv, logger: Logger): TrustedClient[] {
  if (config.cdsClients !== undefined) return parseTrustedClients(config.cdsClients);
  if (env.NODE_ENV === 'production') {
    throw new ConfigError(
      'CDS_CLIENTS: required when NODE_ENV=production (the demo EHR key is for local use only)',
    );
  }
  const demo = ensureDemoClient(config.dataDir, { fhirServers: [config.demoFhirServer] });
  logger.warn(
    { iss: demo.client.iss, fhirServer: config.demoFhirServer },
    'CDS_CLIENTS is not set: trusting only the local demo EHR key (see docs/registration.md)',
  );
  return [demo.client];
}

function readOptionalJson(file: string | undefined, variable: string): unknown {
  if (file === undefined) return undefined;
  try {
    return JSON.parse(readFileSync(file, 'utf8')) as unknown;
  } catch (error) {
    throw new ConfigError(
      `${variable}: ${file} is not a readable JSON file (${error instanceof Error ? error.name : 'error'})`,
    );
  }
}
