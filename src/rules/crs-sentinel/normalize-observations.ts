/**
 * Observations (vitals and labs pooled: EHRs misfile them) to typed readings in canonical units.
 * Codings are matched on system AND code; panel components by their own code, never position.
 * Unusable readings are kept in `ignored` with the reason, so cards can say what was not used.
 */
import { perResource, type ResourceMemo } from './per-resource-memo.js';
import type { CodeableConcept, Coding, Observation, ObservationComponent, Quantity } from 'fhir/r4';
import { canonicalSystem, codingsOf, isoTime, parseFhirTime, roundTo } from './fhir-values.js';
import type { CodeIndex } from './code-index.js';
import {
  OXYGEN_DEVICE_KEYWORDS,
  PHYSIOLOGICAL_BOUNDS,
  SYSTEM,
  UNIT_CONVERSIONS,
  UNUSABLE_OBSERVATION_STATUSES,
  type OxygenSupportClass,
  type ReadingKind,
} from './rule-tables.js';
import { codeKey, type SiteCodes } from './site-codes.js';

export type TimeSource = 'effectiveDateTime' | 'effectivePeriod' | 'effectiveInstant' | 'issued';

export interface ReadingSource {
  resourceId?: string;
  system: string;
  code: string;
  /** Panel code when the value is a component (e.g. 8480-6 inside 85354-9). */
  componentOf?: string;
}

export interface Reading {
  kind: ReadingKind;
  /** In the canonical unit of its kind (rule-tables UNIT_CONVERSIONS). */
  value: number;
  unit: string;
  time: string;
  timeSource: TimeSource;
  source: ReadingSource;
  /** The value as sent, when a conversion was applied. */
  original?: { value: number; unit: string };
}

export interface OxygenDeviceReading {
  supportClass: OxygenSupportClass;
  text: string;
  time: string;
  timeSource: TimeSource;
  source: ReadingSource;
}

export type IgnoredReason =
  | 'entered-in-error'
  | 'cancelled'
  | 'registered'
  | 'data-absent'
  | 'implausible'
  | 'unknown-unit'
  | 'unknown-device'
  | 'no-time'
  | 'no-value';

export interface IgnoredReading {
  kind: ReadingKind | 'oxygen-device';
  reason: IgnoredReason;
  detail: string;
  time?: string;
  value?: number;
  unit?: string;
  source: ReadingSource;
}

export interface NormalizedObservations {
  /** Sorted by time, duplicates (same kind, time and value) removed. */
  readings: Reading[];
  devices: OxygenDeviceReading[];
  ignored: IgnoredReading[];
}

/** One value of an Observation (itself or a component). Internal: absent fields are undefined. */
interface ValueElement {
  kind: ReadingKind;
  coding: { system: string; code: string };
  quantity: Quantity | undefined;
  integer: number | undefined;
  dataAbsentReason: CodeableConcept | undefined;
  componentOf: string | undefined;
}

/**
 * Which Observations a caller reads: those timed from `sinceMs` on, and older ones only when they
 * measure a kind in `earlier` (from that kind's own start). Undated ones are always kept (they are
 * reported as ignored). Lets the engine skip a long history it never reads without normalizing it.
 */
export interface ReadingHorizon {
  sinceMs: number;
  earlier: Partial<Readonly<Record<ReadingKind, number>>>;
}

/** A normalized item and its instant (undefined when undated): callers compare numbers. */
export interface Timed<T> {
  item: T;
  ms: number | undefined;
}

export interface TimedObservations {
  readings: Timed<Reading>[];
  devices: Timed<OxygenDeviceReading>[];
  ignored: Timed<IgnoredReading>[];
}

export function normalizeObservations(
  observations: readonly Observation[],
  siteCodes: SiteCodes,
  codes: CodeIndex,
): NormalizedObservations {
  const timed = normalizeTimedObservations(observations, siteCodes, codes);
  return { readings: items(timed.readings), devices: items(timed.devices), ignored: items(timed.ignored) };
}

export function items<T>(timed: readonly Timed<T>[]): T[] {
  return timed.map((t) => t.item);
}

/** normalizeObservations with each item's instant, skipping what `horizon` says is never read. */
export function normalizeTimedObservations(
  observations: readonly Observation[],
  siteCodes: SiteCodes,
  codes: CodeIndex,
  horizon?: ReadingHorizon,
  memo?: ResourceMemo,
): TimedObservations {
  const readings: Timed<Reading>[] = [];
  const devices: Timed<OxygenDeviceReading>[] = [];
  const ignored: Timed<IgnoredReading>[] = [];
  const unread = horizon ? unreadTest(horizon, siteCodes, codes, memo) : undefined;
  for (const obs of observations) {
    const ms = observationMs(obs);
    if (unread && ms !== undefined && unread(obs, ms)) continue;
    const one = normalizedOnce(obs, siteCodes, codes, memo);
    for (const r of one.readings) readings.push(r);
    for (const d of one.devices) devices.push(d);
    for (const i of one.ignored) ignored.push(i);
  }
  return { readings: dedupe(readings), devices: sortByTime(devices), ignored: sortByTime(ignored) };
}

/** One Observation's items (remembered per resource when a memo is given; then frozen). */
const normalizedOnce = perResource(
  (obs: Observation, siteCodes, codes): TimedObservations =>
    normalizeOne(obs, observationMs(obs), siteCodes, codes),
  (result) => {
    for (const list of [result.readings, result.devices, result.ignored] as Timed<object>[][])
      for (const timed of list) Object.freeze(Object.freeze(timed).item);
  },
);

/** The kinds of an Observation's value elements (what the horizon test asks of old ones). */
const elementKinds = perResource((obs: Observation, siteCodes, codes): ReadingKind[] =>
  valueElements(obs, siteCodes, codes).map((e) => e.kind),
);

/** The readings, device readings and ignored values of one Observation. */
function normalizeOne(
  obs: Observation,
  ms: number | undefined,
  siteCodes: SiteCodes,
  codes: CodeIndex,
): TimedObservations {
  const readings: Timed<Reading>[] = [];
  const devices: Timed<OxygenDeviceReading>[] = [];
  const ignored: Timed<IgnoredReading>[] = [];
  const time = ms === undefined ? undefined : { time: isoTime(ms), source: timeSourceOf(obs) };
  const status = obs.status as string | undefined;
  const unusable = status !== undefined && UNUSABLE_OBSERVATION_STATUSES.includes(status);
  const deviceCoding = findCoding(obs.code, siteCodes, (system, code) =>
    codes.has('oxygen-delivery-observations', system, code),
  );
  if (deviceCoding) {
    const source = sourceOf(obs, deviceCoding);
    if (unusable) ignored.push({ item: statusIgnored('oxygen-device', status, time, source), ms });
    else if (!time) {
      const item: IgnoredReading = {
        kind: 'oxygen-device',
        reason: 'no-time',
        detail: 'no effective time or issued',
        source,
      };
      ignored.push({ item, ms });
    } else {
      const device = classifyDevice(obs.valueCodeableConcept, siteCodes, codes);
      if (device) {
        devices.push({ item: { ...device, time: time.time, timeSource: time.source, source }, ms });
      } else {
        const item: IgnoredReading = {
          kind: 'oxygen-device',
          reason: 'unknown-device',
          detail: `oxygen delivery method not recognised: ${conceptText(obs.valueCodeableConcept) || 'no value'}`,
          time: time.time,
          source,
        };
        ignored.push({ item, ms });
      }
    }
    return { readings, devices, ignored };
  }
  for (const element of valueElements(obs, siteCodes, codes)) {
    const source = sourceOf(obs, element.coding, element.componentOf);
    if (unusable) {
      ignored.push({ item: statusIgnored(element.kind, status, time, source), ms });
      continue;
    }
    if (!time) {
      const item: IgnoredReading = {
        kind: element.kind,
        reason: 'no-time',
        detail: 'no effective time or issued',
        source,
      };
      ignored.push({ item, ms });
      continue;
    }
    const outcome = readValue(element, source, time);
    if ('reason' in outcome) ignored.push({ item: outcome, ms });
    else readings.push({ item: outcome, ms });
  }
  return { readings, devices, ignored };
}

function statusIgnored(
  kind: ReadingKind | 'oxygen-device',
  status: string | undefined,
  time: ObservationTime | undefined,
  source: ReadingSource,
): IgnoredReading {
  return {
    kind,
    reason: status as IgnoredReason,
    detail: `status ${String(status)}: not used`,
    ...(time && { time: time.time }),
    source,
  };
}

interface ObservationTime {
  time: string;
  source: TimeSource;
}

/** effectiveDateTime, effectivePeriod (start, else end), effectiveInstant, then issued. */
export function observationTime(obs: Observation): ObservationTime | undefined {
  const ms = observationMs(obs);
  return ms === undefined ? undefined : { time: isoTime(ms), source: timeSourceOf(obs) };
}

/**
 * The instant observationTime picks, in ms. Nothing is allocated: most of a long history is
 * skipped on this number alone (bench/README.md, growth with history size).
 */
function observationMs(obs: Observation): number | undefined {
  return (
    parseFhirTime(obs.effectiveDateTime) ??
    parseFhirTime(obs.effectivePeriod?.start ?? obs.effectivePeriod?.end) ??
    parseFhirTime(obs.effectiveInstant) ??
    parseFhirTime(obs.issued)
  );
}

/** Which element observationMs took the time from (asked only of the Observations kept). */
function timeSourceOf(obs: Observation): TimeSource {
  if (parseFhirTime(obs.effectiveDateTime) !== undefined) return 'effectiveDateTime';
  if (parseFhirTime(obs.effectivePeriod?.start ?? obs.effectivePeriod?.end) !== undefined)
    return 'effectivePeriod';
  if (parseFhirTime(obs.effectiveInstant) !== undefined) return 'effectiveInstant';
  return 'issued';
}

/**
 * True for an Observation the caller never reads: older than horizon.sinceMs and no value element
 * of a kind read from before then. A Set of every code that can mean such a kind is tested first,
 * so an ordinary old vital sign costs a Set look-up per coding, not a normalization.
 */
function unreadTest(
  horizon: ReadingHorizon,
  siteCodes: SiteCodes,
  codes: CodeIndex,
  memo: ResourceMemo | undefined,
): (obs: Observation, ms: number) => boolean {
  const kindCodes = codesOfKinds(Object.keys(horizon.earlier) as ReadingKind[], siteCodes, codes);
  return (obs, ms) => {
    if (ms >= horizon.sinceMs) return false;
    if (!hasCodeIn(obs.code, kindCodes) && !obs.component?.some((c) => hasCodeIn(c.code, kindCodes)))
      return true;
    return !elementKinds(obs, siteCodes, codes, memo).some((kind) => {
      const from = horizon.earlier[kind];
      return from !== undefined && ms >= from;
    });
  };
}

function hasCodeIn(concept: CodeableConcept | undefined, codes: ReadonlySet<string>): boolean {
  for (const c of codingsOf(concept)) if (c.code !== undefined && codes.has(c.code)) return true;
  return false;
}

const kindCodesCache = new WeakMap<CodeIndex, WeakMap<SiteCodes, Map<string, ReadonlySet<string>>>>();

/**
 * Every bare code (LOINC or the site's) that can mean one of `kinds`: a necessary, not sufficient,
 * test. Memoised per site mapping (a few kind lists per mapping, so the cache stays small).
 */
function codesOfKinds(
  kinds: readonly ReadingKind[],
  siteCodes: SiteCodes,
  index: CodeIndex,
): ReadonlySet<string> {
  const perIndex = kindCodesCache.get(index) ?? new WeakMap<SiteCodes, Map<string, ReadonlySet<string>>>();
  kindCodesCache.set(index, perIndex);
  const perSite = perIndex.get(siteCodes) ?? new Map<string, ReadonlySet<string>>();
  perIndex.set(siteCodes, perSite);
  const cacheKey = [...kinds].sort().join(',');
  const cached = perSite.get(cacheKey);
  if (cached) return cached;
  const codes = new Set<string>();
  for (const kind of kinds) for (const c of index.readingCodes(kind)) codes.add(c.code);
  for (const [key, kind] of Object.entries(siteCodes.observations)) {
    if (!kinds.includes(kind)) continue;
    // A key is `${system}|${code}` and either part may hold a '|': add every possible code part.
    for (let i = key.indexOf('|'); i >= 0; i = key.indexOf('|', i + 1)) codes.add(key.slice(i + 1));
  }
  perSite.set(cacheKey, codes);
  return codes;
}

function findCoding(
  concept: CodeableConcept | undefined,
  siteCodes: SiteCodes,
  predicate: (system: string, code: string) => boolean,
): { system: string; code: string } | undefined {
  for (const c of codingsOf(concept)) {
    const system = canonicalSystem(c.system, siteCodes);
    if (system !== undefined && c.code !== undefined && predicate(system, c.code))
      return { system, code: c.code };
  }
  return undefined;
}

/** The kind a code measures: the observation code lists first, then SITE_CODES observations. */
function kindOf(
  concept: CodeableConcept | undefined,
  siteCodes: SiteCodes,
  codes: CodeIndex,
): { kind: ReadingKind; coding: { system: string; code: string } } | undefined {
  for (const c of codingsOf(concept)) {
    const system = canonicalSystem(c.system, siteCodes);
    if (system === undefined || c.code === undefined) continue;
    const kind = codes.readingKind(system, c.code) ?? siteCodes.observations[codeKey(system, c.code)];
    if (kind) return { kind, coding: { system, code: c.code } };
  }
  return undefined;
}

function valueElements(obs: Observation, siteCodes: SiteCodes, codes: CodeIndex): ValueElement[] {
  const elements: ValueElement[] = [];
  const top = kindOf(obs.code, siteCodes, codes);
  if (top && !codes.has('blood-pressure-panels', top.coding.system, top.coding.code)) {
    elements.push({
      kind: top.kind,
      coding: top.coding,
      quantity: obs.valueQuantity,
      integer: obs.valueInteger,
      dataAbsentReason: obs.dataAbsentReason,
      componentOf: undefined,
    });
  }
  const panel = findCoding(obs.code, siteCodes, (s, c) => codes.has('blood-pressure-panels', s, c));
  const parentCode = panel?.code ?? top?.coding.code ?? codingsOf(obs.code)[0]?.code;
  for (const component of obs.component ?? []) {
    const element = componentElement(component, siteCodes, codes, parentCode, obs.dataAbsentReason);
    if (element) elements.push(element);
  }
  return elements;
}

function componentElement(
  component: ObservationComponent,
  siteCodes: SiteCodes,
  codes: CodeIndex,
  parentCode: string | undefined,
  observationAbsent: CodeableConcept | undefined,
): ValueElement | undefined {
  const found = kindOf(component.code, siteCodes, codes);
  if (!found) return undefined;
  const absent = component.dataAbsentReason ?? observationAbsent;
  return {
    kind: found.kind,
    coding: found.coding,
    quantity: component.valueQuantity,
    integer: component.valueInteger,
    dataAbsentReason: absent,
    componentOf: parentCode,
  };
}

// Readings are built as plain literals, optional fields added after: an object literal with a
// spread costs about 1 µs (V8's slow define path), several per reading. Key order is unchanged.
function sourceOf(
  obs: Observation,
  coding: { system: string; code: string },
  componentOf?: string,
): ReadingSource {
  const source: ReadingSource =
    obs.id !== undefined
      ? { resourceId: obs.id, system: coding.system, code: coding.code }
      : { system: coding.system, code: coding.code };
  if (componentOf !== undefined) source.componentOf = componentOf;
  return source;
}

function readValue(
  element: ValueElement,
  source: ReadingSource,
  time: ObservationTime,
): Reading | IgnoredReading {
  const base = { kind: element.kind, source, time: time.time };
  const raw = element.quantity?.value ?? element.integer;
  if (raw === undefined) {
    if (element.dataAbsentReason) {
      return {
        ...base,
        reason: 'data-absent',
        detail: `data absent: ${conceptText(element.dataAbsentReason) || 'no reason given'}`,
      };
    }
    return { ...base, reason: 'no-value', detail: 'no value and no data-absent reason' };
  }
  const conversion = UNIT_CONVERSIONS[element.kind];
  const unitCandidates = unitsOf(element.quantity);
  const unit = unitCandidates.find((u) => conversion.units[u] !== undefined);
  const convert = unit === undefined ? undefined : conversion.units[unit];
  const conflict = conflictingUnits(unitCandidates, conversion.units);
  if (conflict) {
    // "lb" shown with UCUM code "kg": one of them is wrong, and a dose must not rest on a guess.
    return {
      ...base,
      reason: 'unknown-unit',
      detail: `units "${conflict.join('" and "')}" contradict each other: not guessed`,
      value: raw,
      unit: conflict[0],
    };
  }
  if (!convert) {
    if (unitCandidates.length === 0 && conversion.unitless === true) {
      return boundsChecked(
        element,
        { ...base, value: raw, unit: conversion.canonical, timeSource: time.source },
        raw,
        conversion.canonical,
      );
    }
    return {
      ...base,
      reason: 'unknown-unit',
      detail: `unit ${unitCandidates.length ? `"${unitCandidates.join('" / "')}"` : 'missing'} is not a known unit for ${element.kind}: not guessed`,
      value: raw,
      ...(unitCandidates[0] !== undefined && { unit: unitCandidates[0] }),
    };
  }
  const value = roundTo(convert(raw), element.kind === 'temperature' ? 1 : 2);
  const reading: Reading = {
    kind: element.kind,
    source,
    time: time.time,
    value,
    unit: conversion.canonical,
    timeSource: time.source,
  };
  if (unit !== conversion.canonical && unit !== undefined) reading.original = { value: raw, unit };
  return boundsChecked(element, reading, raw, unit ?? conversion.canonical);
}

/** Two known spellings of the quantity (unit and code) that would convert the value differently. */
function conflictingUnits(
  candidates: readonly string[],
  units: Readonly<Record<string, (v: number) => number>>,
): [string, string] | undefined {
  const known = candidates.filter((u) => units[u] !== undefined);
  const first = known[0];
  if (first === undefined) return undefined;
  const probe = (u: string): number => (units[u] as (v: number) => number)(100);
  const other = known.find((u) => Math.abs(probe(u) - probe(first)) > 1e-9);
  return other === undefined ? undefined : [first, other];
}

/** The unit spellings a quantity offers, most specific first, each once. */
function unitsOf(quantity: Quantity | undefined): string[] {
  const units: string[] = [];
  if (!quantity) return units;
  const add = (u: string | undefined): void => {
    if (u !== undefined && u !== '' && !units.includes(u)) units.push(u);
  };
  if (quantity.system === SYSTEM.ucum) add(quantity.code);
  add(quantity.unit?.trim());
  add(quantity.code);
  return units;
}

function boundsChecked(
  element: ValueElement,
  reading: Reading,
  raw: number,
  unit: string,
): Reading | IgnoredReading {
  const [low, high] = PHYSIOLOGICAL_BOUNDS[element.kind];
  if (reading.value >= low && reading.value <= high) return reading;
  const shown = describeUnit(reading.unit);
  const converted = unit === reading.unit ? '' : ` (= ${reading.value} ${shown})`;
  const hint =
    element.kind === 'temperature' && /F\]?$/.test(unit) && raw >= 25 && raw <= 45
      ? ': looks like a °C value labelled °F'
      : '';
  return {
    kind: element.kind,
    reason: 'implausible',
    detail: `${raw} ${unit}${converted} is outside the physiological range ${low}-${high} ${shown}${hint}`,
    time: reading.time,
    value: raw,
    unit,
    source: reading.source,
  };
}

function classifyDevice(
  value: CodeableConcept | undefined,
  siteCodes: SiteCodes,
  codes: CodeIndex,
): { supportClass: OxygenSupportClass; text: string } | undefined {
  const text = conceptText(value);
  for (const c of codingsOf(value)) {
    const system = canonicalSystem(c.system, siteCodes);
    if (system === undefined || c.code === undefined) continue;
    // The site's own mapping first, then the device code lists (SNOMED CT, a site's ValueSets).
    const mapped =
      siteCodes.oxygenDevices[codeKey(system, c.code)] ?? codes.oxygenDeviceClass(system, c.code);
    if (mapped) return { supportClass: mapped, text: text || c.code };
  }
  if (!text) return undefined;
  const match = OXYGEN_DEVICE_KEYWORDS.find((k) => k.pattern.test(text));
  return match ? { supportClass: match.supportClass, text } : undefined;
}

/** Displays and text of a concept, joined (for matching and for showing). */
export function conceptText(concept: CodeableConcept | undefined): string {
  const parts = [concept?.text, ...codingsOf(concept).map((c: Coding) => c.display)].filter(
    (t): t is string => t !== undefined && t.trim() !== '',
  );
  return [...new Set(parts)].join(' / ');
}

/** By instant, undated first; equal times keep their input order (the sort is stable). */
function sortByTime<T>(timed: Timed<T>[]): Timed<T>[] {
  const at = (t: Timed<T>): number => t.ms ?? Number.NEGATIVE_INFINITY;
  return [...timed].sort((a, b) => (at(a) < at(b) ? -1 : at(a) > at(b) ? 1 : 0));
}

/**
 * Sorted, and a reading of the same kind, time and value as an earlier one dropped. Equal times
 * are adjacent once sorted, so each reading is compared with the kept ones of its own instant.
 */
function dedupe(readings: Timed<Reading>[]): Timed<Reading>[] {
  const kept: Timed<Reading>[] = [];
  let instantStart = 0;
  for (const timed of sortByTime(readings)) {
    if (kept[instantStart]?.ms !== timed.ms) instantStart = kept.length;
    const r = timed.item;
    let duplicate = false;
    for (let i = instantStart; i < kept.length && !duplicate; i++) {
      const k = (kept[i] as Timed<Reading>).item;
      duplicate = k.kind === r.kind && k.value === r.value;
    }
    if (!duplicate) kept.push(timed);
  }
  return kept;
}

/** Used by tests and rendering: the text a reading should be shown with. */
export function describeUnit(unit: string): string {
  return { Cel: '°C', 'mm[Hg]': 'mmHg', '/min': '/min', '10*9/L': '×10⁹/L', '{score}': '' }[unit] ?? unit;
}
