/**
 * The rules the service grades with: its defaults merged with the site's RULES_CONFIG and
 * SITE_CODES, and its code lists extended by the site's ValueSets (SITE_VALUESETS), which the
 * service publishes next to the app (GET rules.json, src/http/trend-view-app.ts) and which are
 * resolved here by the core's own resolveRuleConfig and buildCodeIndex. Without them (the app served
 * elsewhere, an old service) the defaults are used and the page says so.
 */
import { prefetchKeysFor, type PrefetchKeys } from '../../../src/cds-hooks/crs-sentinel-service.js';
import { buildCodeIndex } from '../../../src/rules/crs-sentinel/code-index.js';
import { BUILT_IN_VALUE_SETS } from '../../../src/rules/crs-sentinel/default-value-sets.js';
import { parseValueSet } from '../../../src/rules/crs-sentinel/value-set.js';
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
    keys: prefetchKeysFor(DEFAULT_RULE_CONFIG),
    source: 'default',
  });
  try {
    const response = await fetch(new URL('rules.json', window.location.href), {
      headers: { accept: 'application/json' },
    });
    if (!response.ok) return fallback();
    const body = (await response.json()) as { rules?: unknown; siteCodes?: unknown; valueSets?: unknown };
    const resolved = resolveRuleConfig(body.rules ?? undefined, body.siteCodes ?? undefined);
    const site = Array.isArray(body.valueSets) ? body.valueSets.map(parseValueSet) : [];
    const rules: CrsRuleConfig =
      site.length === 0
        ? resolved
        : { ...resolved, codes: buildCodeIndex([...BUILT_IN_VALUE_SETS, ...site]) };
    return { rules, keys: prefetchKeysFor(rules), source: 'site' };
  } catch {
    return fallback();
  }
}
