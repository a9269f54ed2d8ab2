/**
 * Finds the public key a client JWT names by `kid` (CDS Hooks 2.0 "Trusting CDS Clients": "The
 * `kid` value from the JWT header allows a CDS Service to identify the correct JWK in the JWK Set";
 * CDS Hooks best practices, "JWT": "CDS Services should maintain their own rotating cache of public
 * keys for the CDS Client").
 *
 * Remote JWK Sets are fetched with a bounded fetcher (jwks-fetcher.ts: plain GET, no redirects
 * followed, one deadline for the whole answer, a byte cap) and cached per issuer as a whole set. The set is refetched when it is older than `cacheMaxAgeMs`, or
 * when a JWT names a `kid` the cached set lacks (key rotation). Every fetch for one issuer is at
 * least `refreshMinIntervalMs` after the previous attempt, so JWTs with made-up `kid`s cannot turn
 * the service into a flood against the EHR's key endpoint; and because known keys are served from
 * the cached set, such JWTs cannot starve legitimate refreshes either (jwks-rsa's own per-kid cache
 * and rate limiter share one budget between the two, which is why they are not used here).
 * If a refresh fails, the last good set keeps being used for at most `maxStaleMs`.
 *
 * Inline JWK Sets (configured out of band) are imported once and never refreshed.
 */
import type { TrustedClient } from './trusted-clients.js';
import { importVerificationJwks } from './jwk.js';
import type { VerificationKey } from './jwk.js';
import { boundedJwksFetcher } from './jwks-fetcher.js';

export type KeyLookup =
  | { readonly found: true; readonly key: VerificationKey }
  /** `unknown-key`: the set has no such `kid`; `key-unavailable`: the set could not be fetched. */
  | { readonly found: false; readonly reason: 'unknown-key' | 'key-unavailable' };

export interface KeyResolver {
  resolve(client: TrustedClient, kid: string): Promise<KeyLookup>;
}

/** Fetches a JWK Set document. Must not follow redirects to other hosts. */
export type JwksFetcher = (url: string) => Promise<unknown>;

export interface KeyResolverOptions {
  /** Minimum time between two fetches of one issuer's JWK Set (default 10 s). */
  readonly refreshMinIntervalMs?: number;
  /** A cached set older than this is refetched (default 10 min). */
  readonly cacheMaxAgeMs?: number;
  /** After a failed refresh, the last good set stays usable this long past `cacheMaxAgeMs` (default 1 h). */
  readonly maxStaleMs?: number;
  /** Deadline of the default fetcher for the whole answer, body included (default 5 s). */
  readonly timeoutMs?: number;
  readonly fetchJwks?: JwksFetcher;
  /** Called when a fetch fails or a fetched set has keys that cannot be used. No key material. */
  readonly onJwksProblem?: (problem: { iss: string; url: string; message: string }) => void;
  /** Clock in epoch milliseconds (tests). */
  readonly now?: () => number;
}

interface RemoteState {
  keys: Map<string, VerificationKey> | undefined;
  fetchedAt: number;
  lastAttemptAt: number | undefined;
  inflight: Promise<void> | undefined;
}

function describeError(error: unknown): string {
  if (error instanceof Error) return error.message.slice(0, 300);
  return 'unknown error';
}

export function createKeyResolver(options: KeyResolverOptions = {}): KeyResolver {
  const refreshMinIntervalMs = options.refreshMinIntervalMs ?? 10_000;
  const cacheMaxAgeMs = options.cacheMaxAgeMs ?? 10 * 60_000;
  const maxStaleMs = options.maxStaleMs ?? 60 * 60_000;
  const fetchJwks = options.fetchJwks ?? boundedJwksFetcher({ timeoutMs: options.timeoutMs ?? 5_000 });
  const now = options.now ?? Date.now;
  const report = options.onJwksProblem ?? (() => undefined);

  const inline = new WeakMap<TrustedClient, Map<string, VerificationKey>>();
  const remote = new Map<string, RemoteState>();

  function inlineKeys(client: TrustedClient, jwks: unknown): Map<string, VerificationKey> {
    let keys = inline.get(client);
    if (keys === undefined) {
      keys = new Map(importVerificationJwks(jwks).keys.map((key) => [key.kid, key]));
      inline.set(client, keys);
    }
    return keys;
  }

  function canAttempt(state: RemoteState, at: number): boolean {
    return state.lastAttemptAt === undefined || at - state.lastAttemptAt >= refreshMinIntervalMs;
  }

  async function refresh(client: TrustedClient, url: string, state: RemoteState): Promise<void> {
    if (state.inflight !== undefined) return state.inflight;
    state.lastAttemptAt = now();
    state.inflight = (async () => {
      try {
        const imported = importVerificationJwks(await fetchJwks(url));
        if (imported.skipped.length > 0) {
          report({ iss: client.iss, url, message: `unusable keys skipped: ${imported.skipped.join('; ')}` });
        }
        if (imported.keys.length === 0) {
          report({ iss: client.iss, url, message: 'the JWK Set has no usable signing key' });
          return;
        }
        state.keys = new Map(imported.keys.map((key) => [key.kid, key]));
        state.fetchedAt = now();
      } catch (error) {
        report({ iss: client.iss, url, message: `JWK Set fetch failed: ${describeError(error)}` });
      }
    })();
    try {
      await state.inflight;
    } finally {
      state.inflight = undefined;
    }
  }

  return {
    async resolve(client, kid) {
      const source = client.keySource;
      if (source.kind === 'jwks') {
        const key = inlineKeys(client, source.jwks).get(kid);
        return key === undefined ? { found: false, reason: 'unknown-key' } : { found: true, key };
      }
      const stateKey = `${client.iss}\u0000${source.url}`;
      let state = remote.get(stateKey);
      if (state === undefined) {
        state = { keys: undefined, fetchedAt: 0, lastAttemptAt: undefined, inflight: undefined };
        remote.set(stateKey, state);
      }
      const startedAt = now();
      let refreshed = false;
      if (state.inflight !== undefined) {
        await state.inflight;
        refreshed = true;
      } else if (
        (state.keys === undefined || startedAt - state.fetchedAt >= cacheMaxAgeMs) &&
        canAttempt(state, startedAt)
      ) {
        await refresh(client, source.url, state);
        refreshed = true;
      }
      // Key rotation: an unknown kid triggers one refresh, subject to the minimum interval.
      if (state.keys?.get(kid) === undefined && !refreshed && canAttempt(state, now())) {
        await refresh(client, source.url, state);
      }
      const usable = state.keys !== undefined && now() - state.fetchedAt < cacheMaxAgeMs + maxStaleMs;
      if (!usable) return { found: false, reason: 'key-unavailable' };
      const key = state.keys?.get(kid);
      return key === undefined ? { found: false, reason: 'unknown-key' } : { found: true, key };
    },
  };
}
