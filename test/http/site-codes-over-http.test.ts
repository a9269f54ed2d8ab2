/**
 * A site's own observation codes (SITE_CODES, or a SITE_VALUESETS ValueSet) reach the EHR and the
 * FHIR server (issue 9, sections 2 and 4): the service is composed from its environment with a
 * SITE_CODES file, or a folder with a ValueSet extending the temperature list, with a local
 * temperature code; discovery asks for that code, and a patient whose every temperature is charted
 * only under it gets the same card through prefetch (built from the published templates) and
 * through the FHIR fallback (the test FHIR server filters searches by code, as a real one does).
 */
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import type { Bundle, FhirResource, Observation } from 'fhir/r4';
import { pino } from 'pino';
import request from 'supertest';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { parseSearchTokens, type CdsServiceDefinition } from '../../src/cds-hooks/crs-sentinel-service.js';
import type { CdsServiceResponse } from '../../src/cds-hooks/cds-hooks-types.js';
import { composeDependencies } from '../../src/compose-dependencies.js';
import { loadConfig } from '../../src/config/load-config.js';
import {
  bundleToPrefetch,
  FIXTURE_DIR,
  loadAllFixtures,
  rebaseBundle,
} from '../../src/fixtures/fixture-manifest.js';
import { createApp } from '../../src/http/app.js';
import { checkCard } from '../rules/helpers/check-card.js';
import { expectAnswer } from '../support/expect-fixture-answer.js';
import { startFhirTestServer, type FhirTestServer } from '../support/fhir-test-server.js';
import { hookRequest, sequentialUuids, TEST_NOW } from '../support/test-app.js';

const LOINC = 'http://loinc.org';
/** A local code with characters FHIR search must escape (`,` `|`) and a URL must encode (space). */
const LOCAL_TEMPERATURE = { system: 'urn:oid:1.2.840.99999.1.7', code: 'T CORE,1|C' };

const { manifest, fixtures } = loadAllFixtures(path.resolve(FIXTURE_DIR));
const fixture = fixtures.find((f) => f.file === 'cart-grade2-hypotension.json');
if (!fixture) throw new Error('fixture cart-grade2-hypotension.json is missing');

/** The fixture with every LOINC temperature recoded to the site's local code only. */
function withLocalTemperatures(bundle: Bundle): Bundle {
  const entry = (bundle.entry ?? []).map((e) => {
    const r = e.resource as FhirResource | undefined;
    if (r?.resourceType !== 'Observation' || !isTemperature(r)) return e;
    const local: Observation = { ...r, code: { coding: [{ ...LOCAL_TEMPERATURE }], text: 'Temp (core)' } };
    return { ...e, resource: local };
  });
  return { ...bundle, entry };
}

const isTemperature = (o: Observation) =>
  (o.code.coding ?? []).some((c) => c.system === LOINC && c.code === '8310-5');

const bundle = withLocalTemperatures(rebaseBundle(fixture.bundle, new Date(manifest.anchor), TEST_NOW));
const resources = (bundle.entry ?? []).map((e) => e.resource as FhirResource);
const recoded = resources.filter(
  (r) => r.resourceType === 'Observation' && r.code.coding?.[0]?.code === LOCAL_TEMPERATURE.code,
);

let tmp: string;
let fhir: FhirTestServer;
beforeAll(async () => {
  tmp = mkdtempSync(path.join(tmpdir(), 'crs-site-codes-'));
  fhir = await startFhirTestServer(resources);
});
afterAll(async () => {
  await fhir.close();
  rmSync(tmp, { recursive: true, force: true });
});

/** The service as `npm start` composes it from its environment, with the test's clock. */
function service(env: Record<string, string>) {
  const full = { CDS_AUTH: 'off', DATA_DIR: path.join(tmp, 'data'), ...env };
  const deps = composeDependencies(loadConfig(full), full, pino({ level: 'silent' }), () => true);
  return createApp({
    ...deps,
    patientView: { ...deps.patientView, now: () => TEST_NOW, newUuid: sequentialUuids() },
  });
}

function siteCodesFile(): string {
  const file = path.join(tmp, 'site-codes.json');
  const mapping = { site: 'test-hospital', observations: [{ ...LOCAL_TEMPERATURE, kind: 'temperature' }] };
  writeFileSync(file, JSON.stringify(mapping));
  return file;
}

async function discovery(app: ReturnType<typeof service>): Promise<CdsServiceDefinition> {
  const res = await request(app).get('/cds-services').expect(200);
  return (res.body as { services: CdsServiceDefinition[] }).services[0]!;
}

async function hook(
  app: ReturnType<typeof service>,
  extra: Record<string, unknown>,
): Promise<CdsServiceResponse> {
  const context = { userId: 'Practitioner/1', patientId: fixture!.patientId };
  const res = await request(app)
    .post('/cds-services/crs-sentinel')
    .send(hookRequest({ context, ...extra }))
    .expect(200);
  return res.body as CdsServiceResponse;
}

/** The prefetch an EHR builds from the templates discovery published. */
function prefetchFor(published: CdsServiceDefinition) {
  return bundleToPrefetch(bundle, { templates: published.prefetch });
}

function siteValueSets(): string {
  const dir = path.join(tmp, 'valuesets');
  mkdirSync(dir, { recursive: true });
  const valueSet = {
    resourceType: 'ValueSet',
    url: 'https://crs-sentinel.org/fhir/ValueSet/observations-temperature',
    name: 'TestHospitalTemperature',
    title: 'Test hospital temperature codes',
    status: 'active',
    description: 'The flowsheet row the test hospital charts core temperature under.',
    compose: { include: [{ system: LOCAL_TEMPERATURE.system, concept: [{ code: LOCAL_TEMPERATURE.code }] }] },
  };
  writeFileSync(path.join(dir, 'temperature.json'), JSON.stringify(valueSet));
  return dir;
}

const SITES: [string, () => Record<string, string>][] = [
  ['SITE_CODES', () => ({ SITE_CODES: siteCodesFile() })],
  ['SITE_VALUESETS', () => ({ SITE_VALUESETS: siteValueSets() })],
];

describe('the trend view grades with the same code lists', () => {
  it("GET /app/rules.json carries the site's ValueSets, as validated at start", async () => {
    const res = await request(service({ SITE_VALUESETS: siteValueSets() }))
      .get('/app/rules.json')
      .expect(200);
    const body = res.body as { valueSets?: { url: string }[] };
    expect(body.valueSets?.map((v) => v.url)).toEqual([
      'https://crs-sentinel.org/fhir/ValueSet/observations-temperature',
    ]);
  });
});

describe.each(SITES)('%s: the local code reaches discovery, prefetch and the FHIR fallback', (_, siteEnv) => {
  it('the fixture really charts its temperatures under the local code only', () => {
    expect(recoded.length).toBeGreaterThan(3);
    expect(resources.some((r) => r.resourceType === 'Observation' && isTemperature(r))).toBe(false);
  });

  it('discovery asks for the local code in the vitals template, escaped for FHIR search and the URL', async () => {
    const published = await discovery(service(siteEnv()));
    const vitals = published.prefetch.vitals ?? '';
    const code = new URLSearchParams(vitals.split('?')[1]).get('code') ?? '';
    expect(parseSearchTokens(code)).toContainEqual(LOCAL_TEMPERATURE);
    expect(vitals).toContain('urn:oid:1.2.840.99999.1.7|T%20CORE%5C%2C1%5C%7CC');
    const plain = await discovery(service({}));
    expect(plain.prefetch.vitals).not.toContain(LOCAL_TEMPERATURE.system);
  });

  it('through prefetch built from the published templates: the fixture answer', async () => {
    const app = service(siteEnv());
    const prefetch = prefetchFor(await discovery(app));
    const vitals = prefetch.vitals as Bundle;
    expect(vitals.entry?.filter((e) => e.resource?.id?.includes('-temp-'))).toHaveLength(recoded.length);
    const body = await hook(app, { prefetch });
    body.cards.forEach(checkCard);
    expectAnswer(fixture, body.cards);
  });

  it('through the FHIR fallback: the searches carry the local code, and the same card comes back', async () => {
    const app = service(siteEnv());
    const viaPrefetch = await hook(service(siteEnv()), {
      prefetch: prefetchFor(await discovery(app)),
    });
    fhir.requests.length = 0;
    fhir.misbehave.set('batch', 'no-batch'); // plain GETs, so the test can read each search
    const viaFhir = await hook(app, { fhirServer: fhir.baseUrl });
    fhir.misbehave.clear();
    const searches = fhir.requests.map((r) => new URL(r.path, 'http://x'));
    const vitalsSearch = searches.find(
      (u) => u.pathname.endsWith('/Observation') && u.search.includes('8867-4'),
    );
    expect(parseSearchTokens(vitalsSearch?.searchParams.get('code') ?? '')).toContainEqual(LOCAL_TEMPERATURE);
    viaFhir.cards.forEach(checkCard);
    expectAnswer(fixture, viaFhir.cards);
    expect(viaFhir).toEqual(viaPrefetch);
  });

  it('without the mapping the local temperatures are neither fetched nor read: not the fixture answer', async () => {
    const viaFhir = await hook(service({}), { fhirServer: fhir.baseUrl });
    expect(JSON.stringify(viaFhir)).not.toContain('39.1');
    expect(() => expectAnswer(fixture, viaFhir.cards)).toThrow();
  });
});
