/**
 * Serves the CRS trend view (web/trend-view, built by `npm run build:web` into dist/web/trend-view)
 * under /app/: launch.html is the SMART launch URL, index.html the redirect URL
 * (docs/registration.md). Static files only; the app talks to the EHR's FHIR server, never to us.
 */
import { existsSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import express, { type Router } from 'express';
import { notFound } from '../errors/cds-error.js';

export const TREND_VIEW_PATH = '/app';
export const TREND_VIEW_LAUNCH_FILE = 'launch.html';

/** dist/web/trend-view, from src/http/ (tests, tsx) or dist/src/http/ (the built service). */
export function defaultTrendViewDir(): string {
  const candidates = ['../../dist/web/trend-view', '../../web/trend-view'].map((relative) =>
    fileURLToPath(new URL(relative, import.meta.url)),
  );
  return candidates.find((dir) => existsSync(`${dir}/index.html`)) ?? (candidates[0] as string);
}

/** The launch URL an EHR registers, and the card's smart link points to. */
export function trendViewLaunchUrl(publicBaseUrl: string): string {
  return `${publicBaseUrl}${TREND_VIEW_PATH}/${TREND_VIEW_LAUNCH_FILE}`;
}

/** A standalone launch against an open FHIR server (no authorization), e.g. the embedded sandbox. */
export function standaloneLaunchUrl(publicBaseUrl: string, fhirBaseUrl: string, patientId: string): string {
  const query = new URLSearchParams({ fhirServiceUrl: fhirBaseUrl, patient: patientId });
  return `${trendViewLaunchUrl(publicBaseUrl)}?${query.toString()}`;
}

/**
 * The site's rule files as the service read them at start (RULES_CONFIG, SITE_CODES; null when
 * unset): published as /app/rules.json so the app grades with the service's rules (thresholds and
 * codes only, no patient data).
 */
export interface SiteRuleFiles {
  rules: unknown;
  siteCodes: unknown;
  /** The site's own ValueSets (SITE_VALUESETS), as validated at start. */
  valueSets?: readonly unknown[];
}

export function trendViewRouter(
  dir: string,
  siteRules: SiteRuleFiles = { rules: null, siteCodes: null },
): Router {
  const router = express.Router();
  router.get('/rules.json', (_req, res) => {
    res.setHeader('Cache-Control', 'no-cache');
    const valueSets = siteRules.valueSets ?? [];
    res.json({
      rules: siteRules.rules ?? null,
      siteCodes: siteRules.siteCodes ?? null,
      ...(valueSets.length === 0 ? {} : { valueSets }),
    });
  });
  router.use(
    express.static(dir, {
      index: 'index.html',
      // Hashed asset names never change: cache them; the pages are revalidated.
      setHeaders: (res, path) => {
        res.setHeader(
          'Cache-Control',
          path.includes('/assets/') ? 'public, max-age=31536000, immutable' : 'no-cache',
        );
        res.setHeader('X-Content-Type-Options', 'nosniff');
      },
    }),
  );
  router.use((_req, _res, next) => {
    next(
      existsSync(`${dir}/index.html`)
        ? notFound('no such file in the trend view')
        : notFound('the trend view is not built: run npm run build'),
    );
  });
  return router;
}

/** The trend view alone under /app/ (the web benchmark serves it without the CDS service). */
export function trendViewOnlyApp(dir: string): express.Express {
  return express().use(TREND_VIEW_PATH, trendViewRouter(dir));
}
