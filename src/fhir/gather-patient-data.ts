/**
 * Gathers the data one patient-view call needs: each prefetch key is taken from the request's
 * prefetch where the EHR gave it, else fetched from `fhirServer` with fhir-kit-client.
 *
 * CDS Hooks 2.0 prefetch semantics (https://cds-hooks.hl7.org/2.0/#prefetch-template):
 * - key absent: the EHR did not fetch it, so the service fetches it itself;
 * - key `null`: the EHR found no data;
 * - an OperationOutcome: the EHR hit an error, so the service tries itself;
 * - a Bundle may be paginated: `next` links are followed, within bounds.
 * When data cannot be had the service answers 412 (https://cds-hooks.hl7.org/2.0/#http-response).
 *
 * Every resource is narrowed (narrow-resources.ts) and must belong to the patient in context
 * (patient-reference.ts) before the rules see it; the others are counted in `PatientData.unused`.
 *
 * This module and fhir-client.ts are the only places that talk to a FHIR server.
 */
import type { Medication, MedicationAdministration } from 'fhir/r4';
import { badRequest, preconditionFailed } from '../errors/cds-error.js';
import {
  PREFETCH_KEYS,
  PREFETCH_KEY_NAMES,
  type PrefetchKeyName,
  type PrefetchKeys,
} from '../cds-hooks/crs-sentinel-service.js';
import type { PatientData } from '../rules/crs-sentinel/patient-data.js';
import {
  FhirFetchError,
  openFhirClient,
  type BatchSupportMemory,
  type FhirClient,
  type FhirRequestObserver,
} from './fhir-client.js';
import {
  bundleResources,
  clinicalTime,
  isBundle,
  isOperationOutcome,
  isResource,
  nextLink,
} from './fhir-resource-narrowing.js';
import { assemblePatientData, UnusedTally } from './assemble-patient-data.js';
import { resourceProblem } from './narrow-resources.js';

import type { FhirBytePool } from './fhir-http.js';

/** FHIR_MAX_RESPONSE_BYTES's default: real prefetch-sized answers run to a few MB per hook. */
export const DEFAULT_FHIR_MAX_RESPONSE_BYTES = 32 * 1024 * 1024;

export interface GatherLimits {
  /** One deadline for all FHIR traffic of a hook call, so a slow server cannot hang the EHR. */
  timeoutMs: number;
  /** Decompressed bytes all FHIR answers of a hook call may take together (default 32 MiB). */
  maxResponseBytes?: number;
  /** The process's budget for answers being read by all calls at once (FHIR_MAX_INFLIGHT_BYTES). */
  bytePool?: FhirBytePool;
  /** Pages followed per search, prefetch's first page included. */
  maxPages: number;
  /** Paging stops once a whole page is older than this (the rules' longest look-back). */
  horizon: Date;
  /** Which FHIR servers answered a batch of searches (remembered across calls; no PHI). */
  batchSupport?: BatchSupportMemory;
  /** Told of each FHIR request's outcome and duration (metrics). */
  onFhirRequest?: FhirRequestObserver;
}

export interface GatherInput {
  patientId: string;
  prefetch: Record<string, unknown> | undefined;
  fhirServer: string | undefined;
  accessToken: string | undefined;
}

export interface GatherResult {
  data: PatientData;
  /** Count of HTTP requests made to the FHIR server (for logs and benchmarks). */
  fhirRequests: number;
  /** Prefetch keys taken from prefetch, and those fetched; for logs, no PHI. */
  prefetched: PrefetchKeyName[];
  fetched: PrefetchKeyName[];
}

interface KeyResult {
  key: PrefetchKeyName;
  resources: unknown[];
  truncated: boolean;
  source: 'prefetch' | 'fetch';
}

/**
 * `keys`: the prefetch keys of the site's code mapping (prefetchKeysFor), so the searches made
 * for a key the EHR did not prefetch carry the site's own codes, as discovery published them.
 */
export async function gatherPatientData(
  input: GatherInput,
  limits: GatherLimits,
  keys: PrefetchKeys = PREFETCH_KEYS,
): Promise<GatherResult> {
  // A lone surrogate cannot be put in a URL (encodeURIComponent throws URIError) nor be a FHIR id
  // (https://hl7.org/fhir/R4/datatypes.html#id): the request itself is malformed, so 400.
  if (!isWellFormed(input.patientId)) {
    throw badRequest('context.patientId: not well-formed Unicode (a lone surrogate)');
  }
  const client = input.fhirServer
    ? openFhirClient({
        baseUrl: input.fhirServer,
        accessToken: input.accessToken,
        timeoutMs: limits.timeoutMs,
        maxResponseBytes: limits.maxResponseBytes ?? DEFAULT_FHIR_MAX_RESPONSE_BYTES,
        ...(limits.bytePool ? { bytePool: limits.bytePool } : {}),
        ...(limits.batchSupport ? { batchSupport: limits.batchSupport } : {}),
        ...(limits.onFhirRequest ? { onRequest: limits.onFhirRequest } : {}),
      })
    : undefined;
  try {
    const given = PREFETCH_KEY_NAMES.map((key) => fromPrefetch(key, keys, input, client !== undefined));
    const toFetch = given.flatMap((g, i) =>
      g === undefined ? [PREFETCH_KEY_NAMES[i] as PrefetchKeyName] : [],
    );
    const answers = await fetchKeys(toFetch, keys, input, client);
    const results = await Promise.all(
      PREFETCH_KEY_NAMES.map(async (key, i): Promise<KeyResult> => {
        const prefetched = given[i];
        if (prefetched === undefined) return fetchedKey(key, answers.get(key), client, limits);
        if (prefetched.kind === 'done') return prefetched.result;
        return pageOn(key, prefetched.bundle, client, limits, 'prefetch');
      }),
    );
    const data = assemblePatientData(results, keys, input.patientId);
    await resolveMedicationReferences(data, client);
    return {
      data,
      fhirRequests: client?.requestCount ?? 0,
      prefetched: results.filter((r) => r.source === 'prefetch').map((r) => r.key),
      fetched: results.filter((r) => r.source === 'fetch').map((r) => r.key),
    };
  } catch (error) {
    client?.abort();
    throw error instanceof FhirFetchError ? preconditionFailed(error.message) : error;
  } finally {
    client?.close();
  }
}

/** String.prototype.isWellFormed (ES2024, in Node 20) without the ES2024 lib typings. */
function isWellFormed(text: string): boolean {
  return !/\p{Surrogate}/u.test(text);
}

type Prefetched = { kind: 'done'; result: KeyResult } | { kind: 'page-on'; bundle: unknown };

/** What the EHR's prefetch gives for a key; undefined when the service must fetch it itself. */
function fromPrefetch(
  key: PrefetchKeyName,
  keys: PrefetchKeys,
  input: GatherInput,
  canFetch: boolean,
): Prefetched | undefined {
  const given = input.prefetch?.[key];
  const skippable: boolean = keys[key].supplementary === true && !canFetch && input.prefetch !== undefined;
  if (skippable && (given === undefined || isOperationOutcome(given)))
    return { kind: 'done', result: { key, resources: [], truncated: false, source: 'prefetch' } };
  if (given === null)
    return { kind: 'done', result: { key, resources: [], truncated: false, source: 'prefetch' } };
  if (given === undefined || isOperationOutcome(given)) return undefined;
  if (isBundle(given)) return { kind: 'page-on', bundle: given };
  if (key === 'patient' && isResource(given) && given.resourceType === 'Patient') {
    return { kind: 'done', result: { key, resources: [given], truncated: false, source: 'prefetch' } };
  }
  throw preconditionFailed(`prefetch.${key}: not a FHIR ${key === 'patient' ? 'Patient' : 'Bundle'}`);
}

/** Fetches every key the prefetch lacked in one round trip (a FHIR batch, or parallel GETs). */
async function fetchKeys(
  names: PrefetchKeyName[],
  keys: PrefetchKeys,
  input: GatherInput,
  client: FhirClient | undefined,
): Promise<Map<PrefetchKeyName, unknown>> {
  const [first] = names;
  if (first === undefined) return new Map();
  if (!client) {
    const why = input.prefetch?.[first] === undefined ? 'is missing' : 'is an OperationOutcome';
    throw preconditionFailed(`prefetch.${first} ${why} and the request has no fhirServer to fetch it from`);
  }
  const requests = names.map((key) => ({
    url: keys[key].template.replace('{{context.patientId}}', encodeURIComponent(input.patientId)),
    what: key,
  }));
  const answers = await client.getAll(requests);
  return new Map(names.map((key, i) => [key, answers[i]]));
}

async function fetchedKey(
  key: PrefetchKeyName,
  answer: unknown,
  client: FhirClient | undefined,
  limits: GatherLimits,
): Promise<KeyResult> {
  if (key === 'patient') {
    if (isResource(answer) && answer.resourceType === 'Patient') {
      return { key, resources: [answer], truncated: false, source: 'fetch' };
    }
    throw new FhirFetchError(`${key}: the FHIR server did not answer with a Patient`);
  }
  if (!isBundle(answer)) throw new FhirFetchError(`${key}: the FHIR server did not answer with a Bundle`);
  return pageOn(key, answer, client, limits, 'fetch');
}

/** Follows `next` links within bounds: page limit, horizon, loop detection, same server only. */
async function pageOn(
  key: PrefetchKeyName,
  first: unknown,
  client: FhirClient | undefined,
  limits: GatherLimits,
  source: KeyResult['source'],
): Promise<KeyResult> {
  const resources: unknown[] = [];
  const seen = new Set<string>();
  let page = first;
  for (let pages = 1; ; pages++) {
    if (!isBundle(page)) throw new FhirFetchError(`${key}: a page of results was not a FHIR Bundle`);
    const pageResources = bundleResources(page);
    // One at a time: a spread of a 130,000-entry page overflows the call stack (RangeError).
    for (const resource of pageResources) resources.push(resource);
    const next = nextLink(page);
    if (next === undefined || olderThan(pageResources, limits.horizon))
      return { key, resources, truncated: false, source };
    // A next link we cannot or should not follow leaves older data unseen: report it as truncated.
    if (!client || pages >= limits.maxPages || seen.has(next) || !client.isOwnUrl(next)) {
      return { key, resources, truncated: true, source };
    }
    seen.add(next);
    page = await client.get(next, key);
  }
}

/**
 * Every resource on the page is older than the horizon, so later pages (newest first) are too.
 * An empty page says nothing about what follows it (servers that filter a page after paging send
 * one with a `next` link): it is paged on, or reported as truncated, never read as the end.
 */
function olderThan(resources: unknown[], horizon: Date): boolean {
  if (resources.length === 0) return false;
  return resources.every((r) => {
    const time = clinicalTime(r);
    const ms = time === undefined ? Number.NaN : Date.parse(time);
    return !Number.isNaN(ms) && ms < horizon.getTime();
  });
}

/**
 * Administrations that name their drug by `medicationReference` to a Medication neither contained
 * nor bundled: fetch those Medications in one search, so products are recognised by code or name.
 */
async function resolveMedicationReferences(data: PatientData, client: FhirClient | undefined): Promise<void> {
  const ids = unresolvedMedicationIds(data.medicationAdministrations, data.medications);
  if (ids.length === 0 || !client) return;
  const answer = await client.get(
    `Medication?_id=${ids.map(encodeURIComponent).join(',')}&_count=${ids.length}`,
    'medications',
  );
  if (!isBundle(answer))
    throw new FhirFetchError('medications: the FHIR server did not answer with a Bundle');
  const unused = new UnusedTally();
  for (const item of data.unused) unused.restore(item);
  for (const resource of bundleResources(answer)) {
    if (!isResource(resource) || resource.resourceType !== 'Medication') continue;
    const problem = resourceProblem('Medication', resource);
    if (problem === undefined) data.medications.push(resource);
    else unused.add('Medication', 'malformed', problem);
  }
  data.unused = unused.list();
}

const MAX_MEDICATION_IDS = 100;

function unresolvedMedicationIds(
  administrations: MedicationAdministration[],
  medications: Medication[],
): string[] {
  const known = new Set(medications.map((m) => m.id));
  const wanted = new Set<string>();
  for (const administration of administrations) {
    const reference = administration.medicationReference?.reference;
    const match =
      typeof reference === 'string' ? /^(?:.*\/)?Medication\/([A-Za-z0-9\-.]{1,64})$/.exec(reference) : null;
    const id = match?.[1];
    if (id !== undefined && !known.has(id)) wanted.add(id);
  }
  return [...wanted].slice(0, MAX_MEDICATION_IDS);
}
