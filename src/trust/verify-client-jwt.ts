/**
 * Verifies the JWT a CDS client sends on every call (CDS Hooks 2.0 "Trusting CDS Clients",
 * https://cds-hooks.hl7.org/2.0/#trusting-cds-clients: "Authorization: Bearer {{JWT}}" on discovery,
 * service and feedback calls alike).
 *
 * Checks run in the order of the CDS Hooks best practices ("JWT", steps 1 to 6): `iss` is a trusted
 * client; `aud` is the URL of the endpoint called; `exp` not passed (plus `iat` not in the future,
 * a maximum lifetime, and `nbf` when present); `tenant` when the client entry sets one; the
 * signature, by the issuer's own keys only, with `alg` from an allow-list (never `none` or HMAC,
 * "JWT Signing Algorithm"), a `jku` header accepted only when it equals the issuer's configured JWK
 * Set URL (or, for keys pinned inline, ignored: the pinned keys decide), and `kid` selecting the key; and last the `jti`, recorded only once everything else has
 * passed. Claims are read before the signature is checked only to pick the issuer and refuse cheap
 * failures early; nothing is trusted until the signature verifies.
 *
 * The result says which check failed, for the log; the HTTP answer must not (best practices: "it
 * should not leak the details of why the JWT failed validation back to the caller"). The token itself
 * is never returned, kept or logged.
 */
import jwt from 'jsonwebtoken';
import type { ReplayCache } from './replay-cache.js';
import type { KeyLookup, KeyResolver } from './key-resolver.js';
import { createKeyResolver } from './key-resolver.js';
import type { TrustedClient } from './trusted-clients.js';
import { ALLOWED_ALGORITHMS, isAllowedAlgorithm, keyFitsAlgorithm } from './jwk.js';
import type { AllowedAlgorithm } from './jwk.js';

export type FailedCheck =
  /** No Authorization header, or an empty one. */
  | 'missing-header'
  /** Not `Bearer <compact JWS>`, undecodable header or payload, or a `crit` header. */
  | 'malformed'
  /** `typ` present and not `JWT`. */
  | 'typ'
  /** `iss` missing or not a configured trusted client. */
  | 'unknown-issuer'
  /** `aud` does not name the endpoint called. */
  | 'audience'
  | 'missing-exp'
  | 'expired'
  | 'missing-iat'
  | 'issued-in-future'
  /** `exp - iat` is over the configured maximum lifetime. */
  | 'lifetime'
  /** `nbf` in the future (or not a number). */
  | 'not-yet-valid'
  /** The client entry sets a tenant and the JWT's `tenant` differs. */
  | 'tenant'
  /** `alg` not allowed, or does not fit the selected key. */
  | 'algorithm'
  /** A `jku` header that is not the issuer's configured `jwks_url`. */
  | 'jku'
  | 'missing-kid'
  /** No key with that `kid` in the issuer's JWK Set (after a rate-limited refresh). */
  | 'unknown-key'
  /** The issuer's JWK Set could not be fetched. */
  | 'key-unavailable'
  | 'signature'
  | 'missing-jti'
  | 'replay';

export type AuthResult =
  | { readonly ok: true; readonly client: TrustedClient; readonly iss: string; readonly jti: string }
  | { readonly ok: false; readonly failedCheck: FailedCheck; readonly iss?: string; readonly jti?: string };

export interface ClientJwtVerifier {
  /**
   * @param authorizationHeader the raw `Authorization` header value
   * @param audience the public URL of the endpoint called, e.g. `${PUBLIC_BASE_URL}/cds-services`
   */
  verify(authorizationHeader: string | undefined, audience: string): Promise<AuthResult>;
}

export interface ClientJwtVerifierOptions {
  readonly clients: readonly TrustedClient[];
  readonly replayCache: ReplayCache;
  /** Clock skew tolerated on `exp`, `iat` and `nbf` (default 60 s). */
  readonly clockSkewSeconds?: number;
  /** Maximum `exp - iat` (default 3600 s; Epic issues 15-minute tokens). */
  readonly maxLifetimeSeconds?: number;
  /** Accepted `alg` values, a subset of ALLOWED_ALGORITHMS (default: all of them). */
  readonly algorithms?: readonly AllowedAlgorithm[];
  /** Key lookup (default: createKeyResolver() with its defaults). */
  readonly keyResolver?: KeyResolver;
  readonly now?: () => Date;
}

/** Longest Authorization header considered; real client JWTs are well under 2 KB. */
const MAX_TOKEN_LENGTH = 8192;
const MAX_JTI_LENGTH = 256;
const BEARER = /^Bearer[ ]+([A-Za-z0-9_-]+\.[A-Za-z0-9_-]+\.[A-Za-z0-9_-]*)[ ]*$/i;

/** `iss`/`jti` as they may appear in a log line: bounded, without control characters. */
function forLog(value: unknown): string | undefined {
  if (typeof value !== 'string') return undefined;
  // eslint-disable-next-line no-control-regex
  return value.slice(0, 256).replace(/[\u0000-\u001f\u007f]/g, '?');
}

function isRecord(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

function isNumericDate(value: unknown): value is number {
  return typeof value === 'number' && Number.isFinite(value);
}

function withoutTrailingSlash(url: string): string {
  return url.endsWith('/') ? url.slice(0, -1) : url;
}

function checkPositive(name: string, value: number): number {
  if (!Number.isFinite(value) || value < 0) throw new RangeError(`${name} must be a non-negative number`);
  return value;
}

export function createClientJwtVerifier(options: ClientJwtVerifierOptions): ClientJwtVerifier {
  const skew = checkPositive('clockSkewSeconds', options.clockSkewSeconds ?? 60);
  const maxLifetime = checkPositive('maxLifetimeSeconds', options.maxLifetimeSeconds ?? 3600);
  const algorithms: readonly AllowedAlgorithm[] = options.algorithms ?? ALLOWED_ALGORITHMS;
  if (algorithms.length === 0 || !algorithms.every(isAllowedAlgorithm)) {
    throw new RangeError(`algorithms must be a non-empty subset of ${ALLOWED_ALGORITHMS.join(', ')}`);
  }
  const keyResolver = options.keyResolver ?? createKeyResolver();
  const now = options.now ?? (() => new Date());
  const clientsByIss = new Map<string, TrustedClient>();
  for (const client of options.clients) clientsByIss.set(client.iss, client);

  async function verify(authorizationHeader: string | undefined, audience: string): Promise<AuthResult> {
    if (authorizationHeader === undefined || authorizationHeader.trim() === '') {
      return { ok: false, failedCheck: 'missing-header' };
    }
    if (authorizationHeader.length > MAX_TOKEN_LENGTH) return { ok: false, failedCheck: 'malformed' };
    const token = BEARER.exec(authorizationHeader)?.[1];
    if (token === undefined) return { ok: false, failedCheck: 'malformed' };
    const decoded = jwt.decode(token, { complete: true, json: true });
    if (decoded === null || !isRecord(decoded.header) || !isRecord(decoded.payload)) {
      return { ok: false, failedCheck: 'malformed' };
    }
    const header: Record<string, unknown> = decoded.header;
    const payload: Record<string, unknown> = decoded.payload;
    const issForLog = forLog(payload.iss);
    const jtiForLog = forLog(payload.jti);
    const ids = {
      ...(issForLog === undefined ? {} : { iss: issForLog }),
      ...(jtiForLog === undefined ? {} : { jti: jtiForLog }),
    };
    const fail = (failedCheck: FailedCheck): AuthResult => ({ ok: false, failedCheck, ...ids });

    // RFC 7515 section 4.1.11: extensions listed in `crit` must be understood; none are here.
    if (header.crit !== undefined) return fail('malformed');
    // CDS Hooks 2.0: `typ` is "Fixed value: JWT" (compared case-insensitively, RFC 7515 4.1.9).
    if (header.typ !== undefined && (typeof header.typ !== 'string' || header.typ.toUpperCase() !== 'JWT')) {
      return fail('typ');
    }

    // 1. `iss` is on the allow-list.
    const client = typeof payload.iss === 'string' ? clientsByIss.get(payload.iss) : undefined;
    if (client === undefined) return fail('unknown-issuer');

    // 2. `aud` is the URL of the endpoint called (string or array of strings, RFC 7519 4.1.3).
    const expected = withoutTrailingSlash(audience);
    const audiences: unknown[] = Array.isArray(payload.aud) ? payload.aud : [payload.aud];
    if (!audiences.some((aud) => typeof aud === 'string' && withoutTrailingSlash(aud) === expected)) {
      return fail('audience');
    }

    // 3. Time claims: `exp` and `iat` are REQUIRED numbers; `nbf` is enforced when present.
    const nowSeconds = now().getTime() / 1000;
    const { exp, iat, nbf } = payload;
    if (!isNumericDate(exp)) return fail('missing-exp');
    if (nowSeconds >= exp + skew) return fail('expired');
    if (!isNumericDate(iat)) return fail('missing-iat');
    if (iat > nowSeconds + skew) return fail('issued-in-future');
    if (exp - iat > maxLifetime) return fail('lifetime');
    if (nbf !== undefined && (!isNumericDate(nbf) || nbf > nowSeconds + skew)) return fail('not-yet-valid');

    // 4. `tenant`, when this client entry is bound to one.
    if (client.tenant !== undefined && payload.tenant !== client.tenant) return fail('tenant');

    // 5. Signature by this issuer's keys only.
    const alg = header.alg;
    if (!isAllowedAlgorithm(alg) || !algorithms.includes(alg)) return fail('algorithm');
    if (header.jku !== undefined) {
      // A `jku` is only where the client says its keys are. With a `jwks_url` entry it must be that
      // URL (the spec's allowlist of `jku`), so a token cannot send us to fetch keys elsewhere. With
      // pinned keys (`jwks`) nothing is ever fetched and the pinned keys decide, so the header is
      // accepted as is, unless the entry also names the `jku` to expect (docs/registration.md).
      const source = client.keySource;
      const expectedJku = source.kind === 'jwks_url' ? source.url : source.jku;
      if (typeof header.jku !== 'string' || (expectedJku !== undefined && header.jku !== expectedJku)) {
        return fail('jku');
      }
    }
    if (typeof header.kid !== 'string' || header.kid === '') return fail('missing-kid');
    let lookup: KeyLookup;
    try {
      lookup = await keyResolver.resolve(client, header.kid);
    } catch {
      // Fail closed: a key source that breaks refuses the call (401), never lets it through.
      return fail('key-unavailable');
    }
    if (!lookup.found) return fail(lookup.reason);
    if (!keyFitsAlgorithm(lookup.key, alg)) return fail('algorithm');
    try {
      jwt.verify(token, lookup.key.key, {
        algorithms: [alg],
        issuer: client.iss,
        clockTimestamp: Math.floor(nowSeconds),
        clockTolerance: skew,
      });
    } catch (error) {
      if (error instanceof jwt.TokenExpiredError) return fail('expired');
      if (error instanceof jwt.NotBeforeError) return fail('not-yet-valid');
      return fail('signature');
    }

    // 6. `jti` never seen before within its lifetime (recorded until `exp` plus the skew).
    const jti = payload.jti;
    if (typeof jti !== 'string' || jti === '' || jti.length > MAX_JTI_LENGTH) return fail('missing-jti');
    const fresh = await options.replayCache.checkAndRemember(
      `${client.iss}\u0000${jti}`,
      new Date((exp + skew) * 1000),
    );
    if (!fresh) return fail('replay');

    return { ok: true, client, iss: client.iss, jti: jtiForLog ?? jti };
  }

  return { verify };
}
