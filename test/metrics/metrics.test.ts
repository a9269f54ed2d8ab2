/**
 * GET /metrics (issue 11, "Metrics"): on its own listener (METRICS_PORT, 127.0.0.1), never on the
 * service's port; hook calls by outcome, HTTP status and latency, FHIR requests by outcome and
 * latency, auth failures by check, feedback by outcome and reason, ledger failures; no PHI in any
 * label. The real service (startService) with the demo EHR's real ES384 key and a FHIR test server.
 */
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import type { Bundle, FhirResource } from 'fhir/r4';
import { pino } from 'pino';
import request from 'supertest';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { composeDependencies } from '../../src/compose-dependencies.js';
import { loadConfig, PACKAGE_ROOT } from '../../src/config/load-config.js';
import { FIXTURE_ANCHOR, FIXTURE_DIR, rebaseBundle } from '../../src/fixtures/fixture-manifest.js';
import { createApp } from '../../src/http/app.js';
import { createPrometheusMetrics } from '../../src/metrics/prometheus-metrics.js';
import { startService, type RunningService } from '../../src/server.js';
import { openEmbeddedStores } from '../../src/storage/open-stores.js';
import { ensureDemoClient, signClientJwt } from '../../src/trust/demo-client.js';
import { startFhirTestServer, type FhirTestServer } from '../support/fhir-test-server.js';
import { hookRequest } from '../support/test-app.js';
import { fixturePrefetch } from '../governance/governance-helpers.js';

const PATIENT = 'metrics-pat-7';
let dataDir: string;
let fhir: FhirTestServer;
let service: RunningService;
let sign: (aud: string) => string;
/** The JWT `aud` base: the configured public URL (port 0 here), not the port the OS picked. */
let audBase: string;

beforeAll(async () => {
  dataDir = mkdtempSync(path.join(tmpdir(), 'crs-metrics-'));
  const bundle = JSON.parse(
    readFileSync(path.join(PACKAGE_ROOT, FIXTURE_DIR, 'cart-grade2-hypotension.json'), 'utf8'),
  ) as Bundle;
  const original = bundle.entry?.find((e) => e.resource?.resourceType === 'Patient')?.resource?.id ?? '';
  const rebased = rebaseBundle(
    JSON.parse(JSON.stringify(bundle).replaceAll(original, PATIENT)) as Bundle,
    new Date(FIXTURE_ANCHOR),
    new Date(),
  );
  fhir = await startFhirTestServer(
    (rebased.entry ?? []).flatMap((e) => (e.resource ? [e.resource as FhirResource] : [])),
  );
  const config = loadConfig({
    PORT: '0',
    METRICS_PORT: '0',
    DATA_DIR: dataDir,
    DEMO_FHIR_SERVER: fhir.baseUrl,
    LOG_LEVEL: 'silent',
  });
  service = await startService(config, pino({ level: 'silent' }), {});
  audBase = config.publicBaseUrl;
  const demo = ensureDemoClient(dataDir, { fhirServers: [fhir.baseUrl] });
  const pem = readFileSync(demo.privateKeyPemPath, 'utf8');
  sign = (aud) => signClientJwt({ privateKeyPem: pem, kid: demo.kid, iss: demo.client.iss, aud });
});

afterAll(async () => {
  await service.stop();
  await fhir.close();
  rmSync(dataDir, { recursive: true, force: true });
});

const metricsText = async () => {
  const res = await fetch(service.metricsUrl ?? '');
  expect(res.status).toBe(200);
  expect(res.headers.get('content-type')).toMatch(/^text\/plain; version=0\.0\.4/);
  return res.text();
};

describe('GET /metrics', () => {
  it('listens on its own 127.0.0.1 port, not on the service port', async () => {
    expect(service.metricsUrl).toMatch(/^http:\/\/127\.0\.0\.1:\d+\/metrics$/);
    expect(service.metricsUrl?.startsWith(service.url)).toBe(false);
    expect((await fetch(`${service.url}/metrics`)).status).toBe(404);
    expect((await fetch(service.metricsUrl?.replace('/metrics', '/other') ?? '')).status).toBe(404);
    expect((await fetch(service.metricsUrl ?? '', { method: 'POST' })).status).toBe(405);
  });

  it('counts hook outcomes, HTTP statuses, FHIR requests, auth failures and feedback, without PHI', async () => {
    const hookUrl = `${service.url}/cds-services/crs-sentinel`;
    const hook = await fetch(hookUrl, {
      method: 'POST',
      headers: {
        'content-type': 'application/json',
        authorization: `Bearer ${sign(`${audBase}/cds-services/crs-sentinel`)}`,
      },
      body: JSON.stringify(
        hookRequest({ context: { userId: 'Practitioner/a', patientId: PATIENT }, fhirServer: fhir.baseUrl }),
      ),
    });
    expect(hook.status).toBe(200);
    const { cards } = (await hook.json()) as { cards: { uuid: string }[] };
    expect(cards).toHaveLength(1);
    expect(
      (await fetch(hookUrl, { method: 'POST', headers: { 'content-type': 'application/json' }, body: '{}' }))
        .status,
    ).toBe(401);
    const feedbackUrl = `${hookUrl}/feedback`;
    const feedback = await fetch(feedbackUrl, {
      method: 'POST',
      headers: {
        'content-type': 'application/json',
        authorization: `Bearer ${sign(`${audBase}/cds-services/crs-sentinel/feedback`)}`,
      },
      body: JSON.stringify({
        feedback: [
          {
            card: cards[0]?.uuid,
            outcome: 'overridden',
            overrideReason: {
              reason: { system: 'urn:crs-sentinel:override-reason', code: 'already-managed' },
            },
            outcomeTimestamp: new Date().toISOString(),
          },
          {
            card: cards[0]?.uuid,
            outcome: 'overridden',
            overrideReason: { reason: { system: 'urn:ehr:local', code: PATIENT } },
            outcomeTimestamp: new Date().toISOString(),
          },
        ],
      }),
    });
    expect(feedback.status).toBe(200);

    const text = await metricsText();
    expect(text).toContain('crs_sentinel_hook_calls_total{outcome="grade-2"} 1');
    expect(text).toMatch(
      /crs_sentinel_http_requests_total\{route="\/cds-services\/:id",method="POST",status="200"\} 1/,
    );
    expect(text).toMatch(
      /crs_sentinel_http_requests_total\{route="\/cds-services\/:id",method="POST",status="401"\} 1/,
    );
    expect(text).toMatch(
      /crs_sentinel_http_request_duration_seconds_bucket\{le="[^"]+",route="\/cds-services\/:id",method="POST"\}/,
    );
    expect(text).toMatch(/crs_sentinel_fhir_requests_total\{outcome="ok"\} [1-9]/);
    expect(text).toMatch(/crs_sentinel_fhir_request_duration_seconds_count\{outcome="ok"\} [1-9]/);
    expect(text).toMatch(/crs_sentinel_auth_failures_total\{check="[a-z-]+"\} 1/);
    expect(text).toContain('crs_sentinel_feedback_total{outcome="overridden",reason="already-managed"} 1');
    expect(text).toContain('crs_sentinel_feedback_total{outcome="overridden",reason="other"} 1');
    expect(text).toContain('crs_sentinel_process_resident_memory_bytes');
    expect(text).not.toContain(PATIENT);
    expect(text).not.toContain(cards[0]?.uuid ?? 'no card');
  });
});

describe('ledger failures', () => {
  it('are counted, and the hook is still answered', async () => {
    const dir = mkdtempSync(path.join(tmpdir(), 'crs-metrics-ledger-'));
    try {
      const config = loadConfig({ DATA_DIR: dir, CDS_AUTH: 'off' });
      const stores = openEmbeddedStores(dir);
      await stores.governance.close(); // the database is gone: every read and write fails
      const metrics = createPrometheusMetrics({ defaultMetrics: false });
      const app = createApp(
        composeDependencies(
          config,
          { CDS_AUTH: 'off' },
          pino({ level: 'silent' }),
          () => true,
          stores,
          metrics,
        ),
      );
      const res = await request(app)
        .post('/cds-services/crs-sentinel')
        .send(
          hookRequest({
            context: { userId: 'Practitioner/a', patientId: 'p' },
            prefetch: fixturePrefetch('cart-grade2-hypotension.json', 'p', new Date()),
          }),
        )
        .expect(200);
      expect((res.body as { cards: unknown[] }).cards).toHaveLength(1);
      const text = await metrics.registry.metrics();
      expect(text).toContain('crs_sentinel_ledger_failures_total{operation="read"} 1');
      expect(text).toContain('crs_sentinel_ledger_failures_total{operation="write"} 1');
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });
});
