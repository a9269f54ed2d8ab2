/**
 * Fetches an issuer's JWK Set (its configured `jwks_url`) bounded in time and in bytes.
 *
 * Why not jwks-rsa's client: its `timeout` is the socket's idle timeout, so a key server that
 * sends a byte now and then keeps the fetch, and every JWT of that issuer waiting on it, open for
 * ever; and it buffers the whole body as a string, so an endless answer grows the process until it
 * dies (jwks-rsa 4.1.0 src/wrappers/request.js). A JWK Set is a few KB: the body is read as a
 * stream and cut off past `maxBytes` (counted after decompression), one deadline covers connect,
 * headers and body, and redirects are refused (the configured URL is the one trusted).
 *
 * Every await is raced against the deadline as well as aborted by it: in Node 20 a signal that
 * fetch follows can lose its source to a GC (see src/fhir/fhir-http.ts), and the deadline must hold.
 */
import type { JwksFetcher } from './key-resolver.js';

/** Far above any real JWK Set (a 4096-bit RSA JWK is under 1 KB), far below a memory problem. */
export const DEFAULT_JWKS_MAX_BYTES = 256 * 1024;

export interface BoundedJwksFetcherOptions {
  /** One deadline for the whole fetch, the body included. */
  readonly timeoutMs: number;
  readonly maxBytes?: number;
}

export function boundedJwksFetcher(options: BoundedJwksFetcherOptions): JwksFetcher {
  const maxBytes = options.maxBytes ?? DEFAULT_JWKS_MAX_BYTES;
  return async (url) => {
    const controller = new AbortController();
    let expire: () => void = () => undefined;
    const deadline = new Promise<never>((_, reject) => {
      expire = () => reject(new Error(`no complete answer within ${options.timeoutMs} ms`));
    });
    deadline.catch(() => undefined);
    const timer = setTimeout(() => {
      controller.abort();
      expire();
    }, options.timeoutMs);
    const work = readJwks(url, controller.signal, maxBytes);
    work.catch(() => undefined); // a rejection after the deadline is expected, not unhandled
    try {
      return await Promise.race([work, deadline]);
    } finally {
      clearTimeout(timer);
      controller.abort();
    }
  };
}

async function readJwks(url: string, signal: AbortSignal, maxBytes: number): Promise<unknown> {
  const response = await fetch(url, {
    headers: { accept: 'application/jwk-set+json, application/json' },
    redirect: 'error',
    signal,
  });
  if (!response.ok) {
    await response.body?.cancel().catch(() => undefined);
    throw new Error(`the key server answered HTTP ${response.status}`);
  }
  const reader = (response.body as ReadableStream<Uint8Array> | null)?.getReader();
  if (reader === undefined) throw new Error('the key server sent no body');
  const chunks: Uint8Array[] = [];
  let total = 0;
  for (;;) {
    const { done, value } = await reader.read();
    if (done) break;
    total += value.byteLength;
    if (total > maxBytes) {
      await reader.cancel().catch(() => undefined);
      throw new Error(`the JWK Set is larger than ${maxBytes} bytes`);
    }
    chunks.push(value);
  }
  try {
    // TextDecoder drops a UTF-8 byte order mark, which JSON.parse would refuse.
    return JSON.parse(new TextDecoder().decode(Buffer.concat(chunks))) as unknown;
  } catch {
    throw new Error('the JWK Set is not JSON');
  }
}
