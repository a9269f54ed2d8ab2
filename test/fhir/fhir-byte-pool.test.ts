/**
 * The process-wide budget for FHIR answers being read (FHIR_MAX_INFLIGHT_BYTES, FhirBytePool):
 * each call's own budget bounds one call; the pool bounds all of them together, and a call gives
 * its bytes back when it ends. Servers listen on 127.0.0.1 only; every wait is bounded.
 */
import { createServer, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { openFhirClient } from '../../src/fhir/fhir-client.js';
import { FhirBytePool, FhirCall } from '../../src/fhir/fhir-http.js';

const KB = 1024;

describe('FhirBytePool with FhirCall', () => {
  it('stops a call that would take more than is left, and gets bytes back on close', () => {
    const pool = new FhirBytePool(1000);
    const a = new FhirCall({ timeoutMs: 1000, maxResponseBytes: 10_000, pool });
    const b = new FhirCall({ timeoutMs: 1000, maxResponseBytes: 10_000, pool });
    try {
      expect(a.take(600)).toBe(true);
      expect(pool.inUse).toBe(600);
      expect(b.take(600)).toBe(false);
      expect(b.stopReason).toBe('busy');
      expect(b.describeStop()).toContain('FHIR_MAX_INFLIGHT_BYTES');
      expect(pool.inUse).toBe(600);
    } finally {
      a.close();
      b.close();
    }
    expect(pool.inUse).toBe(0);
    const c = new FhirCall({ timeoutMs: 1000, maxResponseBytes: 10_000, pool });
    expect(c.take(600)).toBe(true);
    c.close();
    expect(pool.inUse).toBe(0);
  });

  it("a call's own budget is checked first: too many bytes, nothing taken from the pool", () => {
    const pool = new FhirBytePool(10_000);
    const call = new FhirCall({ timeoutMs: 1000, maxResponseBytes: 500, pool });
    expect(call.take(600)).toBe(false);
    expect(call.stopReason).toBe('too-many-bytes');
    expect(pool.inUse).toBe(0);
    call.close();
  });
});

describe('concurrent calls against a FHIR server with large answers', () => {
  let server: Server;
  let base: string;
  const hanging: ServerResponse[] = [];
  const page = JSON.stringify({
    resourceType: 'Bundle',
    type: 'searchset',
    total: 0,
    padding: 'x'.repeat(600 * KB),
  });

  beforeAll(async () => {
    server = createServer((req, res) => {
      res.writeHead(200, { 'content-type': 'application/fhir+json' });
      if (req.url?.startsWith('/slow')) {
        res.write(page.slice(0, 600 * KB)); // most of a page, then nothing more
        hanging.push(res);
      } else res.end(page);
    });
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    base = `http://127.0.0.1:${String((server.address() as AddressInfo).port)}`;
  });

  afterAll(async () => {
    for (const res of hanging) res.destroy();
    server.closeAllConnections();
    await new Promise((resolve) => server.close(resolve));
  });

  it('a second call is refused while the first holds the pool, and served once it ends', async () => {
    const pool = new FhirBytePool(1024 * KB);
    const open = () =>
      openFhirClient({
        baseUrl: base,
        accessToken: undefined,
        timeoutMs: 3000,
        maxResponseBytes: 4096 * KB,
        bytePool: pool,
      });
    const first = open();
    const slow = first.get('slow', 'vitals').catch((error: unknown) => error);
    const started = Date.now();
    while (pool.inUse < 500 * KB && Date.now() - started < 2000) await new Promise((r) => setTimeout(r, 10));
    expect(pool.inUse).toBeGreaterThanOrEqual(500 * KB);

    const second = open();
    await expect(second.get('fast', 'vitals')).rejects.toThrow(/FHIR_MAX_INFLIGHT_BYTES/);
    second.close();

    first.abort();
    first.close();
    await slow;
    expect(pool.inUse).toBe(0);

    const third = open();
    await expect(third.get('fast', 'vitals')).resolves.toMatchObject({ resourceType: 'Bundle' });
    third.close();
    expect(pool.inUse).toBe(0);
  });
});
