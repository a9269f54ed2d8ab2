/**
 * matchConcept finds drug names through a word index built once per concept list. It must give
 * exactly what the plain definition gives: for each text, in list order, every concept one of
 * whose names containsName() finds as a whole word or phrase (each concept once).
 */
import type { CodeableConcept } from 'fhir/r4';
import { describe, expect, it } from 'vitest';
import { containsName, normaliseText } from '../../src/rules/crs-sentinel/fhir-values.js';
import { matchConcept } from '../../src/rules/crs-sentinel/medication-events.js';
import { DEFAULT_CODE_INDEX } from '../../src/rules/crs-sentinel/default-value-sets.js';
import { EMPTY_SITE_CODES } from '../../src/rules/crs-sentinel/site-codes.js';

const ALL_MEDICATION_CONCEPTS = DEFAULT_CODE_INDEX.medicationConcepts;

/** The definition: every name of every concept against every text. */
function byDefinition(texts: string[], among = ALL_MEDICATION_CONCEPTS): [string, string][] {
  const found: [string, string][] = [];
  for (const text of texts) {
    const normalised = normaliseText(text);
    for (const candidate of among) {
      if (found.some(([id]) => id === candidate.id)) continue;
      if (candidate.names.some((name) => containsName(normalised, name))) found.push([candidate.id, text]);
    }
  }
  return found;
}

function matched(concept: CodeableConcept, among = ALL_MEDICATION_CONCEPTS): [string, string][] {
  return matchConcept(concept, EMPTY_SITE_CODES, DEFAULT_CODE_INDEX, among).map((m) => [
    m.concept.id,
    m.matchedOn,
  ]);
}

/** Deterministic PRNG (mulberry32). */
function prng(seed: number): () => number {
  let a = seed;
  return () => {
    a = (a + 0x6d2b79f5) | 0;
    let t = Math.imul(a ^ (a >>> 15), 1 | a);
    t = (t + Math.imul(t ^ (t >>> 7), 61 | t)) ^ t;
    return ((t ^ (t >>> 14)) >>> 0) / 4_294_967_296;
  };
}

const NAMES = ALL_MEDICATION_CONCEPTS.flatMap((c) => c.names);
const NOISE = ['in', 'NS', '0.9%', 'mg', '250 mL', 'IV', 'drip', '(', ')', '/', '-', 'PREMIX', 'x', 'HCl'];

describe('matchConcept by name is containsName over every name', () => {
  it('on every name alone, upper-cased, and glued to another word', () => {
    for (const name of NAMES) {
      for (const text of [name, name.toUpperCase(), `${name}x`, `x${name}`, `${name}-${name}`]) {
        expect([text, matched({ text })]).toEqual([text, byDefinition([text])]);
      }
    }
  });

  it('on 5,000 texts made of names, name fragments and noise, as text and as coding displays', () => {
    const random = prng(7);
    const pick = <T>(list: readonly T[]): T => list[Math.floor(random() * list.length)] as T;
    const word = (): string => {
      const r = random();
      if (r < 0.35) return pick(NAMES);
      if (r < 0.55) return pick(pick(NAMES).split(/[\s-]+/));
      return pick(NOISE);
    };
    const phrase = (): string =>
      Array.from({ length: 1 + Math.floor(random() * 5) }, word).join(pick([' ', '', '-', ' / ']));
    for (let n = 0; n < 5000; n++) {
      const text = phrase();
      const display = phrase();
      const concept: CodeableConcept = { text, coding: [{ system: 'urn:x', code: 'c', display }] };
      expect([text, display, matched(concept)]).toEqual([text, display, byDefinition([text, display])]);
      const products = DEFAULT_CODE_INDEX.therapyConcepts;
      expect(matched({ text }, products)).toEqual(byDefinition([text], products));
    }
  });
});
