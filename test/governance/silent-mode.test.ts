/**
 * Silent mode (issue 11): globally (SILENT_MODE) or per trusted EHR (`"silent": true` in its
 * CDS_CLIENTS entry), cards are assessed and recorded as silent and `{"cards": []}` is answered.
 * The per-client case runs behind the real JWT verifier with real ES384-signed tokens.
 */
import request from 'supertest';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import type { GovernanceStore } from '../../src/storage/governance-store.js';
import { openSqliteStore } from '../../src/storage/sqlite-store.js';
import { InMemoryReplayCache } from '../../src/trust/replay-cache.js';
import { createTrustedRequestAuthenticator } from '../../src/trust/request-authenticator.js';
import { parseTrustedClients } from '../../src/trust/trusted-clients.js';
import { createClientJwtVerifier } from '../../src/trust/verify-client-jwt.js';
import { TEST_BASE_URL, TEST_NOW, hookRequest } from '../support/test-app.js';
import { makeEcKey, signToken } from '../trust/helpers.js';
import { fixturePrefetch, governedApp } from './governance-helpers.js';

const HOOK = '/cds-services/crs-sentinel';
let store: GovernanceStore;
beforeEach(() => {
  store = openSqliteStore(':memory:');
});
afterEach(async () => {
  await store.close();
});

const body = (patientId: string) =>
  hookRequest({
    context: { userId: 'Practitioner/a', patientId },
    prefetch: fixturePrefetch('cart-grade2-hypotension.json', patientId),
  });

const recorded = async () =>
  (await store.decisionsBetween(new Date(0), new Date(8.64e15))).map((d) => [
    d.ehrIssuer,
    d.grade,
    d.disposition,
  ]);

describe('silent mode', () => {
  it('globally: the card is assessed and recorded as silent, and no card is answered', async () => {
    const { app } = governedApp(store, { now: () => TEST_NOW, governance: { silent: true } });
    await request(app).post(HOOK).send(body('silent-pat')).expect(200, { cards: [] });
    expect(await recorded()).toEqual([['development', 2, 'silent']]);
  });

  it('per trusted client: only the EHR flagged silent gets no cards', async () => {
    const key = makeEcKey('k1');
    const entry = (iss: string, silent?: boolean) => ({
      iss,
      jwks: { keys: [key.jwk] },
      fhir_servers: ['https://ehr.example.org/fhir'],
      ...(silent === undefined ? {} : { silent }),
    });
    const clients = parseTrustedClients(
      JSON.stringify([entry('https://pilot.example.org', true), entry('https://live.example.org', false)]),
    );
    expect(clients.map((c) => c.silent)).toEqual([true, undefined]);
    const verifier = createClientJwtVerifier({
      clients,
      replayCache: new InMemoryReplayCache(),
      now: () => TEST_NOW,
    });
    const { app } = governedApp(store, {
      now: () => TEST_NOW,
      app: { authenticator: createTrustedRequestAuthenticator(verifier) },
    });
    const bearer = (iss: string) =>
      `Bearer ${signToken({ key, iss, aud: `${TEST_BASE_URL}${HOOK}`, nowSeconds: TEST_NOW.getTime() / 1000 })}`;

    await request(app)
      .post(HOOK)
      .set('authorization', bearer('https://pilot.example.org'))
      .send(body('p1'))
      .expect(200, { cards: [] });
    const live = await request(app)
      .post(HOOK)
      .set('authorization', bearer('https://live.example.org'))
      .send(body('p1'))
      .expect(200);
    expect((live.body as { cards: unknown[] }).cards).toHaveLength(1);
    expect(await recorded()).toEqual([
      ['https://pilot.example.org', 2, 'silent'],
      ['https://live.example.org', 2, 'shown'],
    ]);
  });
});
