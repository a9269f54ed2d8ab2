/**
 * Medplum's MemoryRepository with the search behaviour of a production FHIR R4 server (HAPI is the
 * reference) where the in-memory engine falls short. Matching stays Medplum's own
 * (`matchesSearchRequest`, FHIRPath over the search parameter's expression); this class only
 * - refuses what the engine would silently get wrong: an unknown search parameter, a parameter
 *   type or modifier the in-memory matcher cannot evaluate, `_include`, chained parameters, ...
 *   (Medplum answers those with an empty or unfiltered result, HAPI with 400);
 * - accepts a bare id for a reference parameter (`patient=123`, `subject=123`), as HAPI does, by
 *   expanding it to every target type of the parameter (`Patient/123`, `Group/123`, ...), and an
 *   absolute reference (`http://host/fhir/Patient/123`) by also trying its relative form;
 * - sorts by the instant a date stands for (Medplum compares the JSON text, so `-05:00` and `Z`
 *   values interleave wrongly), with the first `_sort` key primary, missing values last, a stable
 *   order otherwise, and each key computed once rather than in every comparison;
 * - pages: `_count` defaults to 20 (at most 1000), `_offset` skips, `total` counts every match;
 * - adds `_include` (also `:iterate`) and `_revinclude` resources, which MemoryRepository ignores,
 *   after the page's matches with `search.mode` = `include`;
 * - can take a snapshot and restore it, so a transaction Bundle is all or nothing.
 */
import {
  badRequest,
  convertToSearchableDates,
  convertToSearchableNumbers,
  convertToSearchableReferences,
  convertToSearchableStrings,
  convertToSearchableTokens,
  DEFAULT_MAX_SEARCH_COUNT,
  DEFAULT_SEARCH_COUNT,
  deepClone,
  evalFhirPathTyped,
  matchesSearchRequest,
  Operator,
  OperationOutcomeError,
  splitSearchOnComma,
  toTypedValue,
  type Filter,
  type IncludeTarget,
  type SearchRequest,
  type SortRule,
  type TypedValue,
  type WithId,
} from '@medplum/core';
import { MemoryRepository } from '@medplum/fhir-router';
import type { Bundle, BundleEntry, Resource, SearchParameter } from '@medplum/fhirtypes';
import {
  isR4ResourceType,
  MATCHABLE_SEARCH_PARAMETER_TYPES,
  r4ResourceTypeList,
  searchParameterFor,
} from './fhir-definitions.js';

export const SANDBOX_DEFAULT_COUNT = DEFAULT_SEARCH_COUNT;
export const SANDBOX_MAX_COUNT = DEFAULT_MAX_SEARCH_COUNT;

const FHIR_ID = /^[A-Za-z0-9\-.]{1,64}$/;
const ABSOLUTE_REFERENCE = /^https?:\/\/.+\/([A-Z][A-Za-z]+)\/([A-Za-z0-9\-.]{1,64})(?:\/_history\/[^/]+)?$/;

/** Operators (prefixes and modifiers) the in-memory matcher implements, by parameter type. */
const SUPPORTED_OPERATORS: Readonly<Record<string, ReadonlySet<Operator>>> = {
  reference: new Set<Operator>([Operator.EQUALS, Operator.NOT_EQUALS, Operator.NOT]),
  token: new Set<Operator>([Operator.EQUALS, Operator.NOT_EQUALS, Operator.NOT]),
  // A string search matches "contains" (case-insensitive) whatever the modifier: `:exact` would lie.
  string: new Set<Operator>([Operator.EQUALS, Operator.CONTAINS]),
  uri: new Set<Operator>([Operator.EQUALS]),
  date: new Set<Operator>([
    Operator.EQUALS,
    Operator.NOT_EQUALS,
    Operator.LESS_THAN,
    Operator.LESS_THAN_OR_EQUALS,
    Operator.GREATER_THAN,
    Operator.GREATER_THAN_OR_EQUALS,
    Operator.STARTS_AFTER,
    Operator.ENDS_BEFORE,
    Operator.APPROXIMATELY,
  ]),
};
const PRESENCE_OPERATORS: ReadonlySet<Operator> = new Set<Operator>([Operator.MISSING, Operator.PRESENT]);

/** The effective page of a search: what `_count` and `_offset` ask for, defaulted and checked. */
export interface SearchPage {
  count: number;
  offset: number;
}

/** Reads `_count` / `_offset` the way the sandbox applies them; throws a 400 on a malformed value. */
export function searchPageOf(request: Pick<SearchRequest, 'count' | 'offset'>): SearchPage {
  const count = request.count ?? SANDBOX_DEFAULT_COUNT;
  const offset = request.offset ?? 0;
  if (!Number.isInteger(count) || count < 0) throw invalid(`_count must be a non-negative integer`);
  if (!Number.isInteger(offset) || offset < 0) throw invalid(`_offset must be a non-negative integer`);
  return { count: Math.min(count, SANDBOX_MAX_COUNT), offset };
}

interface Snapshot {
  resources: Map<string, Map<string, Resource>>;
  history: Map<string, Map<string, Resource[]>>;
}

/** The two private maps of MemoryRepository, reached in exactly one place. */
interface MemoryRepositoryInternals {
  resources: Map<string, Map<string, Resource>>;
  history: Map<string, Map<string, Resource[]>>;
}

export class SandboxRepository extends MemoryRepository {
  override search<T extends Resource>(searchRequest: SearchRequest<T>): Promise<Bundle<WithId<T>>> {
    try {
      return Promise.resolve(this.searchNow(searchRequest));
    } catch (error) {
      return Promise.reject(error instanceof Error ? error : new Error(String(error)));
    }
  }

  private searchNow<T extends Resource>(searchRequest: SearchRequest<T>): Bundle<WithId<T>> {
    const { resourceType } = searchRequest;
    if (!isR4ResourceType(resourceType)) throw invalid(`Unknown resource type: ${resourceType}`);
    rejectUnsupportedResultParameters(searchRequest);
    const page = searchPageOf(searchRequest);
    const filters = (searchRequest.filters ?? []).map((filter) => checkedFilter(resourceType, filter));
    const sortRules = searchRequest.sortRules ?? [];
    const sortParams = sortRules.map((rule) => sortParameter(resourceType, rule));
    const includes = (searchRequest.include ?? []).map(checkedInclude);
    const revIncludes = (searchRequest.revInclude ?? []).map(checkedInclude);

    let matches = this.matching(resourceType, filters);
    if (sortRules.length > 0) matches = sortResources(matches, sortRules, sortParams);
    // Only the page is copied out of the store (Medplum's search copies every match).
    const pageResources = matches.slice(page.offset, page.offset + page.count).map((r) => deepClone(r));
    const included = this.included(pageResources, includes, revIncludes);
    const entry = [
      ...pageResources.map((resource): BundleEntry => ({ resource, search: { mode: 'match' } })),
      ...included,
    ] as BundleEntry<WithId<T>>[];
    return {
      resourceType: 'Bundle',
      type: 'searchset',
      total: matches.length,
      ...(entry.length > 0 ? { entry } : {}),
    };
  }

  /**
   * The stored resources (not copies) matching every filter. Medplum's `matchesSearchRequest`
   * decides; an equality filter on a reference parameter is first answered from a per-resource
   * cache of the very values Medplum compares (`convertToSearchableReferences` of the parameter's
   * FHIRPath), so `patient=` does not re-run FHIRPath over every resource of the type each time:
   * a stored resource is never modified in place (an update stores a new object), so the cache,
   * keyed by the object, cannot go stale.
   */
  private matching(resourceType: string, filters: Filter[]): WithId<Resource>[] {
    const stored = this.internals().resources.get(resourceType);
    if (!stored) return [];
    let pool = [...stored.values()] as WithId<Resource>[];
    const rest: Filter[] = [];
    for (const filter of filters) {
      const param = searchParameterFor(resourceType, filter.code);
      const values = splitSearchOnComma(filter.value);
      if (param?.type !== 'reference' || filter.operator !== Operator.EQUALS || values.includes('')) {
        rest.push(filter);
        continue;
      }
      const wanted = new Set(values);
      pool = pool.filter((resource) => cachedReferences(resource, param).some((ref) => wanted.has(ref)));
    }
    if (rest.length === 0) return pool;
    const request: SearchRequest = { resourceType: resourceType as Resource['resourceType'], filters: rest };
    return pool.filter((resource) => matchesSearchRequest(resource, request));
  }

  /** The `_include` and `_revinclude` resources of a page, each once and none that is a match. */
  private included(
    matches: WithId<Resource>[],
    includes: IncludeTarget[],
    revIncludes: IncludeTarget[],
  ): BundleEntry[] {
    if (includes.length === 0 && revIncludes.length === 0) return [];
    const seen = new Set(matches.map((r) => `${r.resourceType}/${r.id}`));
    const out: BundleEntry[] = [];
    const add = (resource: WithId<Resource>): boolean => {
      const key = `${resource.resourceType}/${resource.id}`;
      if (seen.has(key)) return false;
      seen.add(key);
      out.push({ resource, search: { mode: 'include' } });
      return true;
    };

    for (const target of revIncludes) {
      const references = matches.map((r) => `${r.resourceType}/${r.id}`);
      if (references.length === 0) continue;
      const value = references.map((ref) => ref.replaceAll(',', '\\,')).join(',');
      const found = this.matching(target.resourceType, [
        { code: target.searchParam, operator: Operator.EQUALS, value },
      ]);
      for (const resource of found) add(deepClone(resource));
    }

    // `_include` follows references from the matches; `:iterate` ones also from what was included.
    let frontier: WithId<Resource>[] = matches;
    let first = true;
    while (frontier.length > 0) {
      const next: WithId<Resource>[] = [];
      for (const target of includes) {
        if (!first && target.modifier !== 'iterate') continue;
        for (const resource of frontier) {
          if (resource.resourceType !== target.resourceType) continue;
          for (const reference of referencesFrom(resource, target)) {
            const [type, id] = reference.split('/');
            if (type === undefined || id === undefined || seen.has(reference)) continue;
            const stored = this.internals().resources.get(type)?.get(id);
            const found = stored ? (deepClone(stored) as WithId<Resource>) : undefined;
            if (found && add(found)) next.push(found);
          }
        }
      }
      frontier = next;
      first = false;
    }
    return out;
  }

  /**
   * Computes the cached `patient` / `subject` references of every stored resource now, so the
   * first patient search after a bulk load is as fast as the next ones.
   */
  warmSearchCache(): void {
    for (const [type, byId] of this.internals().resources) {
      const params = ['patient', 'subject'].flatMap((code) => searchParameterFor(type, code) ?? []);
      for (const resource of byId.values()) for (const param of params) cachedReferences(resource, param);
    }
  }

  /** Every stored resource, counted by type (for start-up reports and tests). */
  countByType(): Record<string, number> {
    const out: Record<string, number> = {};
    for (const [type, byId] of this.internals().resources) if (byId.size > 0) out[type] = byId.size;
    return out;
  }

  /** A cheap copy of the current state (resources are stored immutable, so maps are enough). */
  snapshot(): Snapshot {
    const { resources, history } = this.internals();
    return {
      resources: new Map([...resources].map(([type, byId]) => [type, new Map(byId)])),
      history: new Map(
        [...history].map(([type, byId]) => [
          type,
          new Map([...byId].map(([id, versions]) => [id, [...versions]])),
        ]),
      ),
    };
  }

  /** Puts back a state taken by `snapshot()`. */
  restore(snapshot: Snapshot): void {
    const { resources, history } = this.internals();
    resources.clear();
    for (const [type, byId] of snapshot.resources) resources.set(type, byId);
    history.clear();
    for (const [type, byId] of snapshot.history) history.set(type, byId);
  }

  private internals(): MemoryRepositoryInternals {
    return this as unknown as MemoryRepositoryInternals;
  }
}

function invalid(message: string): OperationOutcomeError {
  return new OperationOutcomeError(badRequest(message));
}

function rejectUnsupportedResultParameters(request: SearchRequest): void {
  const unsupported: string[] = [];
  if (request.fields?.length) unsupported.push('_elements');
  if (request.summary !== undefined) unsupported.push(`_summary=${request.summary}`);
  if (request.cursor !== undefined) unsupported.push('_cursor');
  if (request.types?.length) unsupported.push('_type');
  if (unsupported.length > 0) {
    throw invalid(`Not supported by the embedded FHIR sandbox: ${unsupported.join(', ')}`);
  }
}

/** Checks one parsed filter and rewrites bare and absolute references; throws a 400 otherwise. */
function checkedFilter(resourceType: string, filter: Filter): Filter {
  const param = searchParameterFor(resourceType, filter.code);
  if (!param) {
    if (filter.code.includes('.') || filter.code.startsWith('_has')) {
      throw invalid(`Chained and reverse-chained search is not supported by the sandbox: ${filter.code}`);
    }
    throw invalid(`Unknown search parameter "${filter.code}" for resource type ${resourceType}`);
  }
  const type = param.type;
  if (!MATCHABLE_SEARCH_PARAMETER_TYPES.has(type)) {
    throw invalid(`Search parameter "${filter.code}" (type ${type}) is not supported by the sandbox`);
  }
  if (PRESENCE_OPERATORS.has(filter.operator)) return filter;
  if (!SUPPORTED_OPERATORS[type]?.has(filter.operator)) {
    throw invalid(
      `Modifier or prefix "${filter.operator}" is not supported for ${type} parameter "${filter.code}"`,
    );
  }
  if (type !== 'reference') return filter;
  return { ...filter, value: expandReferences(param, filter.value) };
}

/** Values computed from a stored resource, per stored object (see `matching`). */
const derived = new WeakMap<Resource, Map<string, unknown>>();

function cached<V>(resource: Resource, key: string, compute: () => V): V {
  let byKey = derived.get(resource);
  if (!byKey) {
    byKey = new Map();
    derived.set(resource, byKey);
  }
  if (byKey.has(key)) return byKey.get(key) as V;
  const value = compute();
  byKey.set(key, value);
  return value;
}

/** Exactly what Medplum's reference matcher compares a filter value with. */
function cachedReferences(resource: Resource, param: SearchParameter): string[] {
  const expression = param.expression;
  if (!expression) return [];
  return cached(resource, `ref:${param.code}`, (): string[] => {
    try {
      return convertToSearchableReferences(evalFhirPathTyped(expression, [toTypedValue(resource)]));
    } catch {
      return [];
    }
  });
}

/** An `_include` / `_revinclude` target whose parameter is a reference parameter of its type. */
function checkedInclude(target: IncludeTarget): IncludeTarget {
  const where = `${target.resourceType}:${target.searchParam}`;
  if (!isR4ResourceType(target.resourceType)) throw invalid(`Unknown resource type in include: ${where}`);
  const param = searchParameterFor(target.resourceType, target.searchParam);
  if (param?.type !== 'reference') throw invalid(`Not a reference search parameter: ${where}`);
  if (target.targetType !== undefined && !isR4ResourceType(target.targetType)) {
    throw invalid(`Unknown target type in include: ${where}:${target.targetType}`);
  }
  return target;
}

/** Relative `Type/id` references the include parameter finds in `resource`. */
function referencesFrom(resource: Resource, target: IncludeTarget): string[] {
  const expression = searchParameterFor(target.resourceType, target.searchParam)?.expression;
  if (!expression) return [];
  let references: string[];
  try {
    references = convertToSearchableReferences(evalFhirPathTyped(expression, [toTypedValue(resource)]));
  } catch {
    return [];
  }
  return references.filter((ref) => {
    const parts = ref.split('/');
    return (
      parts.length === 2 &&
      FHIR_ID.test(parts[1] ?? '') &&
      (target.targetType === undefined || parts[0] === target.targetType)
    );
  });
}

/** `123` -> `Patient/123` (every target type of the parameter); absolute URLs also as relative. */
function expandReferences(param: SearchParameter, value: string): string {
  const out: string[] = [];
  for (const item of splitSearchOnComma(value)) {
    if (FHIR_ID.test(item)) {
      const targets = param.target?.length ? param.target : r4ResourceTypeList();
      for (const target of targets) out.push(`${target}/${item}`);
      continue;
    }
    out.push(item);
    const absolute = ABSOLUTE_REFERENCE.exec(item);
    if (absolute) out.push(`${absolute[1] ?? ''}/${absolute[2] ?? ''}`);
  }
  return out.map((item) => item.replaceAll('\\', '\\\\').replaceAll(',', '\\,')).join(',');
}

function sortParameter(resourceType: string, rule: SortRule): SearchParameter {
  const param = searchParameterFor(resourceType, rule.code);
  if (!param) throw invalid(`Unknown _sort parameter "${rule.code}" for resource type ${resourceType}`);
  const type = param.type;
  if (!['date', 'number', 'quantity', 'string', 'uri', 'token', 'reference'].includes(type)) {
    throw invalid(`Cannot sort on "${rule.code}" (type ${type})`);
  }
  return param;
}

type SortKey = number | string | undefined;

function sortResources(
  resources: WithId<Resource>[],
  rules: readonly SortRule[],
  params: readonly SearchParameter[],
): WithId<Resource>[] {
  const keyed = resources.map((resource, index) => ({
    resource,
    index,
    keys: rules.map((rule, i) => sortKeyOf(resource, params[i], rule.descending === true)),
  }));
  keyed.sort((a, b) => {
    for (let i = 0; i < rules.length; i++) {
      const order = compareKeys(a.keys[i], b.keys[i], rules[i]?.descending === true);
      if (order !== 0) return order;
    }
    return a.index - b.index;
  });
  return keyed.map((k) => k.resource);
}

/** Missing values sort last in both directions. */
function compareKeys(a: SortKey, b: SortKey, descending: boolean): number {
  if (a === undefined || b === undefined) return a === b ? 0 : a === undefined ? 1 : -1;
  const order = a < b ? -1 : a > b ? 1 : 0;
  return descending ? -order : order;
}

/**
 * One comparable value per resource: for several values the smallest when ascending and the
 * largest when descending (what a SQL server's MIN/MAX aggregate gives).
 */
function sortKeyOf(resource: Resource, param: SearchParameter | undefined, descending: boolean): SortKey {
  const expression = param?.expression;
  if (!param || !expression) return undefined;
  const values = cached(resource, `sort:${param.code}`, (): SortKey[] => {
    try {
      return keyValues(param.type, evalFhirPathTyped(expression, [toTypedValue(resource)]));
    } catch {
      return []; // a value the engine cannot read (e.g. a malformed date) sorts as missing
    }
  });
  let best: SortKey;
  for (const value of values) {
    if (value === undefined || (typeof value === 'number' && !Number.isFinite(value))) continue;
    if (best === undefined || (descending ? value > best : value < best)) best = value;
  }
  return best;
}

function keyValues(type: string, typed: TypedValue[]): SortKey[] {
  switch (type) {
    case 'date':
      // The low end of each value's range, as an instant: 2025-01-15T07:00:00-05:00 == 12:00Z.
      return convertToSearchableDates(typed).map((p) => {
        const bound = p.start ?? p.end;
        return bound === undefined ? undefined : Date.parse(bound);
      });
    case 'number':
      return convertToSearchableNumbers(typed).map(([low]) => low);
    case 'quantity':
      return typed.map((t) => {
        const value: unknown = (t.value as { value?: unknown } | undefined)?.value;
        return typeof value === 'number' ? value : undefined;
      });
    case 'token':
      return convertToSearchableTokens(typed).map((t) => `${t.system ?? ''}|${t.value ?? ''}`.toLowerCase());
    case 'reference':
      return convertToSearchableReferences(typed);
    default:
      return convertToSearchableStrings(typed).map((s) => s.toLowerCase());
  }
}
