/**
 * The CRS trend view in a real browser (Debian Chromium, playwright-core): standalone launch
 * against the embedded FHIR sandbox for fixture patients whose stories the panels must tell, the
 * grade band from the same engine as the card, no console errors, the table view by keyboard, and
 * the CRS card's smart link opening the view. Screenshots: test-artifacts/trend-view/.
 */
import type { Server } from 'node:http';
import type { Browser, Page } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { CdsCard } from '../../src/cds-hooks/cds-hooks-types.js';
import { trendViewLaunchUrl } from '../../src/http/trend-view-app.js';
import { startFixtureSandbox } from '../../src/sandbox/fixture-sandbox.js';
import type { FhirSandbox } from '../../src/sandbox/fhir-sandbox.js';
import { checkSmartLink } from '../rules/helpers/check-card.js';
import { hookRequest } from '../support/test-app.js';
import {
  buildTrendView,
  chromiumMissing,
  closeServer,
  collectErrors,
  launchChromium,
  panelSeries,
  screenshotPath,
  startService,
} from './browser.js';

const skip = chromiumMissing();

/** What each fixture's story (fixtures/crs-sentinel/manifest.json) must show. */
const STORIES: {
  patientId: string;
  story: string;
  lastState: string;
  states: string[];
  panels: Record<string, Record<string, number>>;
}[] = [
  {
    patientId: 'crs-fx-cart-grade3-patient',
    story: 'grade 3 with a norepinephrine infusion running',
    lastState: 'grade-3',
    states: ['grade-3'],
    panels: {
      vasoactive: { norepinephrine: 1 },
      medications: { 'CAR-T / bispecific': 1 },
    },
  },
  {
    patientId: 'crs-fx-cart-masked-patient',
    story: 'fever 27 h ago, tocilizumab 22 h ago, afebrile now with SBP 86: masked fever, grade 2',
    lastState: 'grade-2',
    states: ['grade-1', 'grade-2'],
    panels: { medications: { Tocilizumab: 1, 'CAR-T / bispecific': 1 }, vasoactive: {} },
  },
  {
    patientId: 'crs-fx-cart-data-gap-patient',
    story: 'day 3 after axi-cel, last vital signs 40 h ago: cannot be judged now',
    lastState: 'data-gap',
    states: ['data-gap'],
    panels: { vasoactive: {}, medications: { 'CAR-T / bispecific': 1 } },
  },
];

describe.skipIf(skip)('the CRS trend view in Chromium', () => {
  let sandbox: FhirSandbox;
  let service: { url: string; server: Server };
  let browser: Browser;

  beforeAll(async () => {
    const [dir, started, chromium] = await Promise.all([
      buildTrendView(),
      startFixtureSandbox({ port: 0 }),
      launchChromium(),
    ]);
    sandbox = started.sandbox;
    browser = chromium;
    service = await startService(dir);
  }, 60_000);

  afterAll(async () => {
    await Promise.all([browser.close(), closeServer(service.server), sandbox.close()]);
  });

  async function openView(url: string, name: string): Promise<{ page: Page; errors: string[] }> {
    const context = await browser.newContext({ timezoneId: 'UTC', viewport: { width: 1200, height: 900 } });
    const page = await context.newPage();
    const errors = collectErrors(page);
    await page.goto(url);
    await page.waitForSelector('body[data-band="done"]', { timeout: 20_000 });
    await page.screenshot({ path: screenshotPath(name), fullPage: true });
    return { page, errors };
  }

  const standalone = (patientId: string, extra: Record<string, string> = {}) =>
    `${trendViewLaunchUrl(service.url)}?${new URLSearchParams({ fhirServiceUrl: sandbox.baseUrl, patient: patientId, ...extra }).toString()}`;

  it.each(STORIES)('$patientId: $story', async ({ patientId, lastState, states, panels }) => {
    const { page, errors } = await openView(standalone(patientId), patientId);
    expect(errors).toEqual([]);
    expect(await page.textContent('#status')).toContain("the service's rules");
    expect(await page.getAttribute('figure[data-panel="grade-band"]', 'data-last-state')).toBe(lastState);
    const band = await panelSeries(page, 'grade-band');
    const { BAND_LABELS } = await import('../../web/trend-view/src/palette.js');
    for (const state of states)
      expect(band[BAND_LABELS[state as keyof typeof BAND_LABELS]]).toBeGreaterThan(0);
    for (const [panel, expected] of Object.entries(panels)) {
      const series = await panelSeries(page, panel);
      if (Object.keys(expected).length === 0) expect(series).toEqual({});
      else expect(series).toMatchObject(expected);
    }
    // Every story has temperatures and blood pressures to plot.
    expect((await panelSeries(page, 'temperature')).Temperature).toBeGreaterThan(0);
    expect((await panelSeries(page, 'blood-pressure')).SBP).toBeGreaterThan(0);
    await page.context().close();
  });

  it('the table view opens from the keyboard with the same data', async () => {
    const { page, errors } = await openView(standalone('crs-fx-cart-grade3-patient'), 'table-view');
    await page.focus('#table-toggle');
    await page.keyboard.press('Enter');
    expect(await page.getAttribute('#table-toggle', 'aria-expanded')).toBe('true');
    const readings = await page.locator('table[data-table="Readings"] tbody tr').count();
    const temperature = (await panelSeries(page, 'temperature')).Temperature ?? 0;
    expect(readings).toBeGreaterThanOrEqual(temperature);
    expect(await page.locator('table[data-table="ASTCT grade by hour"] tbody tr').count()).toBeGreaterThan(0);
    await page.screenshot({ path: screenshotPath('table-view'), fullPage: true });
    expect(errors).toEqual([]);
    await page.context().close();
  });

  it("the CRS card's smart link opens the view on the card's therapy window (appContext)", async () => {
    const response = await fetch(`${service.url}/cds-services/crs-sentinel`, {
      method: 'POST',
      headers: { 'content-type': 'application/json', authorization: 'Bearer development' },
      body: JSON.stringify(
        hookRequest({
          context: { userId: 'Practitioner/example', patientId: 'crs-fx-cart-masked-patient' },
          fhirServer: sandbox.baseUrl,
        }),
      ),
    });
    expect(response.status).toBe(200);
    const { cards } = (await response.json()) as { cards: CdsCard[] };
    const link = cards[0]?.links?.find((l) => l.type === 'smart');
    expect(link).toMatchObject({ label: 'Open CRS trend view', url: trendViewLaunchUrl(service.url) });
    checkSmartLink(link!);
    // What an EHR does with it, standalone here: the launch URL plus the card's appContext.
    const url = `${link!.url}?${new URLSearchParams({ fhirServiceUrl: sandbox.baseUrl, patient: 'crs-fx-cart-masked-patient', appContext: link!.appContext! }).toString()}`;
    const { page, errors } = await openView(url, 'from-card');
    expect(await page.textContent('#patient')).toContain('(from the card)');
    expect(errors).toEqual([]);
    await page.context().close();
  });
});
