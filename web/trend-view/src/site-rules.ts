/**
 * The rules the service grades with: its defaults merged with the site's RULES_CONFIG and
 * SITE_CODES, which the service publishes next to the app (GET rules.json, src/http/trend-view-app.ts)
 * and which are resolved here by the core's own resolveRuleConfig. Without them (the app served
 * elsewhere, an old service) the defaults are used and the page says so.
 */
import { prefetchKeysFor, type PrefetchKeys } from '../../../src/cds-hooks/crs-sentinel-service.js';
import {
  DEFAULT_RULE_CONFIG,
  resolveRuleConfig,
  type CrsRuleConfig,
} from '../../../src/rules/crs-sentinel/rule-config.js';

export interface SiteRules {
  rules: CrsRuleConfig;
  keys: PrefetchKeys;
  source: 'site' | 'default';
}

export async function loadSiteRules(): Promise<SiteRules> {
  const fallback = (): SiteRules => ({
    rules: DEFAULT_RULE_CONFIG,
    keys: prefetchKeysFor(DEFAULT_RULE_CONFIG.siteCodes),
    source: 'default',
  });
  try {
    const response = await fetch(new URL('rules.json', window.location.href), {
      headers: { accept: 'application/json' },
    });
    if (!response.ok) return fallback();
    const body = (await response.json()) as { rules?: unknown; siteCodes?: unknown };
    const rules = resolveRuleConfig(body.rules ?? undefined, body.siteCodes ?? undefined);
    return { rules, keys: prefetchKeysFor(rules.siteCodes), source: 'site' };
  } catch {
    return fallback();
  }
}
