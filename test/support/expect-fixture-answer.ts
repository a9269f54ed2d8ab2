/**
 * The expected answer of a fixture patient (from fixtures/crs-sentinel/manifest.json) checked
 * against the cards the service or engine gave: card kind, grade, context and indicator are read
 * from the card's machine-readable extension; the tocilizumab draft from its suggestions.
 */
import { expect } from 'vitest';
import type { MedicationRequest } from 'fhir/r4';
import type { CdsCard } from '../../src/cds-hooks/cds-hooks-types.js';
import type { LoadedFixture } from '../../src/fixtures/fixture-manifest.js';
import {
  ASSESSMENT_EXTENSION as ASSESSMENT,
  DATA_GAP_EXTENSION as DATA_GAP,
} from '../../src/rules/crs-sentinel/render-crs-cards.js';

const CARD_KIND = { crs: 'crs', afebrile: 'afebrile-physiology', sepsis: 'sepsis-circulation' } as const;

/** The tocilizumab draft's dose in mg, or null when the card offers none. */
export function tocilizumabDraftMg(card: CdsCard): number | null {
  for (const s of card.suggestions ?? []) {
    for (const action of s.actions ?? []) {
      const r = action.resource as MedicationRequest | undefined;
      if (r?.resourceType === 'MedicationRequest' && r.medicationCodeableConcept?.text === 'tocilizumab')
        return r.dosageInstruction?.[0]?.doseAndRate?.[0]?.doseQuantity?.value ?? null;
    }
  }
  return null;
}

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
      const gap = card.extension?.[DATA_GAP] as { context?: string[]; missing?: string } | undefined;
      expect([...(gap?.context ?? [])].sort()).toEqual([...expected.context].sort());
      if (expected.missing !== undefined) expect(gap?.missing).toBe(expected.missing);
      expect(tocilizumabDraftMg(card)).toBeNull();
      return;
    }
    case 'crs':
    case 'afebrile':
    case 'sepsis': {
      expect(cards).toHaveLength(1);
      const card = cards[0]!;
      const assessment = card.extension?.[ASSESSMENT] as {
        cardKind?: unknown;
        grade?: unknown;
        scale?: unknown;
        context?: string[];
      };
      expect({
        cardKind: assessment.cardKind,
        grade: assessment.grade,
        context: [...(assessment.context ?? [])].sort(),
        indicator: card.indicator,
      }).toEqual({
        cardKind: CARD_KIND[expected.card],
        grade: expected.card === 'crs' ? expected.grade : 'none',
        context: [...expected.context].sort(),
        indicator: expected.indicator,
      });
      if (expected.card === 'crs') {
        expect(card.summary).toContain(`grade ${String(expected.grade)}`);
        if (expected.tocilizumabDoseMg !== undefined)
          expect(tocilizumabDraftMg(card)).toBe(expected.tocilizumabDoseMg);
      } else {
        // Only a CRS card may carry a tocilizumab draft or CRS treatment advice.
        expect(tocilizumabDraftMg(card)).toBeNull();
        expect(card.summary).not.toMatch(/grade \d/);
        // No CRS treatment advice (the card may still name premedication that was given).
        expect(card.detail ?? '').not.toMatch(/Tocilizumab \d|Dexamethasone 10 mg IV|Methylprednisolone 1 g/);
      }
      return;
    }
  }
}
