import { Writable } from 'node:stream';
import type { FhirResource } from 'fhir/r4';
import { pino } from 'pino';
import request from 'supertest';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ConfigError, loadConfig, PACKAGE_ROOT } from '../../src/config/load-config.js';
import { startService } from '../../src/server.js';
import { startFhirTestServer, type FhirTestServer } from '../support/fhir-test-server.js';
import { buildTestApp, hookRequest } from '../support/test-app.js';

let fhir: FhirTestServer;
beforeAll(async () => {
  const patient: FhirResource = {
    resourceType: 'Patient',
    id: 'pat-1',
    name: [{ family: 'Doe', given: ['Jane'] }],
  };
  fhir = await startFhirTestServer([patient]);
});
afterAll(async () => {
  await fhir.close();
});

describe('configuration', () => {
  it('has defaults that run out of the box', () => {
    expect(loadConfig({}, '/srv')).toEqual({
      port: 3000,
      host: '127.0.0.1',
      publicBaseUrl: 'http://127.0.0.1:3000',
      fhirTimeoutMs: 3000,
      fhirMaxPages: 5,
      fhirMaxResponseBytes: 33_554_432,
      fhirMaxInflightBytes: 67_108_864,
      logLevel: 'info',
      dataDir: '/srv/data',
      bodyLimit: '5mb',
      corsOrigins: '*',
      shutdownGraceMs: 10_000,
      cardsDir: `${PACKAGE_ROOT}cards`,
      jwtClockSkewSeconds: 60,
      jwtMaxLifetimeSeconds: 3600,
      demoFhirServer: 'http://127.0.0.1:8080/fhir',
    });
  });

  it.each([
    [{ PORT: 'eighty' }, /^PORT:/],
    [{ PUBLIC_BASE_URL: 'cds.example.org' }, /^PUBLIC_BASE_URL:/],
    [{ LOG_LEVEL: 'loud' }, /^LOG_LEVEL:/],
    [{ BODY_LIMIT: 'lots' }, /^BODY_LIMIT:/],
    [{ FHIR_TIMEOUT_MS: '5' }, /^FHIR_TIMEOUT_MS:/],
    [{ FHIR_MAX_RESPONSE_BYTES: '100' }, /^FHIR_MAX_RESPONSE_BYTES:/],
    [{ FHIR_MAX_INFLIGHT_BYTES: '100' }, /^FHIR_MAX_INFLIGHT_BYTES:/],
  ])('refuses %o with a message naming the variable', (env, message) => {
    expect(() => loadConfig(env)).toThrow(ConfigError);
    expect(() => loadConfig(env)).toThrow(message);
  });
});

describe('logs carry no PHI', () => {
  it('no patient id, name or token appears in any log line', async () => {
    const lines: string[] = [];
    const sink = new Writable({
      write(chunk: Buffer, _enc, done) {
        lines.push(chunk.toString());
        done();
      },
    });
    const { app } = buildTestApp({ logger: pino({ level: 'trace' }, sink), hashPatientId: () => 'hashed' });
    const auth = {
      access_token: 'tok-SECRET-123',
      token_type: 'Bearer',
      expires_in: 300,
      scope: 'patient/*.read',
      subject: 'x',
    };
    await request(app)
      .post('/cds-services/crs-sentinel')
      .set('Authorization', 'Bearer jwt-SECRET-456')
      .send(hookRequest({ fhirServer: fhir.baseUrl, fhirAuthorization: auth }))
      .expect(200);
    fhir.misbehave.set('*', 'unauthorized');
    await request(app)
      .post('/cds-services/crs-sentinel')
      .send(hookRequest({ fhirServer: fhir.baseUrl, fhirAuthorization: auth }))
      .expect(412);
    fhir.misbehave.clear();
    const all = lines.join('');
    // One line per request, written when it finishes.
    expect(lines.length).toBe(2);
    for (const secret of [
      'pat-1',
      'Doe',
      'Jane',
      'tok-SECRET-123',
      'jwt-SECRET-456',
      'Practitioner/example',
    ]) {
      expect(all).not.toContain(secret);
    }
    expect(all).toContain('"patient":"hashed"');
  });
});

describe('graceful shutdown', () => {
  it('finishes an in-flight request, then stops taking connections', async () => {
    const logger = pino({ level: 'silent' });
    const config = {
      ...loadConfig({ PORT: '0', FHIR_TIMEOUT_MS: '800', SHUTDOWN_GRACE_MS: '5000' }),
      dataDir: '/tmp/crs-sentinel-test-data',
    };
    const service = await startService(config, logger, { CDS_AUTH: 'off' });
    fhir.misbehave.set('Encounter', 'hang'); // keeps the hook call in flight until the FHIR deadline
    try {
      const inFlight = fetch(`${service.url}/cds-services/crs-sentinel`, {
        method: 'POST',
        headers: { 'content-type': 'application/json' },
        body: JSON.stringify(hookRequest({ fhirServer: fhir.baseUrl })),
      });
      await new Promise((r) => setTimeout(r, 150));
      const stopped = service.stop();
      const res = await inFlight;
      expect(res.status).toBe(412);
      await stopped;
      await expect(fetch(`${service.url}/healthz`)).rejects.toThrow();
    } finally {
      fhir.misbehave.clear();
    }
  });
});
