/**
 * SMART App Launch 2.0, EHR launch, end to end in Chromium through a tiny authorization server
 * written for this test (127.0.0.1): launch.html with `iss` + `launch` -> the server's
 * .well-known/smart-configuration -> /authorize (client id, scopes, PKCE S256, aud, launch checked)
 * -> code to index.html -> /token (PKCE verifier checked) -> bearer token, patient and appContext
 * -> FHIR reads carrying the token (proxied to the embedded sandbox). It stands in for an EHR's
 * authorization server; it does not test any real EHR's quirks (docs/registration.md).
 */
import { createHash, randomUUID } from 'node:crypto';
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { Browser } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startFixtureSandbox } from '../../src/sandbox/fixture-sandbox.js';
import type { FhirSandbox } from '../../src/sandbox/fhir-sandbox.js';
import {
  buildTrendView,
  chromiumMissing,
  closeServer,
  collectErrors,
  launchChromium,
  listen,
  panelSeries,
  screenshotPath,
  startService,
} from './browser.js';

const skip = chromiumMissing();
const PATIENT = 'crs-fx-cart-masked-patient';
const LAUNCH = 'launch-4f2c';
// The masked-fever story's infusion is 4 days before now (the sandbox rebases it to the wall clock).
const APP_CONTEXT = JSON.stringify({
  indexTime: new Date(Date.now() - 4 * 24 * 3_600_000).toISOString(),
  agent: 'axicabtagene ciloleucel',
});

interface Seen {
  authorize?: URLSearchParams;
  token?: URLSearchParams;
  fhirWithToken: number;
  fhirWithoutToken: number;
}

/** The test EHR: SMART configuration, authorization and token endpoints, and a FHIR proxy. */
function testEhr(sandbox: FhirSandbox, seen: Seen): Server {
  const codes = new Map<string, { challenge: string; redirect: string }>();
  const token = `token-${randomUUID()}`;
  return createServer((req, res) => {
    void handle(req, res).catch((error: unknown) => {
      res.writeHead(500).end(String(error));
    });
  });

  async function handle(req: IncomingMessage, res: ServerResponse): Promise<void> {
    res.setHeader('Access-Control-Allow-Origin', '*');
    if (req.method === 'OPTIONS') {
      res.writeHead(204, {
        'Access-Control-Allow-Headers': 'authorization, content-type, accept',
        'Access-Control-Allow-Methods': 'GET, POST',
      });
      res.end();
      return;
    }
    const base = `http://${req.headers.host ?? ''}`;
    const url = new URL(req.url ?? '/', base);
    if (url.pathname === '/fhir/.well-known/smart-configuration') {
      json(res, 200, {
        authorization_endpoint: `${base}/authorize`,
        token_endpoint: `${base}/token`,
        capabilities: ['launch-ehr', 'client-public', 'context-ehr-patient', 'permission-v2'],
        code_challenge_methods_supported: ['S256'],
        grant_types_supported: ['authorization_code'],
      });
      return;
    }
    if (url.pathname === '/authorize') {
      seen.authorize = url.searchParams;
      const code = randomUUID();
      const redirect = url.searchParams.get('redirect_uri') ?? '';
      codes.set(code, { challenge: url.searchParams.get('code_challenge') ?? '', redirect });
      const back = new URL(redirect);
      back.searchParams.set('code', code);
      back.searchParams.set('state', url.searchParams.get('state') ?? '');
      res.writeHead(302, { Location: back.href }).end();
      return;
    }
    if (url.pathname === '/token' && req.method === 'POST') {
      const form = new URLSearchParams(await bodyOf(req));
      seen.token = form;
      const grant = codes.get(form.get('code') ?? '');
      const verifier = form.get('code_verifier') ?? '';
      const challenge = createHash('sha256').update(verifier).digest('base64url');
      if (!grant || grant.challenge !== challenge || grant.redirect !== form.get('redirect_uri')) {
        json(res, 400, { error: 'invalid_grant' });
        return;
      }
      codes.delete(form.get('code') ?? '');
      json(res, 200, {
        access_token: token,
        token_type: 'Bearer',
        expires_in: 300,
        scope: seen.authorize?.get('scope'),
        patient: PATIENT,
        appContext: APP_CONTEXT,
      });
      return;
    }
    if (url.pathname.startsWith('/fhir/')) {
      if (req.headers.authorization !== `Bearer ${token}`) {
        seen.fhirWithoutToken++;
        json(res, 401, { resourceType: 'OperationOutcome', issue: [{ severity: 'error', code: 'login' }] });
        return;
      }
      seen.fhirWithToken++;
      const upstream = await fetch(`${sandbox.baseUrl}${url.pathname.slice('/fhir'.length)}${url.search}`);
      res.writeHead(upstream.status, {
        'Content-Type': upstream.headers.get('content-type') ?? 'application/fhir+json',
      });
      res.end(await upstream.text());
      return;
    }
    json(res, 404, { error: 'not found' });
  }
}

function json(res: ServerResponse, status: number, body: unknown): void {
  res.writeHead(status, { 'Content-Type': 'application/json' }).end(JSON.stringify(body));
}

async function bodyOf(req: IncomingMessage): Promise<string> {
  let text = '';
  for await (const chunk of req) text += String(chunk);
  return text;
}

describe.skipIf(skip)('EHR launch through a SMART authorization server', () => {
  let sandbox: FhirSandbox;
  let service: { url: string; server: Server };
  let ehr: Server;
  let ehrUrl: string;
  let browser: Browser;
  const seen: Seen = { fhirWithToken: 0, fhirWithoutToken: 0 };

  beforeAll(async () => {
    const [dir, started, chromium] = await Promise.all([
      buildTrendView(),
      startFixtureSandbox({ port: 0 }),
      launchChromium(),
    ]);
    sandbox = started.sandbox;
    browser = chromium;
    service = await startService(dir);
    ehr = testEhr(sandbox, seen);
    ehrUrl = await listen(ehr);
  }, 60_000);

  afterAll(async () => {
    await Promise.all([browser.close(), closeServer(service.server), closeServer(ehr), sandbox.close()]);
  });

  it('launch + iss: read-only scopes, PKCE, the token on every FHIR read, the patient and appContext from the token', async () => {
    const context = await browser.newContext({ timezoneId: 'UTC', viewport: { width: 1200, height: 900 } });
    const page = await context.newPage();
    const errors = collectErrors(page);
    const iss = `${ehrUrl}/fhir`;
    await page.goto(
      `${service.url}/app/launch.html?${new URLSearchParams({ iss, launch: LAUNCH }).toString()}`,
    );
    await page.waitForSelector('body[data-band="done"]', { timeout: 20_000 });
    await page.screenshot({ path: screenshotPath('ehr-launch'), fullPage: true });

    const authorize = seen.authorize!;
    expect({
      response_type: authorize.get('response_type'),
      client_id: authorize.get('client_id'),
      redirect_uri: authorize.get('redirect_uri'),
      aud: authorize.get('aud'),
      launch: authorize.get('launch'),
      code_challenge_method: authorize.get('code_challenge_method'),
    }).toEqual({
      response_type: 'code',
      client_id: 'crs-sentinel-trend-view',
      redirect_uri: `${service.url}/app/index.html`,
      aud: iss,
      launch: LAUNCH,
      code_challenge_method: 'S256',
    });
    const scopes = (authorize.get('scope') ?? '').split(' ');
    expect(scopes).toContain('launch');
    expect(scopes).toContain('patient/Observation.rs');
    expect(scopes).toContain('patient/MedicationAdministration.rs');
    expect(scopes.filter((s) => /\.(c|u|d|write|\*)/.test(s.split('/')[1] ?? ''))).toEqual([]);
    expect(seen.token?.get('grant_type')).toBe('authorization_code');
    expect(seen.fhirWithToken).toBeGreaterThan(0);
    expect(seen.fhirWithoutToken).toBe(0);
    // The patient and appContext came from the token response: the masked-fever story, opened on
    // the card's index time.
    expect(await page.textContent('#patient')).toContain('(from the card)');
    expect((await panelSeries(page, 'medications')).Tocilizumab).toBe(1);
    expect(errors).toEqual([]);
    await context.close();
  });
});
