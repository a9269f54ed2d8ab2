/**
 * MedicationAdministrations and Procedures to recognised medication events. A drug is recognised
 * by, in order: the site's local code mapping, RxNorm (system AND code), then its generic or brand
 * name as a whole word in a coding display, the concept text, or a code of a site "name system".
 * medicationReference is followed to a contained or bundled Medication, its identifiers and one
 * level of ingredients (MIMIC mixes: "norepinephrine in saline").
 * Only administrations that happened (completed, in-progress) become events.
 */
import type { CodeableConcept, Medication, MedicationAdministration, Period, Procedure } from 'fhir/r4';
import {
  canonicalSystem,
  codingsOf,
  isoTime,
  normaliseText,
  parseFhirTime,
  referenceId,
  timeMs,
} from './fhir-values.js';
import type { PatientData } from './patient-data.js';
import type { CodeIndex } from './code-index.js';
import {
  ENTERAL_ROUTE_WORDS,
  GIVEN_STATUSES,
  INFUSION_WORDS,
  IV_ROUTE_WORDS,
  LOCAL_ANAESTHETIC_NAMES,
  LOCAL_ROUTE_WORDS,
  PUSH_WORDS,
  SURFACE_ROUTE_WORDS,
  SYSTEM,
  type MedicationClass,
  type MedicationConcept,
} from './rule-tables.js';
import { codeKey, type SiteCodes } from './site-codes.js';

export type MatchedBy = 'site-code' | 'rxnorm' | 'name' | 'procedure-code';

export interface MedicationEvent {
  conceptId: string;
  name: string;
  medicationClass: MedicationClass;
  /** Dose time, or infusion start. */
  start: string;
  /** Infusion end; equal to start for a single dose; absent while an infusion runs open-ended. */
  end?: string;
  status: 'completed' | 'in-progress' | 'stopped';
  /**
   * How it was given, from dosage.route, the dosage and product texts: `iv`; `enteral` (oral,
   * tube); `local` (IM, SC, nasal, eye, topical, inhaled, ...); `unknown` when nothing says.
   */
  route: 'iv' | 'enteral' | 'local' | 'unknown';
  /** Given as an infusion (a period, a rate, in progress, or said so), not a single dose. */
  infusion: boolean;
  /**
   * Given on a surface (skin, eye, ear, nose, airways): acts where applied, not on the whole body
   * (dexamethasone eye drops, hydrocortisone cream). Absent when systemic or unknown.
   */
  surfaceOnly?: true;
  matchedBy: MatchedBy;
  /** What matched: "system|code" or the matched text. */
  matchedOn: string;
  resourceType: 'MedicationAdministration' | 'Procedure';
  resourceId?: string;
}

interface ConceptMatch {
  concept: MedicationConcept;
  matchedBy: MatchedBy;
  matchedOn: string;
}

/**
 * Recognised events, sorted by start; administrations dated after `now` are left out. The agents,
 * their codes and names, and the route codes come from the code lists (`codes`).
 */
export function medicationEvents(
  data: PatientData,
  now: Date,
  siteCodes: SiteCodes,
  codes: CodeIndex,
): MedicationEvent[] {
  const nowMs = now.getTime();
  const events: MedicationEvent[] = [];
  // A chart gives the same few drugs again and again: match each distinct concept once.
  const matches = newConceptMemo();
  for (const ma of data.medicationAdministrations) {
    if (!GIVEN_STATUSES.includes(ma.status)) continue;
    const timing = timingOf(ma.effectiveDateTime, ma.effectivePeriod, ma.status);
    if (!timing || timing.start > nowMs) continue;
    const found = identifyAdministration(ma, data.medications, siteCodes, codes, matches);
    if (!found.length) continue;
    const words = administrationWords(ma, found, data.medications);
    const route = routeOf(ma, words, codes);
    const surface = actsOnSurfaceOnly(ma, words, codes);
    const infusion = isInfusion(ma, timing, words, found, siteCodes);
    const withAnaesthetic = LOCAL_ANAESTHETIC_NAMES.some((n) => words.has(n));
    for (const match of found) {
      // "Lidocaine with epinephrine" is a local anaesthetic, never a vasopressor dose.
      if (match.concept.medicationClass === 'vasopressor' && withAnaesthetic) continue;
      const event = toEvent(
        match,
        timing,
        ma.status as MedicationEvent['status'],
        'MedicationAdministration',
        ma.id,
      );
      event.route = route;
      event.infusion = infusion;
      if (surface) event.surfaceOnly = true;
      events.push(event);
    }
  }
  for (const procedure of data.procedures) {
    if (!GIVEN_STATUSES.includes(procedure.status)) continue;
    const timing = timingOf(procedure.performedDateTime, procedure.performedPeriod, procedure.status);
    if (!timing || timing.start > nowMs) continue;
    const match = identifyProcedure(procedure, siteCodes, codes);
    if (match)
      events.push(
        toEvent(match, timing, procedure.status as MedicationEvent['status'], 'Procedure', procedure.id),
      );
  }
  // `start` is always isoTime's fixed UTC form, so string order is time order (no collation needed).
  return events.sort((a, b) =>
    a.start < b.start ? -1 : a.start > b.start ? 1 : a.conceptId.localeCompare(b.conceptId),
  );
}

function toEvent(
  match: ConceptMatch,
  timing: Timing,
  status: MedicationEvent['status'],
  resourceType: MedicationEvent['resourceType'],
  resourceId: string | undefined,
): MedicationEvent {
  // A literal, optional fields assigned after: spreads in a literal take V8's slow path.
  const event: MedicationEvent = {
    conceptId: match.concept.id,
    name: match.concept.name,
    medicationClass: match.concept.medicationClass,
    start: isoTime(timing.start),
    status,
    matchedBy: match.matchedBy,
    matchedOn: match.matchedOn,
    resourceType,
    route: 'unknown',
    infusion: false,
  };
  if (timing.end !== undefined) event.end = isoTime(timing.end);
  if (resourceId !== undefined) event.resourceId = resourceId;
  return event;
}

type Timing = { start: number; end?: number };

/**
 * A single time (start = end), else a period's start and end, else its end alone (start = end).
 * A single time on a record still in progress is when it started: it has no end yet (a
 * blinatumomab bag charted with its start as effectiveDateTime is still running).
 */
function timingOf(
  single: string | undefined,
  period: Period | undefined,
  status: string,
): Timing | undefined {
  const at = parseFhirTime(single);
  if (at !== undefined) return status === 'in-progress' ? { start: at } : { start: at, end: at };
  const start = parseFhirTime(period?.start);
  const end = parseFhirTime(period?.end);
  if (start !== undefined) return end !== undefined ? { start, end } : { start };
  return end !== undefined ? { start: end, end } : undefined;
}

/**
 * The normalised words and two-word phrases an administration says about itself: dosage text,
 * route, method, site and category texts, and the matched product texts (names like "Vancomycin
 * Oral Liquid" or "Phenylephrine nasal spray" carry the route).
 */
function administrationWords(
  ma: MedicationAdministration,
  found: readonly ConceptMatch[],
  bundled: readonly Medication[],
): Set<string> {
  const dosage = ma.dosage;
  const reference = ma.medicationReference?.reference;
  const medication = reference === undefined ? undefined : resolveMedication(reference, ma, bundled);
  const texts = [
    dosage?.text,
    conceptWords(dosage?.route),
    conceptWords(dosage?.method),
    conceptWords(dosage?.site),
    conceptWords(ma.category),
    conceptWords(ma.medicationCodeableConcept),
    ma.medicationReference?.display,
    conceptWords(medication?.code),
    conceptWords(medication?.form),
    ...found.map((f) => (f.matchedBy === 'name' ? f.matchedOn : undefined)),
  ];
  const words = new Set<string>();
  for (const text of texts) {
    if (text === undefined || text === '') continue;
    const parts = normaliseText(text).split(' ');
    parts.forEach((w, i) => {
      words.add(w);
      if (i + 1 < parts.length) words.add(`${w} ${parts[i + 1] ?? ''}`);
      if (i + 2 < parts.length) words.add(`${w} ${parts[i + 1] ?? ''} ${parts[i + 2] ?? ''}`);
    });
  }
  return words;
}

function conceptWords(concept: CodeableConcept | undefined): string | undefined {
  if (!concept) return undefined;
  const parts = [concept.text, ...codingsOf(concept).flatMap((c) => [c.display, c.code])];
  return parts.filter((p): p is string => typeof p === 'string').join(' ');
}

/** The route class: a coded route first, then route words in the texts. */
function routeOf(
  ma: MedicationAdministration,
  words: ReadonlySet<string>,
  codes: CodeIndex,
): MedicationEvent['route'] {
  for (const c of codingsOf(ma.dosage?.route)) {
    if (c.system === undefined || c.code === undefined) continue;
    const route = codes.route(c.system, c.code);
    if (route) return route;
  }
  if (LOCAL_ROUTE_WORDS.some((w) => words.has(w))) return 'local';
  if (ENTERAL_ROUTE_WORDS.some((w) => words.has(w))) return 'enteral';
  if (IV_ROUTE_WORDS.some((w) => words.has(w))) return 'iv';
  return 'unknown';
}

/**
 * A dose that acts where applied (skin, eye, ear, nose, airways): a coded route decides (any route
 * the lists know: IV, enteral, IM, SC and rectal are systemic); without one, surface words in the
 * dosage or product text, unless they also say oral or IV.
 */
function actsOnSurfaceOnly(
  ma: MedicationAdministration,
  words: ReadonlySet<string>,
  codes: CodeIndex,
): boolean {
  for (const c of codingsOf(ma.dosage?.route)) {
    if (c.system === undefined || c.code === undefined) continue;
    if (codes.has('surface-routes', c.system, c.code)) return true;
    if (codes.route(c.system, c.code) !== undefined) return false;
  }
  const systemic = [...ENTERAL_ROUTE_WORDS, ...IV_ROUTE_WORDS].some((w) => words.has(w));
  return !systemic && SURFACE_ROUTE_WORDS.some((w) => words.has(w));
}

/**
 * An infusion, not a single dose: a period of some length or still open, a rate, status
 * in-progress, infusion words, or a site code mapped as an infusion. [DESIGN] a single time point
 * without any of these is a single (push) dose, and so is a dose said to be pushed (PUSH_WORDS)
 * without a rate, whatever its period.
 */
function isInfusion(
  ma: MedicationAdministration,
  timing: Timing,
  words: ReadonlySet<string>,
  found: readonly ConceptMatch[],
  siteCodes: SiteCodes,
): boolean {
  if (ma.status === 'in-progress') return true;
  const rate = ma.dosage?.rateQuantity !== undefined || ma.dosage?.rateRatio !== undefined;
  // "IV push" charted with a one-minute period is still a single dose.
  if (!rate && PUSH_WORDS.some((w) => words.has(w))) return false;
  if (ma.effectivePeriod !== undefined && (timing.end === undefined || timing.end > timing.start))
    return true;
  if (rate) return true;
  if (INFUSION_WORDS.some((w) => words.has(w))) return true;
  return found.some((f) => f.matchedBy === 'site-code' && siteCodes.infusions.includes(f.matchedOn));
}

/** Every concept an administration gives (a mix can carry two), each once. */
export function identifyAdministration(
  ma: MedicationAdministration,
  bundled: readonly Medication[],
  siteCodes: SiteCodes,
  codes: CodeIndex,
  memo: ConceptMemo = newConceptMemo(),
): readonly ConceptMatch[] {
  const concepts: CodeableConcept[] = [];
  if (ma.medicationCodeableConcept) concepts.push(ma.medicationCodeableConcept);
  const reference = ma.medicationReference?.reference;
  if (reference !== undefined) {
    const medication = resolveMedication(reference, ma, bundled);
    if (medication) concepts.push(...medicationConcepts(medication, ma, bundled, 1));
    else if (ma.medicationReference?.display) concepts.push({ text: ma.medicationReference.display });
  }
  // One concept (the usual case): its matches are already one per concept id.
  if (concepts.length === 1) return memoisedMatch(concepts[0] as CodeableConcept, siteCodes, codes, memo);
  const matches = concepts.flatMap((c) => memoisedMatch(c, siteCodes, codes, memo));
  const seen = new Set<string>();
  return matches.filter((m) => !seen.has(m.concept.id) && seen.add(m.concept.id));
}

function resolveMedication(
  reference: string,
  ma: MedicationAdministration,
  bundled: readonly Medication[],
): Medication | undefined {
  const id = referenceId(reference);
  if (reference.startsWith('#')) {
    return ma.contained?.find((r): r is Medication => r.resourceType === 'Medication' && r.id === id);
  }
  return bundled.find((m) => m.id === id);
}

function medicationConcepts(
  medication: Medication,
  ma: MedicationAdministration,
  bundled: readonly Medication[],
  depth: number,
): CodeableConcept[] {
  const concepts: CodeableConcept[] = [];
  if (medication.code) concepts.push(medication.code);
  // MIMIC puts the formulary code and drug name in Medication.identifier.
  const identifierCodings = (medication.identifier ?? [])
    .filter((i) => i.system !== undefined && i.value !== undefined)
    .map((i) => ({ system: i.system as string, code: i.value as string }));
  if (identifierCodings.length) concepts.push({ coding: identifierCodings });
  for (const ingredient of medication.ingredient ?? []) {
    if (ingredient.itemCodeableConcept) concepts.push(ingredient.itemCodeableConcept);
    const ref = ingredient.itemReference?.reference;
    if (ref !== undefined && depth > 0) {
      const item = resolveMedication(ref, ma, bundled);
      if (item) concepts.push(...medicationConcepts(item, ma, bundled, depth - 1));
    }
  }
  return concepts;
}

/**
 * matchConcept results of one call, in a trie over everything matchConcept reads of a concept: its
 * text, then each coding's system, code and display. No key string is built: joining them cost
 * more than the match itself (a long string to allocate, copy and hash per administration).
 * Results are only read, never changed.
 */
interface ConceptMemo {
  next: Map<string | undefined, ConceptMemo>;
  found?: readonly ConceptMatch[];
}

function newConceptMemo(): ConceptMemo {
  return { next: new Map() };
}

function memoisedMatch(
  concept: CodeableConcept,
  siteCodes: SiteCodes,
  codes: CodeIndex,
  memo: ConceptMemo,
): readonly ConceptMatch[] {
  let node = memoStep(memo, concept.text);
  for (const c of codingsOf(concept)) {
    node = memoStep(memoStep(memoStep(node, c.system), c.code), c.display);
  }
  node.found ??= matchConcept(concept, siteCodes, codes);
  return node.found;
}

function memoStep(node: ConceptMemo, value: string | undefined): ConceptMemo {
  let child = node.next.get(value);
  if (!child) {
    child = newConceptMemo();
    node.next.set(value, child);
  }
  return child;
}

/** Site code, then RxNorm, then names; all concepts found in one CodeableConcept. */
export function matchConcept(
  concept: CodeableConcept,
  siteCodes: SiteCodes,
  codes: CodeIndex,
  among = codes.medicationConcepts,
): ConceptMatch[] {
  for (const coding of codingsOf(concept)) {
    const system = canonicalSystem(coding.system, siteCodes);
    if (system === undefined || coding.code === undefined) continue;
    const key = codeKey(system, coding.code);
    const siteConcept = codes.medicationConcept(siteCodes.medications[key] ?? '');
    if (siteConcept && among.includes(siteConcept))
      return [{ concept: siteConcept, matchedBy: 'site-code', matchedOn: key }];
    const code = coding.code;
    if (system === SYSTEM.rxnorm) {
      const rx = among.find((c) => c.rxnorm.includes(code));
      if (rx) return [{ concept: rx, matchedBy: 'rxnorm', matchedOn: key }];
    }
    // HCPCS Q-codes and procedure codes also name cellular products on administrations.
    const coded = among.find((c) =>
      (c.procedureCodes ?? []).some((p) => p.system === system && p.code === code),
    );
    if (coded) return [{ concept: coded, matchedBy: 'procedure-code', matchedOn: key }];
  }
  const texts = [
    concept.text,
    ...codingsOf(concept).map((c) => c.display),
    ...codingsOf(concept)
      .filter((c) => c.system !== undefined && siteCodes.nameSystems.includes(c.system))
      .map((c) => c.code),
  ].filter((t): t is string => t !== undefined && t.trim() !== '');
  const found: ConceptMatch[] = [];
  const index = nameIndex(among);
  for (const text of texts) {
    const named = conceptsNamedIn(normaliseText(text).split(' '), index);
    among.forEach((candidate, i) => {
      if (!named.has(i) || found.some((f) => f.concept.id === candidate.id)) return;
      found.push({ concept: candidate, matchedBy: 'name', matchedOn: text });
    });
  }
  return found;
}

/** Each name's normalised words, under its first word, with its concept's position in the list. */
type NameIndex = ReadonlyMap<string, readonly { words: readonly string[]; concept: number }[]>;

const nameIndexes = new WeakMap<readonly MedicationConcept[], NameIndex>();

/**
 * Built once per concept list (the built-in tables: once per process), so a text costs a look-up
 * per word instead of normalising and searching for each of about 110 names.
 */
function nameIndex(among: readonly MedicationConcept[]): NameIndex {
  const cached = nameIndexes.get(among);
  if (cached) return cached;
  const index = new Map<string, { words: string[]; concept: number }[]>();
  among.forEach((concept, i) => {
    for (const name of concept.names) {
      const normalised = normaliseText(name);
      if (normalised === '') continue;
      const words = normalised.split(' ');
      const first = words[0] as string;
      index.set(first, [...(index.get(first) ?? []), { words, concept: i }]);
    }
  });
  nameIndexes.set(among, index);
  return index;
}

/**
 * Positions of the concepts one of whose names is a whole-word phrase of the text: normalised
 * text is words joined by single spaces, so this is containsName for every name at once.
 */
function conceptsNamedIn(words: readonly string[], index: NameIndex): Set<number> {
  const named = new Set<number>();
  words.forEach((word, at) => {
    for (const name of index.get(word) ?? []) {
      if (name.words.every((w, k) => words[at + k] === w)) named.add(name.concept);
    }
  });
  return named;
}

function identifyProcedure(
  procedure: Procedure,
  siteCodes: SiteCodes,
  codes: CodeIndex,
): ConceptMatch | undefined {
  for (const coding of codingsOf(procedure.code)) {
    const system = canonicalSystem(coding.system, siteCodes);
    if (system === undefined || coding.code === undefined) continue;
    const code = coding.code;
    const product = codes.therapyConcepts.find((c) =>
      (c.procedureCodes ?? []).some((p) => p.system === system && p.code === code),
    );
    if (product) return { concept: product, matchedBy: 'procedure-code', matchedOn: codeKey(system, code) };
  }
  if (!procedure.code) return undefined;
  return matchConcept(procedure.code, siteCodes, codes, codes.therapyConcepts)[0];
}

/** True when an event overlaps [fromMs, toMs] (an open infusion runs until toMs). */
export function overlaps(event: MedicationEvent, fromMs: number, toMs: number): boolean {
  const start = timeMs(event.start);
  const end = event.end !== undefined ? timeMs(event.end) : event.status === 'in-progress' ? toMs : start;
  return start <= toMs && end >= fromMs;
}
