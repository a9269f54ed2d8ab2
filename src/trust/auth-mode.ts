/**
 * `CDS_AUTH`: `on` (default) or `off` (issue 4, "Development mode").
 *
 * CDS Hooks 2.0 "Trusting CDS Clients": "CDS Services SHOULD require authentication if invoking the
 * service poses any risk of exposing sensitive data to the caller". This service reads patient
 * data, so `off` exists for local tests only: it turns off JWT verification and the FHIR server
 * binding, the HTTP layer logs a warning at start and on every request, and start-up refuses it
 * when NODE_ENV is `production`.
 */
import type { TrustedClient } from './trusted-clients.js';
import type { ClientJwtVerifier } from './verify-client-jwt.js';

export type AuthMode = 'on' | 'off';

export class AuthModeError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'AuthModeError';
  }
}

export interface AuthModeEnv {
  readonly CDS_AUTH?: string | undefined;
  readonly NODE_ENV?: string | undefined;
}

/** Parses CDS_AUTH. Throws AuthModeError on an unknown value, or on `off` in production. */
export function parseAuthMode(env: AuthModeEnv): AuthMode {
  const raw = (env.CDS_AUTH ?? '').trim().toLowerCase();
  if (raw === '' || raw === 'on') return 'on';
  if (raw !== 'off') {
    throw new AuthModeError(
      `CDS_AUTH must be "on" or "off" (got ${JSON.stringify(env.CDS_AUTH?.slice(0, 40))})`,
    );
  }
  if ((env.NODE_ENV ?? '').trim().toLowerCase() === 'production') {
    throw new AuthModeError(
      'CDS_AUTH=off is refused when NODE_ENV=production: it lets anyone call the service and point it at any FHIR server',
    );
  }
  return 'off';
}

/** The warning the HTTP layer logs at start and on every request while CDS_AUTH=off. */
export const AUTH_OFF_WARNING =
  'CDS_AUTH=off: client JWTs are NOT verified and any fhirServer may be called. Local testing only.';

/**
 * The synthetic client every request is attributed to while CDS_AUTH=off. It has no keys and
 * `fhirServers: 'any'`, which only this client can have (configuration never produces it).
 */
export const DEVELOPMENT_CLIENT: TrustedClient = Object.freeze({
  iss: 'urn:crs-sentinel:development',
  keySource: Object.freeze({ kind: 'jwks', jwks: Object.freeze({ keys: Object.freeze([]) }) }),
  fhirServers: 'any',
  allowInsecureHttp: true,
});

export function isDevelopmentClient(client: TrustedClient): boolean {
  return client === DEVELOPMENT_CLIENT;
}

/** The verifier used while CDS_AUTH=off: accepts every call as DEVELOPMENT_CLIENT. */
export function createDevelopmentVerifier(): ClientJwtVerifier {
  return {
    verify() {
      return Promise.resolve({
        ok: true,
        client: DEVELOPMENT_CLIENT,
        iss: DEVELOPMENT_CLIENT.iss,
        jti: 'development',
      });
    },
  };
}
