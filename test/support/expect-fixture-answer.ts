/**
 * The expected answer of a fixture patient (from fixtures/crs-sentinel/manifest.json) checked
 * against the cards the service or engine gave: grade, context and indicator are read from the
 * card's machine-readable extension.
 */
import { expect } from 'vitest';
import type { CdsCard } from '../../src/cds-hooks/cds-hooks-types.js';
import type { LoadedFixture } from '../../src/fixtures/fixture-manifest.js';
import {
  ASSESSMENT_EXTENSION as ASSESSMENT,
  DATA_GAP_EXTENSION as DATA_GAP,
} from '../../src/rules/crs-sentinel/render-crs-cards.js';

export function expectAnswer(fixture: Pick<LoadedFixture, 'expected'>, cards: CdsCard[]): void {
  const expected = fixture.expected;
  switch (expected.card) {
    case 'none':
      expect(cards).toEqual([]);
      return;
    case 'data-gap': {
      expect(cards).toHaveLength(1);
      const card = cards[0]!;
      expect(card.indicator).toBe(expected.indicator);
      expect(card.extension?.[ASSESSMENT]).toBeUndefined();
      const gap = card.extension?.[DATA_GAP] as { context?: string[] } | undefined;
      expect([...(gap?.context ?? [])].sort()).toEqual([...expected.context].sort());
      return;
    }
    case 'crs': {
      expect(cards).toHaveLength(1);
      const card = cards[0]!;
      const assessment = card.extension?.[ASSESSMENT] as {
        grade?: unknown;
        scale?: unknown;
        context?: string[];
      };
      expect({
        grade: assessment.grade,
        scale: assessment.scale,
        context: [...(assessment.context ?? [])].sort(),
        indicator: card.indicator,
      }).toEqual({
        grade: expected.grade,
        scale: 'ASTCT-2019',
        context: [...expected.context].sort(),
        indicator: expected.indicator,
      });
      expect(card.summary).toContain(`grade ${String(expected.grade)}`);
      return;
    }
  }
}
