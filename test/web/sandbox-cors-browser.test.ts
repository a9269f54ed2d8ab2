/**
 * A real browser as the CDS client: Chromium runs, from a page on one origin, the calls the public
 * CDS Hooks Sandbox makes (test/support/cds-hooks-sandbox.ts: discovery, the hook call, feedback,
 * with its own JWTs, `Accept` and `Authorization` headers and a JSON body) against the service on
 * another origin. The browser does the CORS preflights itself and lets the page read an answer only
 * when the service allows it, so this checks CORS as a real client sees it, error answers
 * included (a 401 or 412 the page cannot read looks like a network failure in the sandbox). With
 * CORS_ORIGINS naming another origin, the browser must block the page.
 */
import { createServer, type Server } from 'node:http';
import type { Browser, Page } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { AppDeps } from '../../src/http/app.js';
import { createKeyResolver } from '../../src/trust/key-resolver.js';
import { InMemoryReplayCache } from '../../src/trust/replay-cache.js';
import { createTrustedRequestAuthenticator } from '../../src/trust/request-authenticator.js';
import { validateTrustedClients } from '../../src/trust/trusted-clients.js';
import { createClientJwtVerifier } from '../../src/trust/verify-client-jwt.js';
import { sandboxClientEntry, sandboxHookRequest, sandboxJwt } from '../support/cds-hooks-sandbox.js';
import { buildTestApp, emptyPrefetch } from '../support/test-app.js';
import { chromiumMissing, closeServer, launchChromium, listen } from './browser.js';

const skip = chromiumMissing();
const FHIR = 'https://launch.smarthealthit.org/v/r4/fhir';

interface PageAnswer {
  status?: number;
  body?: unknown;
  failed?: string;
}

/** The service on its own loopback origin, its public URL its own, trusting the sandbox. */
async function startService(overrides: Partial<AppDeps> = {}): Promise<{ url: string; server: Server }> {
  const server = createServer();
  const url = await listen(server);
  const verifier = createClientJwtVerifier({
    clients: validateTrustedClients([sandboxClientEntry([FHIR])]),
    replayCache: new InMemoryReplayCache(),
    keyResolver: createKeyResolver(),
  });
  const { app } = buildTestApp({
    publicBaseUrl: url,
    authenticator: createTrustedRequestAuthenticator(verifier),
    ...overrides,
  });
  server.on('request', app);
  return { url, server };
}

/** A page on an origin of its own (the sandbox's stand-in): an empty HTML document. */
async function startPageOrigin(): Promise<{ url: string; server: Server }> {
  const server = createServer((_req, res) => {
    res.writeHead(200, { 'content-type': 'text/html' }).end('<!DOCTYPE html><title>sandbox</title>');
  });
  return { url: await listen(server), server };
}

/** fetch from inside the page, as the sandbox's axios calls do: the answer as the page sees it. */
function fetchInPage(
  page: Page,
  url: string,
  init: { method: string; token: string; body?: unknown },
): Promise<PageAnswer> {
  return page.evaluate(
    async ({ url, init }) => {
      try {
        const res = await fetch(url, {
          method: init.method,
          headers: {
            Accept: 'application/json',
            Authorization: `Bearer ${init.token}`,
            ...(init.body === undefined ? {} : { 'Content-Type': 'application/json' }),
          },
          ...(init.body === undefined ? {} : { body: JSON.stringify(init.body) }),
        });
        return { status: res.status, body: await res.json() };
      } catch (error) {
        return { failed: String(error) };
      }
    },
    { url, init },
  );
}

const now = () => Math.round(Date.now() / 1000);

describe.skipIf(skip)('the sandbox calls from a browser on another origin', () => {
  let browser: Browser;
  let service: { url: string; server: Server };
  let restricted: { url: string; server: Server };
  let origin: { url: string; server: Server };
  let page: Page;

  beforeAll(async () => {
    [browser, service, restricted, origin] = await Promise.all([
      launchChromium(),
      startService(),
      startService({ corsOrigins: ['https://ehr.example.org'] }),
      startPageOrigin(),
    ]);
    page = await browser.newPage();
    await page.goto(origin.url);
  }, 60_000);

  afterAll(async () => {
    await browser.close();
    await Promise.all([
      closeServer(service.server),
      closeServer(restricted.server),
      closeServer(origin.server),
    ]);
  });

  it.each(['/cds-services', '/cds-services/'])(
    'discovery at %s, a hook call and feedback: all readable',
    async (discoveryPath) => {
      const discovery = `${service.url}${discoveryPath}`;
      const found = await fetchInPage(page, discovery, {
        method: 'GET',
        token: sandboxJwt(discovery, now()),
      });
      expect(found.status).toBe(200);
      expect((found.body as { services: { id: string }[] }).services[0]?.id).toBe('crs-sentinel');

      const serviceUrl = `${discovery}/crs-sentinel`;
      const body = sandboxHookRequest({ fhirServer: FHIR, patientId: 'pat-1', prefetch: emptyPrefetch() });
      const hook = await fetchInPage(page, serviceUrl, {
        method: 'POST',
        token: sandboxJwt(serviceUrl, now()),
        body,
      });
      expect(hook).toEqual({ status: 200, body: { cards: [] } });

      const feedbackUrl = `${serviceUrl}/feedback`;
      const feedback = {
        feedback: [
          {
            card: '9368d37b-283f-44a0-93ea-547cebab93ed',
            outcome: 'overridden',
            outcomeTimestamp: new Date().toISOString(),
          },
        ],
      };
      const answer = await fetchInPage(page, feedbackUrl, {
        method: 'POST',
        token: sandboxJwt(feedbackUrl, now()),
        body: feedback,
      });
      expect(answer).toEqual({ status: 200, body: {} });
    },
  );

  it('error answers are readable too: 401 for a token for another URL, 412 with no data and no fhirServer', async () => {
    const serviceUrl = `${service.url}/cds-services/crs-sentinel`;
    const body = sandboxHookRequest({ fhirServer: FHIR, patientId: 'pat-1', prefetch: emptyPrefetch() });
    const refused = await fetchInPage(page, serviceUrl, {
      method: 'POST',
      token: sandboxJwt(`${service.url}/cds-services`, now()),
      body,
    });
    expect(refused).toEqual({ status: 401, body: { error: 'unauthorized' } });

    const { fhirServer: _unused, ...withoutServer } = body;
    const noData = await fetchInPage(page, serviceUrl, {
      method: 'POST',
      token: sandboxJwt(serviceUrl, now()),
      body: { ...withoutServer, prefetch: undefined },
    });
    expect(noData.status).toBe(412);
    expect((noData.body as { error: string }).error).toBe('precondition-failed');
  });

  it('with CORS_ORIGINS naming another origin, the browser blocks the page', async () => {
    const discovery = `${restricted.url}/cds-services`;
    const blocked = await fetchInPage(page, discovery, {
      method: 'GET',
      token: sandboxJwt(discovery, now()),
    });
    expect(blocked.failed).toMatch(/TypeError/);
  });
});
