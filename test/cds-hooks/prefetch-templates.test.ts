/**
 * The prefetch templates of a site's code mapping (prefetchKeysFor): a site's observation and
 * therapy codes, and the standard codes under the local systems the site aliases to a standard
 * one, are asked for; escaping survives a round trip through FHIR search parsing.
 */
import { describe, expect, it } from 'vitest';
import {
  parseSearchTokens,
  PREFETCH_KEYS,
  prefetchKeysFor,
} from '../../src/cds-hooks/crs-sentinel-service.js';
import { DEFAULT_CODE_INDEX } from '../../src/rules/crs-sentinel/default-value-sets.js';
import { EMPTY_SITE_CODES, parseSiteCodes } from '../../src/rules/crs-sentinel/site-codes.js';

const codesOf = (template: string) =>
  parseSearchTokens(new URLSearchParams(template.split('?')[1]).get('code') ?? '');

const site = parseSiteCodes({
  site: 'test',
  systemAliases: { 'urn:local:loinc-copy': 'http://loinc.org' },
  observations: [
    { system: 'urn:local:vitals', code: 'TEMP', kind: 'temperature' },
    { system: 'urn:local:vitals', code: 'WT', kind: 'body-weight' },
    { system: 'urn:local:labs', code: 'IL6 $,\\', kind: 'il-6' },
  ],
  medications: [
    { system: 'urn:local:formulary', code: 'YESC', concept: 'axicabtagene-ciloleucel' },
    { system: 'urn:local:formulary', code: 'NORE', concept: 'norepinephrine' },
  ],
});

describe('prefetchKeysFor', () => {
  const keys = prefetchKeysFor({ siteCodes: site, codes: DEFAULT_CODE_INDEX });

  it('is the built-in templates for no mapping, and built once per mapping', () => {
    expect(prefetchKeysFor({ siteCodes: EMPTY_SITE_CODES, codes: DEFAULT_CODE_INDEX })).toBe(PREFETCH_KEYS);
    expect(prefetchKeysFor({ siteCodes: site, codes: DEFAULT_CODE_INDEX })).toBe(keys);
  });

  it('puts each site observation code in the search of its kind', () => {
    expect(codesOf(keys.vitals.template)).toContainEqual({ system: 'urn:local:vitals', code: 'TEMP' });
    expect(codesOf(keys.bodyWeight.template)).toContainEqual({ system: 'urn:local:vitals', code: 'WT' });
    expect(codesOf(keys.labs.template)).toContainEqual({ system: 'urn:local:labs', code: 'IL6 $,\\' });
    expect(codesOf(keys.vitals.template)).not.toContainEqual({ system: 'urn:local:vitals', code: 'WT' });
  });

  it('asks for standard codes under a local system the site aliases to the standard one', () => {
    expect(codesOf(keys.vitals.template)).toContainEqual({ system: 'urn:local:loinc-copy', code: '8310-5' });
    expect(codesOf(keys.labs.template)).toContainEqual({ system: 'urn:local:loinc-copy', code: '26881-3' });
    expect(codesOf(PREFETCH_KEYS.vitals.template)).not.toContainEqual({
      system: 'urn:local:loinc-copy',
      code: '8310-5',
    });
  });

  it('searches the therapy doses by the site codes mapped to a therapy agent only', () => {
    const therapy = codesOf(keys.therapyAdministrations.template);
    expect(therapy).toContainEqual({ system: 'urn:local:formulary', code: 'YESC' });
    expect(therapy).not.toContainEqual({ system: 'urn:local:formulary', code: 'NORE' });
  });

  it('keeps templates a URL: no raw space, comma or bar inside a code', () => {
    for (const { template } of Object.values(keys)) {
      expect(template.replaceAll('{{context.patientId}}', 'p')).not.toMatch(/[\s"<>{}\\]/u);
    }
    expect(keys.labs.template).toContain('urn:local:labs|IL6%20%5C%24%5C%2C%5C%5C');
  });
});
