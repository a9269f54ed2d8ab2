/**
 * Bounded work against hostile FHIR servers (issue 10, "Bounded work against a hostile FHIR
 * server"): the real service runs in a child process (service-process.ts) with FHIR_TIMEOUT_MS
 * 1000 and the default FHIR_MAX_RESPONSE_BYTES (32 MiB); every hook call against a hostile server
 * must answer within FHIR_TIMEOUT_MS + 250 ms, /healthz must answer throughout, and the service's
 * RSS must stay under 300 MB. Everything listens on 127.0.0.1 and stops itself.
 *
 * The 250 ms goal is checked on the service's own clock (the latency its log line gives for the
 * request, by X-Request-Id): seen from this process, which also streams the hostile answers, on a
 * shared 2-core machine running other suites, scheduling adds noise that is not the service's. The
 * answer seen from here must still come within FHIR_TIMEOUT_MS + 1000 ms.
 */
import { randomUUID } from 'node:crypto';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  startHostileFhirServer,
  type HostileBehaviour,
  type HostileFhirServer,
} from '../support/hostile-fhir-server.js';
import { startServiceProcess, type ServiceProcess } from '../support/service-process.js';
import { emptyPrefetch, hookRequest } from '../support/test-app.js';

const FHIR_TIMEOUT_MS = 1000;
const ANSWER_WITHIN_MS = FHIR_TIMEOUT_MS + 250;
const SEEN_WITHIN_MS = FHIR_TIMEOUT_MS + 1000;
const MAX_RSS = 300 * 1024 * 1024;
const DEADLINE = `did not answer within ${FHIR_TIMEOUT_MS} ms`;
const TOO_BIG = `answers exceeded ${32 * 1024 * 1024} bytes`;

let fhir: HostileFhirServer;
let service: ServiceProcess;
let dataDir: string;

beforeAll(async () => {
  dataDir = mkdtempSync(path.join(tmpdir(), 'crs-hostile-'));
  fhir = await startHostileFhirServer();
  service = await startServiceProcess({ FHIR_TIMEOUT_MS: String(FHIR_TIMEOUT_MS), DATA_DIR: dataDir });
});
afterAll(async () => {
  await service.stop();
  await fhir.close();
  rmSync(dataDir, { recursive: true, force: true });
});

interface HookAnswer {
  status: number;
  body: { error?: string; message?: string; cards?: unknown[] };
  /** As the service measured it (its log line). */
  ms: number;
  /** As seen from this process. */
  seenMs: number;
}

/** `body` as JSON text or a value; the clock starts after serialising (the test's own work). */
async function callHook(body: unknown): Promise<HookAnswer> {
  const text = typeof body === 'string' ? body : JSON.stringify(body);
  const requestId = randomUUID();
  const started = performance.now();
  const res = await fetch(`${service.url}/cds-services/crs-sentinel`, {
    method: 'POST',
    headers: { 'content-type': 'application/json', 'x-request-id': requestId },
    body: text,
    signal: AbortSignal.timeout(15_000), // the test's own bound, far above the goal
  });
  const answer = await res.text();
  const seenMs = performance.now() - started;
  return {
    status: res.status,
    body: JSON.parse(answer) as HookAnswer['body'],
    ms: await service.loggedLatencyMs(requestId),
    seenMs,
  };
}

/** Runs `work` while polling /healthz every 100 ms; every poll must get a 200. */
async function whileHealthy<T>(work: Promise<T>): Promise<{ result: T; healthChecks: number[] }> {
  const healthChecks: number[] = [];
  const state = { done: false };
  const poll = (async () => {
    while (!state.done) {
      const res = await fetch(`${service.url}/healthz`, { signal: AbortSignal.timeout(5000) }).catch(
        () => undefined,
      );
      healthChecks.push(res?.status ?? 0);
      await res?.arrayBuffer();
      await new Promise((r) => setTimeout(r, 100));
    }
  })();
  try {
    return { result: await work, healthChecks };
  } finally {
    state.done = true;
    await poll;
  }
}

const fetchFrom = (base: string) => hookRequest({ fhirServer: base });

/**
 * Timed cases get two retries: a shared 2-core machine (load averages of 8 were seen while other
 * suites ran) can starve the service for a few ms past the goal once; a lost deadline or an
 * unbounded read fails every attempt by seconds, not milliseconds.
 */
const TIMED = { retry: 2 };

describe('a hostile FHIR server: the hook answers 412 within FHIR_TIMEOUT_MS + 250 ms', TIMED, () => {
  const cases: { behaviour: HostileBehaviour; viaGets: boolean; message: RegExp }[] = [
    { behaviour: 'huge', viaGets: false, message: new RegExp(`${TOO_BIG}|${DEADLINE}`) },
    { behaviour: 'endless', viaGets: true, message: new RegExp(`${TOO_BIG}|${DEADLINE}`) },
    { behaviour: 'gzip-bomb', viaGets: false, message: new RegExp(`${TOO_BIG}|${DEADLINE}`) },
    { behaviour: 'gzip-bomb', viaGets: true, message: new RegExp(`${TOO_BIG}|${DEADLINE}`) },
    { behaviour: 'drip', viaGets: false, message: new RegExp(DEADLINE) },
    { behaviour: 'drip', viaGets: true, message: new RegExp(DEADLINE) },
    { behaviour: 'reset', viaGets: true, message: /broke off its answer|could not be reached/ },
    { behaviour: 'hang', viaGets: true, message: new RegExp(DEADLINE) },
  ];
  it.each(cases)('$behaviour (batch refused: $viaGets)', async ({ behaviour, viaGets, message }) => {
    const { result, healthChecks } = await whileHealthy(
      callHook(fetchFrom(fhir.baseUrl(behaviour, { viaGets }))),
    );
    expect(result.status).toBe(412);
    expect(result.body).toEqual({
      error: 'precondition-failed',
      message: expect.stringMatching(message) as unknown,
    });
    expect(result.ms, result.body.message).toBeLessThan(ANSWER_WITHIN_MS);
    expect(result.seenMs, result.body.message).toBeLessThan(SEEN_WITHIN_MS);
    expect(healthChecks.every((status) => status === 200)).toBe(true);
    expect(healthChecks.length).toBeGreaterThan(0);
  });
});

describe('the deadline survives garbage collection', TIMED, () => {
  it('hook calls to a hanging server answer in time while GCs are forced and 4 MB prefetch calls run', async () => {
    const bigPrefetch = JSON.stringify(
      hookRequest({
        prefetch: {
          ...emptyPrefetch(),
          vitals: {
            resourceType: 'Bundle',
            type: 'searchset',
            entry: Array.from({ length: 6000 }, (_, i) => ({
              resource: {
                resourceType: 'Observation',
                id: `o${i}`,
                status: 'final',
                subject: { reference: 'Patient/pat-1' },
                code: { coding: [{ system: 'http://loinc.org', code: '8310-5' }] },
                effectiveDateTime: '2020-01-01T00:00:00Z',
                valueQuantity: { value: 37, unit: 'Cel', system: 'http://unitsofmeasure.org', code: 'Cel' },
                note: [{ text: 'x'.repeat(450) }], // bulk the rules do not read
              },
            })),
          },
        },
      }),
    );
    expect(bigPrefetch.length).toBeGreaterThan(4_000_000);
    // Warm-up, not timed: the goal is about a running service, not a cold JIT.
    await Promise.all([callHook(bigPrefetch), callHook(fetchFrom(fhir.baseUrl('hang')))]);
    service.forceGc(true);
    try {
      const { result, healthChecks } = await whileHealthy(
        Promise.all([
          ...Array.from({ length: 5 }, (_, i) =>
            callHook(fetchFrom(fhir.baseUrl('hang', { viaGets: i % 2 === 0 }))),
          ),
          ...Array.from({ length: 3 }, () => callHook(bigPrefetch)),
        ]),
      );
      const hung = result.slice(0, 5);
      const prefetched = result.slice(5);
      for (const answer of hung) {
        expect(answer.status).toBe(412);
        expect(answer.body.message).toContain(DEADLINE);
        expect(answer.ms, answer.body.message).toBeLessThan(ANSWER_WITHIN_MS);
        expect(answer.seenMs, answer.body.message).toBeLessThan(SEEN_WITHIN_MS);
      }
      for (const answer of prefetched) expect(answer.status).toBe(200);
      expect(healthChecks.every((status) => status === 200)).toBe(true);
    } finally {
      service.forceGc(false);
    }
  });
});

describe('memory', () => {
  it('the service stayed under 300 MB RSS through all of the above', async () => {
    const { maxRss } = await service.memory();
    expect(maxRss).toBeLessThan(MAX_RSS);
  });
});
