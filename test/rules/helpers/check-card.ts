/** Checks a card against the CDS Hooks 2.0 card rules this project promises (test helper). */
import { expect } from 'vitest';
import type { CdsCard, CdsLink } from '../../../src/cds-hooks/cds-hooks-types.js';

function assertNoEmpty(value: unknown, path: string): void {
  expect(value, `${path} must not be null`).not.toBeNull();
  if (typeof value === 'string') expect(value, `${path} must not be empty`).not.toBe('');
  if (Array.isArray(value)) {
    expect(value.length, `${path} must not be an empty array`).toBeGreaterThan(0);
    value.forEach((v, i) => {
      assertNoEmpty(v, `${path}[${i}]`);
    });
  } else if (typeof value === 'object' && value !== null) {
    expect(Object.keys(value).length, `${path} must not be an empty object`).toBeGreaterThan(0);
    for (const [k, v] of Object.entries(value)) {
      expect(v, `${path}.${k} must not be undefined`).not.toBeUndefined();
      assertNoEmpty(v, `${path}.${k}`);
    }
  }
}

/**
 * A SMART link (CDS Hooks 2.0): the app's launch URL, http(s) without credentials or fragment
 * (plain http only for a loopback service in tests and the demo), and appContext, when present,
 * as the JSON object the trend view reads (an ISO index time and the agent).
 */
export function checkSmartLink(link: CdsLink): void {
  const url = new URL(link.url);
  expect(url.pathname).toMatch(/\/app\/launch\.html$/);
  expect(url.username + url.password + url.hash).toBe('');
  if (url.protocol !== 'https:') expect(['127.0.0.1', 'localhost', '[::1]']).toContain(url.hostname);
  if (link.appContext !== undefined) {
    const context = JSON.parse(link.appContext) as { indexTime?: unknown; agent?: unknown };
    expect(typeof context.indexTime).toBe('string');
    expect(Number.isNaN(Date.parse(String(context.indexTime)))).toBe(false);
    expect(typeof context.agent).toBe('string');
  }
}

export function checkCard(card: CdsCard): void {
  assertNoEmpty(card, 'card');
  expect(card.summary.length).toBeLessThan(140);
  expect(['info', 'warning', 'critical']).toContain(card.indicator);
  expect(card.source.label).not.toBe('');
  expect(card.uuid).toMatch(/./);
  for (const link of card.links ?? []) {
    if (link.type === 'smart') checkSmartLink(link);
    else {
      expect(link.type).toBe('absolute');
      expect(link.url).toMatch(/^https:\/\//);
    }
  }
  for (const reason of card.overrideReasons ?? []) expect(reason.display).toMatch(/./);
  if (card.suggestions) {
    expect(card.selectionBehavior).toBe('any');
    for (const s of card.suggestions) {
      expect(s.uuid).toMatch(/./);
      expect(s.isRecommended).toBe(false);
      for (const action of s.actions ?? []) {
        expect(action.type).toBe('create');
        expect(action.resource).toMatchObject({ status: 'draft', intent: 'proposal' });
      }
    }
  }
  const assessment = card.extension?.['org.crs-sentinel.assessment'] as Record<string, unknown> | undefined;
  if (card.indicator !== 'info') {
    expect(assessment).toBeDefined();
    if (assessment?.cardKind === 'crs') expect([1, 2, 3, 4]).toContain(assessment.grade);
    else expect(assessment?.grade).toBe('none');
    expect(assessment?.scale).toBe('ASTCT-2019');
    expect((assessment?.context as unknown[]).length).toBeGreaterThan(0);
  }
  // Plain text outside tables: no Markdown escapes; sentences and list items start with a capital.
  const prose = (card.detail ?? '')
    .split('\n')
    .filter((line) => !line.startsWith('|'))
    .join('\n');
  expect(prose).not.toContain('\\|');
  for (const line of prose.split('\n').filter((l) => l.startsWith('- ')))
    expect(line.charAt(2)).toMatch(/[A-Z0-9*"]/);
  // A tocilizumab draft only on a CRS card from grade 2 (never for an afebrile or sepsis card).
  const draft = (card.suggestions ?? []).some((s) =>
    (s.actions ?? []).some(
      (a) => (a.resource as { resourceType?: string } | undefined)?.resourceType === 'MedicationRequest',
    ),
  );
  if (draft) {
    expect(assessment?.cardKind).toBe('crs');
    expect(assessment?.grade).toBeGreaterThanOrEqual(2);
  }
}
