/**
 * The fixture loader: puts the constructed fixture patients (fixtures/crs-sentinel/) into any FHIR
 * R4 server as one tagged "run", lists what a run wrote, and deletes exactly that.
 *
 * - load: the fixtures are rewritten for the run (prepare-run-bundles.ts: run-prefixed ids and
 *   identifiers, run tag, dates rebased from the manifest anchor to `now`) and sent one transaction
 *   per fixture patient. A server that refuses transactions (HTTP 400/404/405/501, or an
 *   OperationOutcome saying not supported) gets individual PUTs instead, referenced resources first.
 *   Nothing else is written.
 * - list: each resource type the fixtures use is searched by `_tag=<system>|<run tag>`.
 * - delete: the same searches, every page collected first; every hit must carry the run tag (a
 *   server that ignores `_tag` answers with other data, and then nothing at all is deleted) and the
 *   run's id prefix; then DELETE one by one, referencing resources before the ones they reference.
 * Every failure is a FixtureLoaderError with a one-line message; the token never appears in one.
 */
import { existsSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import type { Bundle, CapabilityStatement, Resource } from 'fhir/r4';
import { FhirAdminError, openFhirAdminClient, type FhirAdminClient } from '../fhir/fhir-admin-client.js';
import { loadAllFixtures, MANIFEST_FILE, type FixtureExpectation } from '../fixtures/fixture-manifest.js';
import { prepareRunBundles } from './prepare-run-bundles.js';
import { carriesRunTag, checkRunTag, makeRunTag, runIdPrefix, runTagSearchValue } from './run-tag.js';

export const DEFAULT_TIMEOUT_MS = 20_000;

/**
 * The resource types a run writes, in the order they are written: referenced resources before the
 * resources that reference them. Deletion goes in reverse order.
 */
export const RUN_RESOURCE_TYPES = [
  'Patient',
  'Encounter',
  'Medication',
  'Condition',
  'Procedure',
  'Observation',
  'MedicationAdministration',
] as const;

/** How many PUTs or DELETEs of one dependency tier run at once. */
const CONCURRENCY = 6;

export class FixtureLoaderError extends Error {
  override name = 'FixtureLoaderError';
}

export interface LoadOptions {
  /** The FHIR R4 base URL, e.g. https://hapi.fhir.org/baseR4. */
  fhirBase: string;
  /** Bearer token sent as `Authorization: Bearer ...`; never printed. */
  token?: string | undefined;
  /** The time the stories are moved to (the wall clock by default). */
  now?: Date | undefined;
  /** Load only the fixture patients whose fixture id contains this text. */
  only?: string | undefined;
  /** Reuse a run tag (e.g. to add patients to a run); a fresh one by default. */
  runTag?: string | undefined;
  /** Per-request deadline in ms (20 000 by default). */
  timeoutMs?: number | undefined;
  /** The fixture directory (fixtures/crs-sentinel/ by default). */
  fixtureDir?: string | undefined;
}

export interface LoadedPatient {
  /** The id the patient has on the server. */
  patientId: string;
  /** The id in the fixture files (`crs-fx-...`). */
  fixturePatientId: string;
  file: string;
  story: string;
  expected: FixtureExpectation;
}

export interface LoadResult {
  runTag: string;
  patients: LoadedPatient[];
  /** 'individual-puts' when the server refused transactions. */
  mode: 'transaction' | 'individual-puts';
  /** Resources written. */
  resources: number;
}

export interface ConnectionOptions {
  token?: string | undefined;
  timeoutMs?: number | undefined;
}

export interface RunListing {
  runTag: string;
  /** Every resource carrying the run tag, in RUN_RESOURCE_TYPES order. */
  resources: { resourceType: string; id: string }[];
  /** Resources per type (types with none are left out). */
  counts: Record<string, number>;
  /** The run's Patient ids. */
  patients: string[];
}

export interface DeleteResult {
  runTag: string;
  /** Resources deleted per type. */
  deleted: Record<string, number>;
  /** Resources the server already considered gone (404/410 on DELETE). */
  alreadyGone: number;
  total: number;
}

/** The fixture directory, from src/fixture-loader/ (tests) or dist/src/fixture-loader/ (the script). */
export function defaultFixtureDir(): string {
  const candidates = ['../../fixtures/crs-sentinel', '../../../fixtures/crs-sentinel'].map((relative) =>
    fileURLToPath(new URL(relative, import.meta.url)),
  );
  return candidates.find((dir) => existsSync(`${dir}/${MANIFEST_FILE}`)) ?? (candidates[0] as string);
}

export async function loadFixtures(options: LoadOptions): Promise<LoadResult> {
  const runTag = options.runTag === undefined ? makeRunTag() : checkRunTag(options.runTag);
  const { manifest, fixtures } = loadAllFixtures(options.fixtureDir ?? defaultFixtureDir());
  const selected =
    options.only === undefined ? fixtures : fixtures.filter((f) => f.patientId.includes(options.only ?? ''));
  if (selected.length === 0) {
    throw new FixtureLoaderError(
      `no fixture patient id contains ${JSON.stringify(options.only)} (ids look like ${fixtures[0]?.patientId ?? 'crs-fx-...'})`,
    );
  }
  for (const fixture of selected) {
    for (const entry of fixture.bundle.entry ?? []) {
      const type = entry.resource?.resourceType ?? '';
      if (!(RUN_RESOURCE_TYPES as readonly string[]).includes(type)) {
        throw new FixtureLoaderError(
          `${fixture.file}: ${type} is not in RUN_RESOURCE_TYPES, so a run could not be deleted completely`,
        );
      }
    }
  }
  let prepared;
  try {
    prepared = prepareRunBundles(
      selected.map((f) => ({ file: f.file, bundle: f.bundle })),
      { runTag, anchor: new Date(manifest.anchor), now: options.now ?? new Date() },
    );
  } catch (error) {
    throw new FixtureLoaderError(error instanceof Error ? error.message : String(error));
  }

  const connection = await connect(options.fhirBase, options);
  const { client } = connection;
  let mode: LoadResult['mode'] = 'transaction';
  let written = 0;
  /** Set once the server may hold something of the run (a 2xx transaction answer, any PUT sent). */
  let mayHaveWritten = false;
  for (const [index, bundle] of prepared.bundles.entries()) {
    const file = selected[index]?.file ?? '';
    try {
      if (mode === 'transaction') {
        try {
          const response = await client.transaction(bundle);
          mayHaveWritten = true;
          checkTransactionResponse(response, bundle);
          written += bundle.entry?.length ?? 0;
          continue;
        } catch (error) {
          // Only the first transaction decides: once one went through, a later failure is real.
          if (index > 0 || !refusesTransactions(error)) throw error;
          mode = 'individual-puts';
        }
      }
      mayHaveWritten = true;
      written += await putIndividually(client, bundle);
    } catch (error) {
      const cleanup = mayHaveWritten
        ? `; what was written carries run tag ${runTag}: remove it with --delete --run ${runTag}`
        : '';
      throw new FixtureLoaderError(`${file}: ${describe(error, connection.base, options.token)}${cleanup}`);
    }
  }

  return {
    runTag,
    mode,
    resources: written,
    patients: selected.map((fixture) => ({
      patientId: prepared.idMap.get(`Patient/${fixture.patientId}`) ?? fixture.patientId,
      fixturePatientId: fixture.patientId,
      file: fixture.file,
      story: fixture.story,
      expected: fixture.expected,
    })),
  };
}

export async function listRun(
  fhirBase: string,
  runTag: string,
  token?: string,
  options: { timeoutMs?: number } = {},
): Promise<RunListing> {
  const tag = checkTagForCli(runTag);
  const connection = await connect(fhirBase, { token, timeoutMs: options.timeoutMs });
  const found = await findRunResources(connection, tag, token);
  const counts: Record<string, number> = {};
  for (const r of found) counts[r.resourceType] = (counts[r.resourceType] ?? 0) + 1;
  return {
    runTag: tag,
    resources: found.map((r) => ({ resourceType: r.resourceType, id: r.id })),
    counts,
    patients: found.filter((r) => r.resourceType === 'Patient').map((r) => r.id),
  };
}

export async function deleteRun(
  fhirBase: string,
  runTag: string,
  token?: string,
  options: { timeoutMs?: number } = {},
): Promise<DeleteResult> {
  const tag = checkTagForCli(runTag);
  const connection = await connect(fhirBase, { token, timeoutMs: options.timeoutMs });
  const found = await findRunResources(connection, tag, token);
  const deleted: Record<string, number> = {};
  let alreadyGone = 0;
  for (const type of [...RUN_RESOURCE_TYPES].reverse()) {
    const ofType = found.filter((r) => r.resourceType === type);
    try {
      await inPool(ofType, CONCURRENCY, async (r) => {
        if (await connection.client.delete(r.resourceType, r.id)) {
          deleted[type] = (deleted[type] ?? 0) + 1;
        } else {
          alreadyGone++;
        }
      });
    } catch (error) {
      const done = Object.values(deleted).reduce((a, b) => a + b, 0);
      throw new FixtureLoaderError(
        `${describe(error, connection.base, token)} (${done} of ${found.length} resources of run ${tag} deleted so far; run --delete again to finish)`,
      );
    }
  }
  return {
    runTag: tag,
    deleted,
    alreadyGone,
    total: Object.values(deleted).reduce((a, b) => a + b, 0),
  };
}

// ---- internals -----------------------------------------------------------------------------------

interface Connection {
  client: FhirAdminClient;
  base: string;
}

function checkTagForCli(runTag: string): string {
  try {
    return checkRunTag(runTag);
  } catch (error) {
    throw new FixtureLoaderError(error instanceof Error ? error.message : String(error));
  }
}

/** Opens the client and checks that the base answers GET metadata with an R4 CapabilityStatement. */
async function connect(fhirBase: string, options: ConnectionOptions): Promise<Connection> {
  let base: string;
  try {
    const url = new URL(fhirBase);
    if (url.protocol !== 'http:' && url.protocol !== 'https:') throw new Error('not http(s)');
    if (url.username !== '' || url.password !== '') {
      throw new FixtureLoaderError('the FHIR base URL must not carry credentials: use --token');
    }
    base = fhirBase.replace(/\/+$/, '');
  } catch (error) {
    if (error instanceof FixtureLoaderError) throw error;
    throw new FixtureLoaderError(
      `not an http(s) URL: ${JSON.stringify(fhirBase)} (give --fhir <FHIR R4 base URL>)`,
    );
  }
  const client = openFhirAdminClient({
    baseUrl: base,
    bearerToken: options.token,
    timeoutMs: options.timeoutMs ?? DEFAULT_TIMEOUT_MS,
  });
  let metadata: Resource;
  try {
    metadata = await client.capabilities();
  } catch (error) {
    if (error instanceof FhirAdminError && error.kind === 'http' && error.details.status === 404) {
      throw new FixtureLoaderError(
        `${base}/metadata answered HTTP 404: is ${base} the FHIR R4 base URL (e.g. https://hapi.fhir.org/baseR4)?`,
      );
    }
    throw new FixtureLoaderError(describe(error, base, options.token));
  }
  if (metadata.resourceType !== 'CapabilityStatement') {
    throw new FixtureLoaderError(
      `${base}/metadata answered a ${metadata.resourceType}, not a CapabilityStatement: is ${base} the FHIR R4 base URL?`,
    );
  }
  const version = (metadata as CapabilityStatement).fhirVersion;
  if (typeof version === 'string' && !version.startsWith('4.0')) {
    throw new FixtureLoaderError(`${base} is a FHIR ${version} server; the fixtures are FHIR R4 (4.0.x)`);
  }
  return { client, base };
}

/** Every resource of the run, verified to carry the run tag and the run's id prefix. */
async function findRunResources(
  connection: Connection,
  tag: string,
  token: string | undefined,
): Promise<(Resource & { id: string })[]> {
  const prefix = `${runIdPrefix(tag)}-`;
  const found: (Resource & { id: string })[] = [];
  for (const type of RUN_RESOURCE_TYPES) {
    let hits: Resource[];
    try {
      hits = await connection.client.searchAll(type, { _tag: runTagSearchValue(tag), _count: '100' });
    } catch (error) {
      throw new FixtureLoaderError(describe(error, connection.base, token));
    }
    for (const hit of hits) {
      if (
        hit.resourceType !== type ||
        hit.id === undefined ||
        !carriesRunTag(hit, tag) ||
        !hit.id.startsWith(prefix)
      ) {
        throw new FixtureLoaderError(
          `the search ${type}?_tag=${runTagSearchValue(tag)} answered ${hit.resourceType}/${hit.id ?? '(no id)'}, which is not part of run ${tag}: the server does not filter by _tag, so nothing was touched`,
        );
      }
      found.push(hit as Resource & { id: string });
    }
  }
  // A server may answer the same resource on two pages (paging over a changing result set).
  const unique = new Map(found.map((r) => [`${r.resourceType}/${r.id}`, r]));
  return [...unique.values()];
}

function checkTransactionResponse(response: Bundle, request: Bundle): void {
  const entries = response.entry ?? [];
  if (entries.length !== (request.entry ?? []).length) {
    throw new FhirAdminError(
      `POST transaction: the response has ${entries.length} entries for ${request.entry?.length ?? 0} requests`,
      'not-fhir',
    );
  }
  for (const [index, entry] of entries.entries()) {
    const status = Number.parseInt(entry.response?.status ?? '', 10);
    if (!(status >= 200 && status < 300)) {
      throw new FhirAdminError(
        `POST transaction: entry ${index} (${request.entry?.[index]?.request?.url ?? '?'}) answered ${entry.response?.status ?? 'no status'}`,
        'http',
        Number.isFinite(status) ? { status } : {},
      );
    }
  }
}

/** True when a failed transaction means "this server does not do transactions". */
function refusesTransactions(error: unknown): boolean {
  if (!(error instanceof FhirAdminError) || error.kind !== 'http') return false;
  const status = error.details.status ?? 0;
  if ([400, 404, 405, 501].includes(status)) return true;
  return /not[- ]supported|not implemented|transaction/i.test(error.details.outcome ?? '');
}

/** PUTs a Bundle's resources one by one, tier by tier (RUN_RESOURCE_TYPES order). */
async function putIndividually(client: FhirAdminClient, bundle: Bundle): Promise<number> {
  const resources = (bundle.entry ?? []).flatMap((e) =>
    e.resource?.id === undefined ? [] : [e.resource as Resource & { id: string }],
  );
  let count = 0;
  for (const type of RUN_RESOURCE_TYPES) {
    await inPool(
      resources.filter((r) => r.resourceType === type),
      CONCURRENCY,
      async (resource) => {
        await client.update(resource);
        count++;
      },
    );
  }
  return count;
}

/** Runs `fn` over `items`, at most `limit` at once; the first failure stops new work and rejects. */
async function inPool<T>(items: T[], limit: number, fn: (item: T) => Promise<void>): Promise<void> {
  let next = 0;
  let failed = false;
  const worker = async (): Promise<void> => {
    while (!failed && next < items.length) {
      const item = items[next++] as T;
      try {
        await fn(item);
      } catch (error) {
        failed = true;
        throw error;
      }
    }
  };
  const results = await Promise.allSettled(Array.from({ length: Math.min(limit, items.length) }, worker));
  const rejection = results.find((r): r is PromiseRejectedResult => r.status === 'rejected');
  if (rejection) throw rejection.reason;
}

/** One line for a failure, without the token. */
function describe(error: unknown, base: string, token: string | undefined): string {
  const text = describeRaw(error, base, token);
  return token ? text.split(token).join('[token]') : text;
}

function describeRaw(error: unknown, base: string, token: string | undefined): string {
  if (error instanceof FixtureLoaderError) return error.message;
  if (!(error instanceof FhirAdminError)) return error instanceof Error ? error.message : String(error);
  const { status, outcome, location, contentType, reason } = error.details;
  switch (error.kind) {
    case 'unreachable':
      return `cannot reach ${base}: ${reason ?? error.message}`;
    case 'timeout':
      return `cannot reach ${base}: ${error.message}`;
    case 'redirect':
      return `${base} answered with a redirect (HTTP ${status ?? '3xx'}${location ? ` to ${location}` : ''}), which is not followed: use the final URL as --fhir`;
    case 'not-fhir':
      return `${base} did not answer with FHIR JSON (${error.message}${contentType ? `, ${contentType}` : ''}): is it the FHIR R4 base URL?`;
    case 'http':
      if (status === 401 || status === 403) {
        return `the FHIR server refused the credentials (HTTP ${status}): check --token${token ? '' : ' (none was given)'}`;
      }
      if (contentType !== undefined && !/json/i.test(contentType) && outcome === undefined) {
        return `${base} did not answer with FHIR JSON (${error.message}, ${contentType}): is it the FHIR R4 base URL?`;
      }
      return `the FHIR server answered ${error.message}`;
  }
}
