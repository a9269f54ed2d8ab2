/**
 * JWT verification cost per algorithm, in process (issue 10: "measures JWT verification for RS384
 * and ES384 separately"). Epic signs with RS384 by default, the CDS Hooks spec recommends ES384
 * and the public CDS Hooks Sandbox uses it, so both are measured: the verifier the service uses
 * (createClientJwtVerifier, pinned inline keys so nothing is fetched, a fresh jti per token),
 * verifying tokens signed beforehand. The HTTP runs in run-bench.ts show the same per algorithm
 * under load.
 */
import { generateKeyPairSync, type JsonWebKey, type KeyObject } from 'node:crypto';
import { signClientJwt } from '../src/trust/demo-client.js';
import { jwkThumbprint } from '../src/trust/demo-client.js';
import type { AllowedAlgorithm } from '../src/trust/jwk.js';
import { InMemoryReplayCache } from '../src/trust/replay-cache.js';
import { validateTrustedClients } from '../src/trust/trusted-clients.js';
import { createClientJwtVerifier } from '../src/trust/verify-client-jwt.js';

export const BENCH_ALGORITHMS = ['ES384', 'RS384'] as const satisfies readonly AllowedAlgorithm[];
export type BenchAlgorithm = (typeof BENCH_ALGORITHMS)[number];

export interface BenchSigner {
  readonly alg: BenchAlgorithm;
  readonly iss: string;
  readonly kid: string;
  readonly privateKey: KeyObject;
  /** The public key as a JWK Set entry (for CDS_CLIENTS). */
  readonly publicJwk: JsonWebKey;
  sign(aud: string): string;
}

/** A fresh key pair per algorithm: P-384 for ES384, RSA 2048 for RS384 (the minimum accepted). */
export function benchSigner(alg: BenchAlgorithm): BenchSigner {
  const { privateKey, publicKey } =
    alg === 'ES384'
      ? generateKeyPairSync('ec', { namedCurve: 'P-384' })
      : generateKeyPairSync('rsa', { modulusLength: 2048 });
  const jwk = publicKey.export({ format: 'jwk' });
  const kid = jwkThumbprint(jwk);
  const iss = `urn:crs-sentinel:bench:${alg.toLowerCase()}`;
  return {
    alg,
    iss,
    kid,
    privateKey,
    publicJwk: { ...jwk, kid, alg, use: 'sig' },
    sign: (aud) => signClientJwt({ privateKeyPem: privateKey, kid, iss, aud, alg }),
  };
}

export interface JwtVerifyTiming {
  readonly alg: BenchAlgorithm;
  readonly tokens: number;
  readonly signMs: number;
  readonly verifyMedianMs: number;
  readonly verifyP99Ms: number;
  readonly verifyPerSecond: number;
}

function quantile(sorted: readonly number[], q: number): number {
  return sorted[Math.min(sorted.length - 1, Math.floor(q * sorted.length))] ?? Number.NaN;
}

/** Signs `tokens` JWTs, then verifies each once (after a warm-up), timing each verify. */
export async function timeJwtVerification(alg: BenchAlgorithm, tokens: number): Promise<JwtVerifyTiming> {
  const signer = benchSigner(alg);
  const aud = 'https://cds.bench.example/cds-services/crs-sentinel';
  const clients = validateTrustedClients([
    { iss: signer.iss, jwks: { keys: [signer.publicJwk] }, fhir_servers: ['https://fhir.bench.example/R4'] },
  ]);
  const verifier = createClientJwtVerifier({ clients, replayCache: new InMemoryReplayCache() });
  const warmUp = Math.min(200, Math.floor(tokens / 5));
  const signStart = performance.now();
  const all = Array.from({ length: tokens + warmUp }, () => `Bearer ${signer.sign(aud)}`);
  const signMs = (performance.now() - signStart) / all.length;
  for (const token of all.slice(0, warmUp)) {
    const result = await verifier.verify(token, aud);
    if (!result.ok) throw new Error(`${alg} bench token refused: ${result.failedCheck}`);
  }
  const times: number[] = [];
  const started = performance.now();
  for (const token of all.slice(warmUp)) {
    const t0 = performance.now();
    const result = await verifier.verify(token, aud);
    times.push(performance.now() - t0);
    if (!result.ok) throw new Error(`${alg} bench token refused: ${result.failedCheck}`);
  }
  const wall = performance.now() - started;
  times.sort((a, b) => a - b);
  return {
    alg,
    tokens,
    signMs,
    verifyMedianMs: quantile(times, 0.5),
    verifyP99Ms: quantile(times, 0.99),
    verifyPerSecond: (tokens / wall) * 1000,
  };
}
