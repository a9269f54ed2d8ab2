/**
 * Real-browser test support (issue 13): Debian's Chromium driven by playwright-core, the trend
 * view built by Vite into a temporary folder, the service (createApp with fakes) and the embedded
 * FHIR sandbox on 127.0.0.1. Screenshots go to test-artifacts/ (git-ignored).
 */
import { existsSync, mkdirSync, mkdtempSync } from 'node:fs';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { chromium, type Browser, type Page } from 'playwright-core';
import { build } from 'vite';
import { PACKAGE_ROOT } from '../../src/config/load-config.js';
import { trendViewLaunchUrl } from '../../src/http/trend-view-app.js';
import { buildTestApp } from '../support/test-app.js';

export const CHROMIUM = '/usr/bin/chromium';
export const ARTIFACTS = path.join(PACKAGE_ROOT, 'test-artifacts', 'trend-view');

/**
 * Chromium is required in CI (.ci/run installs it); on a developer machine without it the browser
 * tests are skipped with one line saying so.
 */
export function chromiumMissing(): boolean {
  if (existsSync(CHROMIUM)) return false;
  if (process.env.CI) throw new Error(`${CHROMIUM} is missing: .ci/run installs Debian's chromium`);
  process.stdout.write(`skipped: browser tests: ${CHROMIUM} is absent (apt-get install chromium)\n`);
  return true;
}

/** Builds the app once per test file into a fresh folder (the same config as npm run build:web). */
export async function buildTrendView(): Promise<string> {
  const outDir = mkdtempSync(path.join(tmpdir(), 'crs-trend-view-'));
  await build({
    configFile: path.join(PACKAGE_ROOT, 'web', 'trend-view', 'vite.config.ts'),
    logLevel: 'warn',
    build: { outDir, emptyOutDir: true },
  });
  return outDir;
}

export async function listen(server: Server): Promise<string> {
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  return `http://127.0.0.1:${String((server.address() as AddressInfo).port)}`;
}

/**
 * The service on a free loopback port, its public URL its own, serving the built app, on the wall
 * clock (the sandbox rebases the fixtures to now) and linking its cards to its own launch URL.
 */
export async function startService(trendViewDir: string): Promise<{ url: string; server: Server }> {
  const server = createServer();
  const url = await listen(server);
  const { app, deps } = buildTestApp({ trendViewDir, publicBaseUrl: url });
  // createApp reads deps.patientView per call: the clock and the link need the port just bound.
  deps.patientView = {
    ...deps.patientView,
    now: () => new Date(),
    trendViewLaunchUrl: trendViewLaunchUrl(url),
  };
  server.on('request', app);
  return { url, server };
}

export function launchChromium(): Promise<Browser> {
  return chromium.launch({
    executablePath: CHROMIUM,
    headless: true,
    args: ['--no-sandbox', '--disable-background-networking', '--disable-component-update', '--disable-gpu'],
  });
}

/** Console errors and uncaught exceptions of a page, collected from the start. */
export function collectErrors(page: Page): string[] {
  const errors: string[] = [];
  page.on('console', (message) => {
    if (message.type() === 'error') errors.push(`console: ${message.text()}`);
  });
  page.on('pageerror', (error) => errors.push(`pageerror: ${error.message}`));
  return errors;
}

export function screenshotPath(name: string): string {
  mkdirSync(ARTIFACTS, { recursive: true });
  return path.join(ARTIFACTS, `${name}.png`);
}

/** What a panel plots: its data-series counts by series label. */
export async function panelSeries(page: Page, panel: string): Promise<Record<string, number>> {
  const raw = await page.getAttribute(`figure[data-panel="${panel}"]`, 'data-series');
  return JSON.parse(raw ?? '{}') as Record<string, number>;
}

export function closeServer(server: Server): Promise<void> {
  return new Promise((resolve) => {
    server.closeAllConnections();
    server.close(() => resolve());
  });
}
