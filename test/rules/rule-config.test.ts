import { mkdtempSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';
import { loadCardTemplates } from '../../src/cards/load-card-templates.js';
import { DEFAULT_RULE_CONFIG, resolveRuleConfig } from '../../src/rules/crs-sentinel/rule-config.js';
import { parseSiteCodes } from '../../src/rules/crs-sentinel/site-codes.js';

const cardsDir = fileURLToPath(new URL('../../cards', import.meta.url));
const mimicSiteCodes: unknown = JSON.parse(
  readFileSync(fileURLToPath(new URL('../../config/site-codes/mimic-iv-demo.json', import.meta.url)), 'utf8'),
);

describe('resolveRuleConfig', () => {
  it('no overrides gives the defaults', () => {
    expect(resolveRuleConfig(undefined)).toEqual(DEFAULT_RULE_CONFIG);
    expect(resolveRuleConfig(null)).toEqual(DEFAULT_RULE_CONFIG);
  });

  it('merges nested partial overrides over the defaults', () => {
    expect(
      resolveRuleConfig({
        recentWindowHours: 12,
        thresholds: { spo2Below: 92 },
        hypotension: { confirmReadings: 3 },
      }),
    ).toEqual({
      ...DEFAULT_RULE_CONFIG,
      recentWindowHours: 12,
      thresholds: { ...DEFAULT_RULE_CONFIG.thresholds, spo2Below: 92 },
      hypotension: { ...DEFAULT_RULE_CONFIG.hypotension, confirmReadings: 3 },
    });
  });

  const bad: { name: string; overrides: unknown; message: RegExp }[] = [
    {
      name: 'unknown field',
      overrides: { recentWindowHour: 12 },
      message: /Invalid CRS rule configuration[\s\S]*recentWindowHour/,
    },
    {
      name: 'wrong type',
      overrides: { carT: { highAttentionDays: '14' } },
      message: /carT\.highAttentionDays/,
    },
    {
      name: 'out of range fever',
      overrides: { thresholds: { feverCelsius: 42 } },
      message: /thresholds\.feverCelsius/,
    },
    {
      name: 'inconsistent windows',
      overrides: { carT: { highAttentionDays: 20, extendedDays: 10 } },
      message: /extendedDays \(10\) must be >= carT\.highAttentionDays \(20\)/,
    },
  ];
  it.each(bad)('rejects $name with a clear message', ({ overrides, message }) => {
    expect(() => resolveRuleConfig(overrides)).toThrow(message);
  });

  it('loads the MIMIC site-codes file', () => {
    const config = resolveRuleConfig({}, mimicSiteCodes);
    expect(config.siteCodes.site).toBe('mimic-iv-demo');
    expect(
      config.siteCodes.medications[
        'http://mimic.mit.edu/fhir/mimic/CodeSystem/mimic-medication-formulary-drug-cd|NORE8/250N'
      ],
    ).toBe('norepinephrine');
  });

  it('rejects a site-codes mapping to an unknown concept, naming the field', () => {
    expect(() =>
      parseSiteCodes({ site: 's', medications: [{ system: 'x', code: 'y', concept: 'noradrenalin' }] }),
    ).toThrow(
      /Invalid site-codes mapping[\s\S]*unknown medication concept "noradrenalin"[\s\S]*medications\[0\]\.concept/,
    );
  });
});

describe('loadCardTemplates', () => {
  it('loads and validates the shipped templates', () => {
    const templates = loadCardTemplates(cardsDir);
    expect(Object.keys(templates.productLabels)).toContain('axicabtagene-ciloleucel');
  });

  function withTemplate(mutate: (t: Record<string, unknown>) => void): string {
    const dir = mkdtempSync(join(tmpdir(), 'crs-cards-'));
    mkdirSync(join(dir, 'crs-sentinel'));
    const crs = JSON.parse(readFileSync(join(cardsDir, 'crs-sentinel/crs-card.json'), 'utf8')) as Record<
      string,
      unknown
    >;
    mutate(crs);
    writeFileSync(join(dir, 'crs-sentinel/crs-card.json'), JSON.stringify(crs));
    writeFileSync(
      join(dir, 'crs-sentinel/product-labels.json'),
      readFileSync(join(cardsDir, 'crs-sentinel/product-labels.json')),
    );
    return dir;
  }

  it('names the file and field of an unknown placeholder', () => {
    const dir = withTemplate((t) => {
      (t.summary as Record<string, string>).therapy = 'Possible CRS grade {grade}: {agnet}';
    });
    expect(() => loadCardTemplates(dir)).toThrow(
      /crs-card\.json[\s\S]*unknown placeholder \{agnet\}[\s\S]*summary\.therapy/,
    );
  });

  it('names the file and field of a missing override reason display', () => {
    const dir = withTemplate((t) => {
      t.overrideReasons = [{ system: 'urn:x', code: 'a' }];
    });
    expect(() => loadCardTemplates(dir)).toThrow(/crs-card\.json[\s\S]*overrideReasons\[0\]\.display/);
  });

  it('names a missing directory', () => {
    expect(() => loadCardTemplates('/nonexistent-cards')).toThrow(
      /Card template \/nonexistent-cards\/crs-sentinel\/crs-card\.json cannot be read/,
    );
  });
});
