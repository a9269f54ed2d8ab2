/**
 * The sandbox's CapabilityStatement (`GET [base]/metadata`): what the in-memory engine really does,
 * so a client reading it is not promised a search it would then see refused.
 */
import type { CapabilityStatement, CapabilityStatementRestResource } from 'fhir/r4';
import {
  MATCHABLE_SEARCH_PARAMETER_TYPES,
  r4ResourceTypeList,
  searchParametersOf,
} from './fhir-definitions.js';

export const SANDBOX_SOFTWARE_NAME = 'crs-sentinel embedded FHIR sandbox (Medplum fhir-router, in memory)';

const RESULT_PARAMETERS: NonNullable<CapabilityStatementRestResource['searchParam']> = [
  { name: '_count', type: 'number', documentation: 'Page size: 20 by default, at most 1000.' },
  { name: '_offset', type: 'number', documentation: 'Number of matches to skip (the next links use it).' },
  { name: '_sort', type: 'string', documentation: 'Comma-separated sort keys, `-` for descending.' },
];

export function buildCapabilityStatement(baseUrl: string, softwareVersion: string): CapabilityStatement {
  const resource: CapabilityStatementRestResource[] = r4ResourceTypeList().map((type) => ({
    type: type as CapabilityStatementRestResource['type'],
    interaction: [
      { code: 'read' },
      { code: 'vread' },
      { code: 'update' },
      { code: 'patch' },
      { code: 'delete' },
      { code: 'history-instance' },
      { code: 'create' },
      { code: 'search-type' },
    ],
    versioning: 'versioned',
    updateCreate: true,
    conditionalCreate: true,
    conditionalUpdate: true,
    conditionalDelete: 'single',
    searchInclude: referenceParameters(type).map((code) => `${type}:${code}`),
    searchParam: [
      ...Object.entries(searchParametersOf(type))
        .filter(([, param]) => MATCHABLE_SEARCH_PARAMETER_TYPES.has(param.type))
        .map(([code, param]) => ({
          name: code,
          type: param.type,
          ...(param.url ? { definition: param.url } : {}),
        }))
        .sort((a, b) => a.name.localeCompare(b.name)),
      ...RESULT_PARAMETERS,
    ],
  }));
  return {
    resourceType: 'CapabilityStatement',
    status: 'active',
    date: new Date().toISOString(),
    kind: 'instance',
    software: { name: SANDBOX_SOFTWARE_NAME, version: softwareVersion },
    implementation: { description: 'In-memory FHIR R4 server for trying crs-sentinel', url: baseUrl },
    fhirVersion: '4.0.1',
    format: ['application/fhir+json', 'json'],
    rest: [
      {
        mode: 'server',
        documentation:
          'Unknown search parameters, chained search, _include=* and parameter types the engine cannot ' +
          'match (number, quantity, composite, special) answer 400. A bare id is accepted for a ' +
          'reference parameter. Transactions are all or nothing.',
        resource,
        interaction: [{ code: 'transaction' }, { code: 'batch' }],
      },
    ],
  };
}

function referenceParameters(type: string): string[] {
  return Object.entries(searchParametersOf(type))
    .filter(([, param]) => param.type === 'reference')
    .map(([code]) => code)
    .sort();
}
