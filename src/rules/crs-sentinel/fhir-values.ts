/** Small readers for FHIR values as real systems send them (pure). */
import type { CodeableConcept, Coding, Period } from 'fhir/r4';
import { formatIsoMs, parseIsoMs } from './iso-time.js';
import { DEFAULT_SYSTEM_ALIASES } from './rule-tables.js';
import type { SiteCodes } from './site-codes.js';

export const HOUR_MS = 3_600_000;
export const DAY_MS = 24 * HOUR_MS;

/** A coding's system mapped to the standard URL (site aliases first, then built-in aliases). */
export function canonicalSystem(system: string | undefined, siteCodes: SiteCodes): string | undefined {
  if (system === undefined) return undefined;
  return systemAliasesOf(siteCodes).get(system) ?? system;
}

// Built-in and site aliases merged once per site mapping: every coding read looks its system up,
// and one Map look-up costs half of two object look-ups.
const mergedAliases = new WeakMap<SiteCodes, ReadonlyMap<string, string>>();

function systemAliasesOf(siteCodes: SiteCodes): ReadonlyMap<string, string> {
  let merged = mergedAliases.get(siteCodes);
  if (!merged) {
    merged = new Map([...Object.entries(DEFAULT_SYSTEM_ALIASES), ...Object.entries(siteCodes.systemAliases)]);
    mergedAliases.set(siteCodes, merged);
  }
  return merged;
}

export function codingsOf(concept: CodeableConcept | undefined): Coding[] {
  return concept?.coding ?? [];
}

/** True when any coding has this system (after aliasing) and one of these codes. */
export function hasCoding(
  concept: CodeableConcept | undefined,
  system: string,
  codes: readonly string[],
  siteCodes: SiteCodes,
): Coding | undefined {
  return codingsOf(concept).find(
    (c) => c.code !== undefined && canonicalSystem(c.system, siteCodes) === system && codes.includes(c.code),
  );
}

/** Milliseconds since epoch of a FHIR date/dateTime/instant, or undefined when absent or unparseable. */
export function parseFhirTime(value: string | undefined): number | undefined {
  if (value === undefined) return undefined;
  const ms = parseIsoMs(value);
  return Number.isNaN(ms) ? undefined : ms;
}

/** Epoch ms of a time the engine wrote itself (isoTime), e.g. Reading.time. */
export function timeMs(iso: string): number {
  return parseIsoMs(iso);
}

export function isoTime(ms: number): string {
  return formatIsoMs(ms);
}

/** Start and end of a period in ms (end open = undefined). */
export function periodBounds(period: Period | undefined): { start?: number; end?: number } {
  const start = parseFhirTime(period?.start);
  const end = parseFhirTime(period?.end);
  return { ...(start !== undefined && { start }), ...(end !== undefined && { end }) };
}

/** Lower-cased text for whole-word name matching: displays, text, and name-system codes. */
export function normaliseText(text: string): string {
  return text
    .toLowerCase()
    .replace(/[^a-z0-9]+/g, ' ')
    .trim();
}

/** Whole-word (or whole-phrase) match of a name inside normalised text. */
export function containsName(normalisedText: string, name: string): boolean {
  const needle = normaliseText(name);
  if (needle === '') return false;
  return ` ${normalisedText} `.includes(` ${needle} `);
}

/** Rounds for display: temperatures and flows to one decimal, the rest to whole numbers. */
export function roundTo(value: number, decimals: number): number {
  const f = 10 ** decimals;
  return Math.round(value * f) / f;
}

/** Last path segment of a reference ("Medication/abc" -> "abc", "#m1" -> "m1"). */
export function referenceId(reference: string | undefined): string | undefined {
  if (reference === undefined) return undefined;
  if (reference.startsWith('#')) return reference.slice(1);
  const parts = reference.split('/');
  return parts[parts.length - 1];
}
