/**
 * Service configuration from the environment, validated once at start (a bad value stops the
 * service with a message naming the variable). Every variable has a default that runs out of the
 * box; the README's configuration table lists them.
 */
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { z } from 'zod';

const logLevels = ['fatal', 'error', 'warn', 'info', 'debug', 'trace', 'silent'] as const;

const envSchema = z.object({
  PORT: z.coerce.number().int().min(0).max(65535).default(3000),
  HOST: z.string().min(1).default('127.0.0.1'),
  PUBLIC_BASE_URL: z.url({ protocol: /^https?$/ }).optional(),
  FHIR_TIMEOUT_MS: z.coerce.number().int().min(100).max(60_000).default(3000),
  FHIR_MAX_PAGES: z.coerce.number().int().min(1).max(50).default(5),
  FHIR_MAX_RESPONSE_BYTES: z.coerce
    .number()
    .int()
    .min(65_536)
    .max(1024 ** 3)
    .default(32 * 1024 ** 2),
  // All calls together (fhir-http.ts FhirBytePool): two worst-case calls by default.
  FHIR_MAX_INFLIGHT_BYTES: z.coerce
    .number()
    .int()
    .min(65_536)
    .max(16 * 1024 ** 3)
    .default(64 * 1024 ** 2),
  LOG_LEVEL: z.enum(logLevels).default('info'),
  DATA_DIR: z.string().min(1).default('data'),
  BODY_LIMIT: z
    .string()
    .regex(/^\d+(kb|mb)$/i, 'a size such as 5mb or 800kb')
    .default('5mb'),
  CORS_ORIGINS: z.string().min(1).default('*'),
  SHUTDOWN_GRACE_MS: z.coerce.number().int().min(0).max(120_000).default(10_000),
  RULES_CONFIG: z.string().min(1).optional(),
  SITE_CODES: z.string().min(1).optional(),
  SITE_VALUESETS: z.string().min(1).optional(),
  CARDS_DIR: z.string().min(1).optional(),
  CDS_CLIENTS: z.string().min(1).optional(),
  JWT_CLOCK_SKEW_SECONDS: z.coerce.number().int().min(0).max(600).default(60),
  JWT_MAX_LIFETIME_SECONDS: z.coerce.number().int().min(60).max(86_400).default(3600),
  DEMO_FHIR_SERVER: z.url({ protocol: /^https?$/ }).default('http://127.0.0.1:8080/fhir'),
  LOG_HASH_KEY: z.string().min(16, 'at least 16 characters').optional(),
  DATABASE_URL: z.url({ protocol: /^postgres(ql)?$/ }).optional(),
  DATABASE_SCHEMA: z
    .string()
    .regex(/^[a-z_][a-z0-9_]{0,62}$/, 'a plain lower-case identifier')
    .optional(),
  REDIS_URL: z.url({ protocol: /^rediss?$/ }).optional(),
  REDIS_KEY_PREFIX: z.string().min(1).max(100).optional(),
  PATIENT_ID_HASH_KEY: z.string().min(32, 'at least 32 characters').optional(),
  GOVERNANCE_CONFIG: z.string().min(1).optional(),
  SILENT_MODE: z.enum(['true', 'false']).default('false'),
  METRICS_PORT: z.coerce.number().int().min(0).max(65535).optional(),
  METRICS_HOST: z.string().min(1).optional(),
});

/**
 * Every environment variable the service reads: the schema above, and NODE_ENV and CDS_AUTH (read
 * where they are understood). deploy/ manifests are checked against it (test/deploy).
 */
export const SERVICE_VARIABLES: readonly string[] = [...Object.keys(envSchema.shape), 'NODE_ENV', 'CDS_AUTH'];

export interface ServiceConfig {
  port: number;
  host: string;
  /** The service's public origin, e.g. https://cds.example.org: JWT `aud` is checked against it. */
  publicBaseUrl: string;
  fhirTimeoutMs: number;
  fhirMaxPages: number;
  /** Decompressed bytes all FHIR answers of one hook call may take together. */
  fhirMaxResponseBytes: number;
  fhirMaxInflightBytes: number;
  logLevel: (typeof logLevels)[number];
  dataDir: string;
  bodyLimit: string;
  /** `*` or an explicit list of browser origins allowed to call the service (CORS). */
  corsOrigins: '*' | string[];
  shutdownGraceMs: number;
  rulesConfigPath?: string;
  siteCodesPath?: string;
  /** A folder of the site's own FHIR ValueSets extending the built-in code lists. */
  siteValueSetsPath?: string;
  /** The card templates folder (`cards/` of the package by default). */
  cardsDir: string;
  /** CDS_CLIENTS: the trusted EHRs (a JSON file path or the JSON itself); unset = the demo EHR only. */
  cdsClients?: string;
  jwtClockSkewSeconds: number;
  jwtMaxLifetimeSeconds: number;
  /** The FHIR server the embedded demo EHR may send the service to (the embedded sandbox). */
  demoFhirServer: string;
  logHashKey?: string;
  /** PostgreSQL for the card ledger and feedback (several replicas); unset = SQLite in DATA_DIR. */
  databaseUrl?: string;
  databaseSchema?: string;
  /** Redis for the JWT replay cache (several replicas); unset = in memory. */
  redisUrl?: string;
  /** Prefix of the replay cache's Redis keys (default `crs-sentinel:jti:`). */
  redisKeyPrefix?: string;
  /** Key of the ledger's patient HMAC; unset = generated once into DATA_DIR (not in production). */
  patientIdHashKey?: string;
  /** JSON file overriding the governance policy's quiet periods (docs/governance.md). */
  governanceConfigPath?: string;
  /** Silent mode for every EHR: cards are assessed and recorded as silent, `{"cards": []}` answered. */
  silentMode?: true;
  /** GET /metrics on its own listener (unset: no metrics listener). */
  metricsPort?: number;
  /** Interface of the metrics listener (default 127.0.0.1). */
  metricsHost?: string;
}

/** The package root: where package.json is, from src/ (tests) or dist/src/ (built). */
export const PACKAGE_ROOT = fileURLToPath(
  new URL(import.meta.url.includes('/dist/') ? '../../../' : '../../', import.meta.url),
);

export class ConfigError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'ConfigError';
  }
}

/**
 * What each variable must be, appended to zod's message so the start-up line says the fix, not
 * only what was wrong. A variable missing here gets zod's message alone.
 */
const fixes: Partial<Record<keyof z.infer<typeof envSchema>, string>> = {
  PORT: 'set PORT to a TCP port, 0-65535',
  HOST: 'set HOST to an interface address such as 127.0.0.1 or 0.0.0.0',
  PUBLIC_BASE_URL: 'set PUBLIC_BASE_URL to the origin EHRs call, e.g. https://cds.example.org',
  FHIR_TIMEOUT_MS: 'set FHIR_TIMEOUT_MS to milliseconds, 100-60000',
  FHIR_MAX_PAGES: 'set FHIR_MAX_PAGES to 1-50',
  LOG_LEVEL: `set LOG_LEVEL to one of ${logLevels.join(', ')}`,
  BODY_LIMIT: 'set BODY_LIMIT to a size such as 5mb or 800kb',
  SHUTDOWN_GRACE_MS: 'set SHUTDOWN_GRACE_MS to milliseconds, 0-120000',
  JWT_CLOCK_SKEW_SECONDS: 'set JWT_CLOCK_SKEW_SECONDS to 0-600',
  JWT_MAX_LIFETIME_SECONDS: 'set JWT_MAX_LIFETIME_SECONDS to 60-86400',
  DEMO_FHIR_SERVER: 'set DEMO_FHIR_SERVER to an http(s) FHIR base URL',
  LOG_HASH_KEY: 'set LOG_HASH_KEY to a random string of 16 characters or more',
  DATABASE_URL: 'set DATABASE_URL to postgres://user@host:5432/database, or unset it for the embedded store',
  DATABASE_SCHEMA: 'set DATABASE_SCHEMA to a schema name such as crs_sentinel',
  REDIS_URL: 'set REDIS_URL to redis://host:6379, or unset it for the in-memory replay cache',
  PATIENT_ID_HASH_KEY:
    'set PATIENT_ID_HASH_KEY to a random string of 32 characters or more (e.g. openssl rand -hex 32)',
};

/** Variables whose values are never echoed in a start-up message (keys, passwords in URLs). */
const SECRET_VARIABLES = new Set(['LOG_HASH_KEY', 'DATABASE_URL', 'REDIS_URL', 'PATIENT_ID_HASH_KEY']);

function describeEnvIssue(env: NodeJS.ProcessEnv, issue: z.core.$ZodIssue | undefined): string {
  const variable = String(issue?.path[0] ?? 'environment');
  const raw = env[variable];
  // Secrets are not echoed (LOG_HASH_KEY); other values are quoted, shortened, so a typo is visible.
  const got =
    raw === undefined || SECRET_VARIABLES.has(variable) ? '' : ` (got ${JSON.stringify(raw.slice(0, 60))})`;
  const fix = fixes[variable as keyof typeof fixes];
  return `${variable}: ${issue?.message ?? 'invalid'}${got}${fix === undefined ? '' : `: ${fix}`}`;
}

export function loadConfig(env: NodeJS.ProcessEnv, cwd: string = process.cwd()): ServiceConfig {
  const parsed = envSchema.safeParse(env);
  if (!parsed.success) throw new ConfigError(describeEnvIssue(env, parsed.error.issues[0]));
  const e = parsed.data;
  if (isProduction(env)) checkProductionRules(e);
  const config: ServiceConfig = {
    port: e.PORT,
    host: e.HOST,
    publicBaseUrl: (e.PUBLIC_BASE_URL ?? `http://${localHost(e.HOST)}:${e.PORT}`).replace(/\/+$/, ''),
    fhirTimeoutMs: e.FHIR_TIMEOUT_MS,
    fhirMaxPages: e.FHIR_MAX_PAGES,
    fhirMaxResponseBytes: e.FHIR_MAX_RESPONSE_BYTES,
    fhirMaxInflightBytes: e.FHIR_MAX_INFLIGHT_BYTES,
    logLevel: e.LOG_LEVEL,
    dataDir: path.resolve(cwd, e.DATA_DIR),
    bodyLimit: e.BODY_LIMIT.toLowerCase(),
    corsOrigins:
      e.CORS_ORIGINS === '*'
        ? '*'
        : e.CORS_ORIGINS.split(',')
            .map((o) => o.trim())
            .filter(Boolean),
    shutdownGraceMs: e.SHUTDOWN_GRACE_MS,
    cardsDir: e.CARDS_DIR === undefined ? path.join(PACKAGE_ROOT, 'cards') : path.resolve(cwd, e.CARDS_DIR),
    jwtClockSkewSeconds: e.JWT_CLOCK_SKEW_SECONDS,
    jwtMaxLifetimeSeconds: e.JWT_MAX_LIFETIME_SECONDS,
    demoFhirServer: e.DEMO_FHIR_SERVER,
  };
  if (e.CDS_CLIENTS !== undefined) config.cdsClients = e.CDS_CLIENTS;
  if (e.LOG_HASH_KEY !== undefined) config.logHashKey = e.LOG_HASH_KEY;
  if (e.DATABASE_URL !== undefined) config.databaseUrl = e.DATABASE_URL;
  if (e.DATABASE_SCHEMA !== undefined) config.databaseSchema = e.DATABASE_SCHEMA;
  if (e.REDIS_URL !== undefined) config.redisUrl = e.REDIS_URL;
  if (e.REDIS_KEY_PREFIX !== undefined) config.redisKeyPrefix = e.REDIS_KEY_PREFIX;
  if (e.PATIENT_ID_HASH_KEY !== undefined) config.patientIdHashKey = e.PATIENT_ID_HASH_KEY;
  if (e.SILENT_MODE === 'true') config.silentMode = true;
  if (e.METRICS_PORT !== undefined) config.metricsPort = e.METRICS_PORT;
  if (e.METRICS_HOST !== undefined) config.metricsHost = e.METRICS_HOST;
  if (e.GOVERNANCE_CONFIG !== undefined) config.governanceConfigPath = path.resolve(cwd, e.GOVERNANCE_CONFIG);
  if (e.RULES_CONFIG !== undefined) config.rulesConfigPath = path.resolve(cwd, e.RULES_CONFIG);
  if (e.SITE_CODES !== undefined) config.siteCodesPath = path.resolve(cwd, e.SITE_CODES);
  if (e.SITE_VALUESETS !== undefined) config.siteValueSetsPath = path.resolve(cwd, e.SITE_VALUESETS);
  return config;
}

/** NODE_ENV=production, compared as auth-mode.ts does (trimmed, case-insensitive). */
export function isProduction(env: NodeJS.ProcessEnv): boolean {
  return (env.NODE_ENV ?? '').trim().toLowerCase() === 'production';
}

/**
 * The NODE_ENV=production rules that need only the environment (README, "Configuration"). The
 * others live where the value is understood: CDS_AUTH=off in trust/auth-mode.ts, an empty client
 * list in compose-dependencies.ts.
 */
function checkProductionRules(e: z.infer<typeof envSchema>): void {
  // Without PUBLIC_BASE_URL the default (http://HOST:PORT, e.g. http://localhost:3000 in Docker) is
  // never the URL the EHR signs as `aud`, so every call would fail the audience check, silently.
  if (e.PUBLIC_BASE_URL === undefined) {
    throw new ConfigError(
      'PUBLIC_BASE_URL: required when NODE_ENV=production: set it to the https origin EHRs call, e.g. https://cds.example.org (each JWT aud is checked against it)',
    );
  }
  const url = new URL(e.PUBLIC_BASE_URL);
  if (url.protocol !== 'https:') {
    throw new ConfigError(
      `PUBLIC_BASE_URL: must be https when NODE_ENV=production (got ${JSON.stringify(e.PUBLIC_BASE_URL.slice(0, 100))}): EHRs call CDS services over TLS; set it to e.g. https://cds.example.org`,
    );
  }
  if (
    url.pathname !== '/' ||
    url.search !== '' ||
    url.hash !== '' ||
    url.username !== '' ||
    url.password !== ''
  ) {
    throw new ConfigError(
      `PUBLIC_BASE_URL: must be an origin without a path, query or credentials when NODE_ENV=production (got ${JSON.stringify(e.PUBLIC_BASE_URL.slice(0, 100))}): set it to ${url.origin}`,
    );
  }
  if (e.CDS_CLIENTS === undefined) {
    throw new ConfigError(
      'CDS_CLIENTS: required when NODE_ENV=production (the demo EHR key is for local use only): set it to the trusted EHRs, see docs/registration.md',
    );
  }
  // Replicas and restarts must hash a patient the same way, or the card ledger forgets them.
  if (e.PATIENT_ID_HASH_KEY === undefined) {
    throw new ConfigError(
      'PATIENT_ID_HASH_KEY: required when NODE_ENV=production (the card ledger keys patients by it; it must be the same on every replica and across restarts): set it to a random string of 32 characters or more',
    );
  }
}

/** The URL host a local caller uses for the listening interface (a wildcard is not callable). */
function localHost(host: string): string {
  if (host === '0.0.0.0' || host === '::') return 'localhost';
  return host.includes(':') ? `[${host}]` : host;
}
