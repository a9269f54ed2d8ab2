/**
 * End to end over real HTTP on 127.0.0.1: the embedded FHIR sandbox (fixture patients rebased to a
 * fixed `now`, and the real MIMIC and SMART bundles from ../shared/data), crs-sentinel built by
 * its real composition root (JWT verification on, the demo EHR trusted for the sandbox only,
 * MIMIC site codes), and the EHR simulator signing ES384 JWTs. Every fixture patient is run twice:
 * with the simulator resolving prefetch like an EHR, and with the service fetching everything
 * itself through fhir-kit-client.
 */
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import path from 'node:path';
import type { Bundle } from 'fhir/r4';
import { pino } from 'pino';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { CdsServiceResponse } from '../../src/cds-hooks/cds-hooks-types.js';
import { PREFETCH_KEY_NAMES } from '../../src/cds-hooks/crs-sentinel-service.js';
import { composeDependencies } from '../../src/compose-dependencies.js';
import { loadConfig } from '../../src/config/load-config.js';
import { formatCards } from '../../src/ehr-simulator/format-cards.js';
import { simulatePatientView } from '../../src/ehr-simulator/simulate-patient-view.js';
import type { FixtureManifestEntry } from '../../src/fixtures/fixture-manifest.js';
import { createApp } from '../../src/http/app.js';
import type { FhirSandbox } from '../../src/sandbox/fhir-sandbox.js';
import { startFixtureSandbox } from '../../src/sandbox/fixture-sandbox.js';
import { ensureDemoClient, signClientJwt } from '../../src/trust/demo-client.js';
import { checkCard } from '../rules/helpers/check-card.js';
import { expectAnswer } from '../support/expect-fixture-answer.js';
import { SHARED_DATA, sharedDataAvailable } from '../support/shared-data.js';
import { TEST_NOW } from '../support/test-app.js';

const sharedData = SHARED_DATA;
const hasSharedData = sharedDataAvailable('real data through the embedded server');
const readBundle = (relative: string) =>
  JSON.parse(readFileSync(path.join(sharedData, relative), 'utf8')) as Bundle;

let sandbox: FhirSandbox;
let patients: FixtureManifestEntry[];
let server: Server;
let serviceBase: string;
let dataDir: string;
let now = TEST_NOW;
let sign: (aud: string) => string;

beforeAll(async () => {
  ({ sandbox, patients } = await startFixtureSandbox({ port: 0, now: TEST_NOW }));
  dataDir = mkdtempSync(path.join(tmpdir(), 'crs-e2e-'));
  const demo = ensureDemoClient(dataDir, { fhirServers: [sandbox.baseUrl] });
  const pem = readFileSync(demo.privateKeyPemPath, 'utf8');
  sign = (aud) => signClientJwt({ privateKeyPem: pem, kid: demo.kid, iss: demo.client.iss, aud });

  server = createServer();
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  serviceBase = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  const config = loadConfig({
    PUBLIC_BASE_URL: serviceBase,
    DATA_DIR: dataDir,
    DEMO_FHIR_SERVER: sandbox.baseUrl,
    SITE_CODES: 'config/site-codes/mimic-iv-demo.json',
  });
  const deps = composeDependencies(config, {}, pino({ level: 'silent' }), () => true);
  server.on('request', createApp({ ...deps, patientView: { ...deps.patientView, now: () => now } }));
});

afterAll(async () => {
  await new Promise((resolve) => server.close(resolve));
  await sandbox.close();
  rmSync(dataDir, { recursive: true, force: true });
});

async function hook(patientId: string, prefetch: boolean) {
  const result = await simulatePatientView({
    serviceBase,
    patientId,
    fhirServer: sandbox.baseUrl,
    prefetch,
    sign,
  });
  expect(result.status, JSON.stringify(result.body)).toBe(200);
  const body = result.body as CdsServiceResponse;
  body.cards.forEach(checkCard);
  return { ...result, body };
}

describe('fixture patients end to end', () => {
  const cases = () => patients.flatMap((p) => [true, false].map((prefetch) => ({ p, prefetch })));
  it('runs every fixture patient with and without prefetch', async () => {
    expect(cases()).toHaveLength(patients.length * 2);
    expect(patients.length).toBeGreaterThanOrEqual(45);
    for (const { p, prefetch } of cases()) {
      const { body, prefetchKeys } = await hook(p.patientId, prefetch);
      expect(prefetchKeys.length, p.file).toBe(prefetch ? PREFETCH_KEY_NAMES.length : 0);
      expectAnswer(p, body.cards);
    }
  });

  it('prints what a clinician would see, for a critical, a warning and a no-card patient', async () => {
    const printed = async (id: string) => {
      const { body } = await hook(id, false);
      return formatCards(body);
    };
    const critical = await printed('crs-fx-cart-grade2-patient');
    expect(critical.split('\n')[0]).toBe(
      '[CRITICAL] Possible CRS grade 2 (ASTCT): 39.1 °C, SBP 84 mmHg, day 3 after axicabtagene ciloleucel',
    );
    expect(critical).toContain('Suggestions (drafts, never applied automatically):');
    expect(critical).toContain('Links:');
    const warning = await printed('crs-fx-cart-grade1-patient');
    expect(warning.split('\n')[0]).toMatch(
      /^\[WARNING\] Possible CRS grade 1 \(ASTCT\): 38\.\d °C, day 3 after/,
    );
    expect(await printed('crs-fx-fever-only-patient')).toBe(
      'No cards: nothing CRS-consistent to flag for this patient.',
    );
  });
});

describe.skipIf(!hasSharedData)(
  `real data through the embedded server (${hasSharedData ? sharedData : 'skipped: ../shared/data is absent'})`,
  () => {
    const episodes = [
      {
        file: 'mimic-iv-demo-fhir/episode-dd2bf984-septic-shock-2133-12-18.json',
        patientId: 'dd2bf984-33c3-5874-8f68-84113327877e',
        now: '2133-12-18T23:05:00Z',
        pressors: /norepinephrine.*phenylephrine|phenylephrine.*norepinephrine/,
      },
      {
        file: 'mimic-iv-demo-fhir/episode-8e77dd0b-septic-shock-2140-01-23.json',
        patientId: '8e77dd0b-932d-5790-9ba6-5c6df8434457',
        now: '',
        pressors: /norepinephrine \+ vasopressin/,
      },
    ];

    it.each(episodes)(
      'septic shock $patientId: a critical sepsis-context card naming the vasopressors',
      async (episode) => {
        const bundle = readBundle(episode.file);
        await sandbox.loadBundle(bundle);
        now = new Date(episode.now || episodeNowFromBundle(bundle));
        try {
          const { body } = await hook(episode.patientId, false);
          expect(body.cards).toHaveLength(1);
          const card = body.cards[0]!;
          const assessment = card.extension?.['org.crs-sentinel.assessment'] as {
            context: string[];
            cardKind: string;
            hypotensionDomain: number;
          };
          expect({ indicator: card.indicator, context: assessment.context }).toEqual({
            indicator: 'critical',
            context: ['sepsis'],
          });
          // A sepsis card is about the circulation: vasopressors, no CRS grade.
          expect(assessment.cardKind).toBe('sepsis-circulation');
          expect(assessment.hypotensionDomain).toBeGreaterThanOrEqual(3);
          expect(card.summary).toMatch(episode.pressors);
        } finally {
          now = TEST_NOW;
        }
      },
    );

    it('the SMART sandbox sample gets no card and no error', async () => {
      const response = await sandbox.loadBundle(
        readBundle('smart-r4-sandbox-sample/Brain_Erdman_ae4b94e4-cfbb-4091-828d-8ddc1c32bb6b.json'),
      );
      const patientId = response.entry
        ?.map((e) => e.response?.location ?? '')
        .find((l) => l.startsWith('Patient/'))
        ?.split('/')[1];
      expect(patientId).toBeDefined();
      const { body } = await hook(patientId!, true);
      expect(body).toEqual({ cards: [] });
    });
  },
);

/** 8e77dd0b: one hour after its first norepinephrine (inside the episode, as the engine test does). */
function episodeNowFromBundle(bundle: Bundle): number {
  const starts = (bundle.entry ?? [])
    .map((e) => e.resource)
    .filter((r) => r?.resourceType === 'MedicationAdministration')
    .filter((r) => JSON.stringify(r).toLowerCase().includes('norepinephrine'))
    .map((r) => {
      const ma = r as { effectivePeriod?: { start?: string }; effectiveDateTime?: string };
      return Date.parse(ma.effectivePeriod?.start ?? ma.effectiveDateTime ?? '');
    })
    .filter((t) => !Number.isNaN(t))
    .sort((a, b) => a - b);
  return (starts[0] ?? 0) + 3_600_000;
}
