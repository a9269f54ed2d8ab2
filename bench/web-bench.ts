/**
 * `npm run bench:web` (issue 13): the CRS trend view in headless Chromium (Debian's, via
 * playwright-core) with a generated 30-day chart of 3,000 Observations on the embedded sandbox.
 * Prints the first meaningful render (every panel drawn with its data: the app's
 * `crs-trend:rendered` mark), the grade band's completion (720 hours through assessCrs), and the
 * built bundle's size gzipped, measured whole (every file the browser loads). Goals: render
 * < 1.5 s, bundle < 250 KB gzipped. Figures, not a test: nothing fails on a slow machine.
 */
import { readdirSync, readFileSync, statSync } from 'node:fs';
import type { Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { cpus, loadavg } from 'node:os';
import path from 'node:path';
import { gzipSync } from 'node:zlib';
import type { Bundle, BundleEntry, FhirResource, Observation } from 'fhir/r4';
import { chromium } from 'playwright-core';
import { PACKAGE_ROOT } from '../src/config/load-config.js';
import { standaloneLaunchUrl, trendViewOnlyApp } from '../src/http/trend-view-app.js';
import { startFhirSandbox } from '../src/sandbox/fhir-sandbox.js';

const OBSERVATIONS = 3000;
const DAYS = 30;
const RUNS = Number(process.env.BENCH_WEB_RUNS ?? 5);
const GOALS = { renderMs: 1500, bundleGzipBytes: 250 * 1024 };
const HOUR = 3_600_000;
const PATIENT = 'bench-web-patient';
const LOINC = 'http://loinc.org';
const RXNORM = 'http://www.nlm.nih.gov/research/umls/rxnorm';
const UCUM = 'http://unitsofmeasure.org';
const DIST = path.join(PACKAGE_ROOT, 'dist', 'web', 'trend-view');

const now = Date.now();
const infusionMs = now - (DAYS - 0.5) * 24 * HOUR;

/** Deterministic wobble (no randomness: the same chart every run). */
const wobble = (i: number, amplitude: number) => amplitude * Math.sin(i * 12.9898) * Math.cos(i * 0.37);

function quantity(value: number, unit: string) {
  return { value: Math.round(value * 10) / 10, unit, system: UCUM, code: unit };
}

function observation(i: number, ms: number): Observation {
  const day = (ms - infusionMs) / (24 * HOUR);
  const crs = day > 1 && day < 4; // the CRS days: fever, low pressure, oxygen
  const base: Observation = {
    resourceType: 'Observation',
    id: `bench-obs-${String(i)}`,
    status: 'final',
    category: [
      {
        coding: [
          { system: 'http://terminology.hl7.org/CodeSystem/observation-category', code: 'vital-signs' },
        ],
      },
    ],
    code: { coding: [] },
    subject: { reference: `Patient/${PATIENT}` },
    effectiveDateTime: new Date(ms).toISOString(),
  };
  const coded = (code: string, value: ReturnType<typeof quantity>): Observation => ({
    ...base,
    code: { coding: [{ system: LOINC, code }] },
    valueQuantity: value,
  });
  switch (i % 6) {
    case 0:
      return coded('8310-5', quantity((crs ? 39 : 37) + wobble(i, 0.5), 'Cel'));
    case 1:
      return coded('8867-4', quantity((crs ? 118 : 82) + wobble(i, 8), '/min'));
    case 2:
      return coded('9279-1', quantity((crs ? 24 : 16) + wobble(i, 3), '/min'));
    case 3:
      return coded('59408-5', quantity((crs ? 91 : 97) + wobble(i, 2), '%'));
    case 4:
      return {
        ...base,
        code: { coding: [{ system: LOINC, code: '85354-9' }] },
        component: [
          {
            code: { coding: [{ system: LOINC, code: '8480-6' }] },
            valueQuantity: quantity((crs ? 86 : 122) + wobble(i, 8), 'mm[Hg]'),
          },
          {
            code: { coding: [{ system: LOINC, code: '8462-4' }] },
            valueQuantity: quantity((crs ? 50 : 76) + wobble(i, 6), 'mm[Hg]'),
          },
        ],
      };
    default:
      return coded('3151-8', quantity(crs ? 4 + wobble(i, 1) : 0, 'L/min'));
  }
}

function administration(id: string, rxnorm: string, startMs: number, endMs?: number): FhirResource {
  return {
    resourceType: 'MedicationAdministration',
    id,
    status: 'completed',
    medicationCodeableConcept: { coding: [{ system: RXNORM, code: rxnorm }] },
    subject: { reference: `Patient/${PATIENT}` },
    ...(endMs === undefined
      ? { effectiveDateTime: new Date(startMs).toISOString() }
      : { effectivePeriod: { start: new Date(startMs).toISOString(), end: new Date(endMs).toISOString() } }),
  };
}

function chart(): Bundle {
  const step = (DAYS * 24 * HOUR) / OBSERVATIONS;
  const resources: FhirResource[] = [
    { resourceType: 'Patient', id: PATIENT, birthDate: '1970-01-01' },
    administration('bench-ma-axicel', '1987402', infusionMs),
    administration('bench-ma-tocilizumab', '612865', infusionMs + 2.5 * 24 * HOUR),
    administration(
      'bench-ma-norepinephrine',
      '7512',
      infusionMs + 3 * 24 * HOUR,
      infusionMs + 3.5 * 24 * HOUR,
    ),
    ...Array.from({ length: OBSERVATIONS }, (_, i) =>
      observation(i, now - DAYS * 24 * HOUR + (i + 0.5) * step),
    ),
  ];
  return {
    resourceType: 'Bundle',
    type: 'transaction',
    entry: resources.map((resource): BundleEntry => ({
      resource,
      request: { method: 'PUT', url: `${resource.resourceType}/${resource.id ?? ''}` },
    })),
  };
}

function bundleBytes(): { files: number; raw: number; gzip: number } {
  let files = 0;
  let raw = 0;
  let gzip = 0;
  const walk = (dir: string) => {
    for (const name of readdirSync(dir)) {
      const file = path.join(dir, name);
      if (statSync(file).isDirectory()) walk(file);
      else {
        const bytes = readFileSync(file);
        files++;
        raw += bytes.length;
        gzip += gzipSync(bytes).length;
      }
    }
  };
  walk(DIST);
  return { files, raw, gzip };
}

const median = (values: number[]) => [...values].sort((a, b) => a - b)[Math.floor(values.length / 2)] ?? NaN;

async function main(): Promise<void> {
  const size = bundleBytes();
  const sandbox = await startFhirSandbox({ port: 0, bundles: [chart()] });
  const app = trendViewOnlyApp(DIST);
  const server: Server = await new Promise((resolve) => {
    const s = app.listen(0, '127.0.0.1', () => resolve(s));
  });
  const base = `http://127.0.0.1:${String((server.address() as AddressInfo).port)}`;
  const appContext = JSON.stringify({
    indexTime: new Date(infusionMs).toISOString(),
    agent: 'axicabtagene ciloleucel',
  });
  const url = `${standaloneLaunchUrl(base, sandbox.baseUrl, PATIENT)}&${new URLSearchParams({ appContext }).toString()}`;
  const browser = await chromium.launch({
    executablePath: '/usr/bin/chromium',
    headless: true,
    args: ['--no-sandbox', '--disable-background-networking', '--disable-component-update', '--disable-gpu'],
  });
  const rows: {
    server: number;
    render: number;
    fhir: number;
    draw: number;
    fromLaunch: number;
    band: number;
  }[] = [];
  try {
    for (let run = 0; run <= RUNS; run++) {
      const context = await browser.newContext({ viewport: { width: 1280, height: 1000 } });
      const page = await context.newPage();
      const serverBefore = sandbox.stats.serverTimeMs;
      const launchedAt = Date.now();
      await page.goto(url);
      await page.waitForSelector('body[data-band="done"]', { timeout: 120_000 });
      const marks = await page.evaluate(() => {
        const at = (name: string) => performance.getEntriesByName(name)[0]?.startTime ?? NaN;
        return {
          origin: performance.timeOrigin,
          loading: at('crs-trend:loading'),
          loaded: at('crs-trend:loaded'),
          rendered: at('crs-trend:rendered'),
          band: at('crs-trend:band'),
        };
      });
      const server = sandbox.stats.serverTimeMs - serverBefore;
      if (run > 0)
        rows.push({
          server,
          render: marks.rendered,
          fhir: marks.loaded - marks.loading,
          draw: marks.rendered - marks.loaded,
          fromLaunch: marks.origin + marks.rendered - launchedAt,
          band: marks.band,
        });
      await context.close();
    }
  } finally {
    await browser.close();
    server.close();
    await sandbox.close();
  }
  const render = median(rows.map((r) => r.render));
  const lines = [
    `CRS trend view, headless Chromium, ${String(OBSERVATIONS)} Observations over ${String(DAYS)} days, median of ${String(RUNS)} runs (after one warm-up):`,
    `  first meaningful render (index.html navigation to every panel drawn): ${render.toFixed(0)} ms   (goal < ${String(GOALS.renderMs)} ms: ${render < GOALS.renderMs ? 'met' : 'NOT met'})`,
    `    of which FHIR reads (the sandbox answering, pages in sequence): ${median(rows.map((r) => r.fhir)).toFixed(0)} ms; model and charts: ${median(rows.map((r) => r.draw)).toFixed(0)} ms`,
    `    (the embedded FHIR server's own time answering the view's searches: ${median(rows.map((r) => r.server)).toFixed(0)} ms, summed over its requests)`,
    `  from opening launch.html (launch, redirect, FHIR reads, render):      ${median(rows.map((r) => r.fromLaunch)).toFixed(0)} ms`,
    `  grade band complete (assessCrs at each of ~${String(DAYS * 24)} hours, in slices):   ${median(rows.map((r) => r.band)).toFixed(0)} ms`,
    `  bundle, every file in dist/web/trend-view (${String(size.files)} files): ${(size.raw / 1024).toFixed(1)} KB, gzipped ${(size.gzip / 1024).toFixed(1)} KB   (goal < ${String(GOALS.bundleGzipBytes / 1024)} KB: ${size.gzip < GOALS.bundleGzipBytes ? 'met' : 'NOT met'})`,
  ];
  lines.push(
    `  machine: ${String(cpus().length)} cores, load average ${loadavg()
      .map((l) => l.toFixed(1))
      .join(' ')} (other work on the machine slows every figure)`,
  );
  process.stdout.write(`${lines.join('\n')}\n`);
}

await main();
