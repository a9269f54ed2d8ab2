/**
 * A per-request FHIR client over fhir-kit-client (the only importer of it). One instance per hook
 * call: it holds the EHR's access token for that call only and never logs it.
 *
 * Every request shares one deadline (AbortSignal.timeout) and one abort switch, so all queries of a
 * call stop together on the first failure. Redirects are refused (`redirect: 'error'`): a FHIR
 * server must not bounce the bearer token to another host.
 */
import { Client } from 'fhir-kit-client';
import { isWithinFhirBase } from '../trust/fhir-server-binding.js';

export class FhirFetchError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'FhirFetchError';
  }
}

/**
 * Which FHIR servers answer a `batch` of searches: remembered by base URL across hook calls (a
 * server that refuses it costs one extra round trip once, not on every call). Bounded; no PHI.
 */
export class BatchSupportMemory {
  private readonly known = new Map<string, boolean>();

  constructor(private readonly maxServers = 1000) {}

  get(baseUrl: string): boolean | undefined {
    return this.known.get(baseUrl);
  }

  set(baseUrl: string, supported: boolean): void {
    if (this.known.size >= this.maxServers && !this.known.has(baseUrl)) this.known.clear();
    this.known.set(baseUrl, supported);
  }
}

export interface FhirRead {
  /** A relative read or search URL, e.g. `Observation?patient=1&_count=10`. */
  url: string;
  /** What it is for, in error messages (a prefetch key). */
  what: string;
}

export interface FhirClient {
  /** GET a relative search/read URL or an absolute `next` link on the same server. */
  get(url: string, what: string): Promise<unknown>;
  /**
   * Several reads in one round trip: a FHIR `batch` Bundle (one HTTP request), or parallel GETs
   * when the server does not take batches. Answers come back in the order asked.
   */
  getAll(reads: FhirRead[]): Promise<unknown[]>;
  /** True when `url` lies under this client's base URL (same origin and path prefix). */
  isOwnUrl(url: string): boolean;
  abort(): void;
  readonly requestCount: number;
}

export interface FhirClientOptions {
  baseUrl: string;
  accessToken: string | undefined;
  timeoutMs: number;
  batchSupport?: BatchSupportMemory;
}

export function openFhirClient(options: FhirClientOptions): FhirClient {
  const baseUrl = options.baseUrl.replace(/\/+$/, '');
  const client = new Client(
    options.accessToken ? { baseUrl, bearerToken: options.accessToken } : { baseUrl },
  );
  const cancel = new AbortController();
  const signal = AbortSignal.any([cancel.signal, AbortSignal.timeout(options.timeoutMs)]);
  let requestCount = 0;
  const get = async (url: string, what: string): Promise<unknown> => {
    requestCount++;
    try {
      return await client.request(url, { options: { signal, redirect: 'error' } });
    } catch (error) {
      throw new FhirFetchError(`${what}: ${describeFailure(error, signal, options.timeoutMs)}`);
    }
  };
  const parallel = (reads: FhirRead[]) => Promise.all(reads.map((r) => get(r.url, r.what)));
  return {
    get,
    async getAll(reads) {
      const memory = options.batchSupport;
      if (reads.length < 2 || memory?.get(baseUrl) === false) return parallel(reads);
      requestCount++;
      let answer: unknown;
      try {
        answer = await client.batch({ body: batchOf(reads), options: { signal, redirect: 'error' } });
      } catch (error) {
        const status = statusOf(error);
        // Refused credentials, a timeout or an unreachable server fail the call as any GET would.
        if (signal.aborted || status === undefined || status === 401 || status === 403) {
          throw new FhirFetchError(
            `a batch of ${reads.length} FHIR searches: ${describeFailure(error, signal, options.timeoutMs)}`,
          );
        }
        memory?.set(baseUrl, false);
        return parallel(reads);
      }
      const answers = batchAnswers(answer, reads);
      if (answers === undefined) {
        memory?.set(baseUrl, false);
        return parallel(reads);
      }
      memory?.set(baseUrl, true);
      return answers;
    },
    isOwnUrl(url) {
      return isWithinFhirBase(url, baseUrl);
    },
    abort() {
      cancel.abort();
    },
    get requestCount() {
      return requestCount;
    },
  };
}

function batchOf(reads: FhirRead[]) {
  return {
    resourceType: 'Bundle',
    type: 'batch',
    entry: reads.map((r) => ({ request: { method: 'GET', url: r.url } })),
  };
}

/**
 * The entries of a `batch-response`, in order (FHIR R4 3.1.0.2.2: "the response ... SHALL
 * contain one entry for each entry in the request, in the same order"). A failed entry fails its
 * read as a failed GET would; an answer that is not a batch-response of the right length is
 * undefined (the server does not really do batches).
 */
function batchAnswers(answer: unknown, reads: FhirRead[]): unknown[] | undefined {
  if (typeof answer !== 'object' || answer === null) return undefined;
  const bundle = answer as { resourceType?: unknown; type?: unknown; entry?: unknown };
  if (bundle.resourceType !== 'Bundle' || bundle.type !== 'batch-response' || !Array.isArray(bundle.entry)) {
    return undefined;
  }
  const entries = bundle.entry as unknown[];
  if (entries.length !== reads.length) return undefined;
  return entries.map((entry, i) => {
    const e = (typeof entry === 'object' && entry !== null ? entry : {}) as {
      resource?: unknown;
      response?: { status?: unknown };
    };
    const status = Number.parseInt(typeof e.response?.status === 'string' ? e.response.status : '', 10);
    if (!(status >= 200 && status < 300)) {
      const what = reads[i]?.what ?? 'batch entry';
      const refused = status === 401 || status === 403;
      throw new FhirFetchError(
        refused
          ? `${what}: the FHIR server refused access (HTTP ${status})`
          : `${what}: the FHIR server answered HTTP ${Number.isNaN(status) ? 'without a status' : status}`,
      );
    }
    return e.resource;
  });
}

/** A client-safe description: the kind of failure only, never the URL (it holds the patient id). */
function describeFailure(error: unknown, signal: AbortSignal, timeoutMs: number): string {
  if (signal.aborted) {
    const reason: unknown = signal.reason;
    return reason instanceof DOMException && reason.name === 'TimeoutError'
      ? `the FHIR server did not answer within ${timeoutMs} ms`
      : 'cancelled after another FHIR query failed';
  }
  const status = statusOf(error);
  // fhir-kit-client reports a 2xx body that is not JSON as an error carrying the 2xx status.
  if (status !== undefined && status >= 200 && status < 300)
    return 'the FHIR server did not answer with FHIR JSON';
  if (status !== undefined) {
    if (status === 401 || status === 403) return `the FHIR server refused access (HTTP ${status})`;
    if (status >= 300 && status < 400)
      return `the FHIR server answered with a redirect (HTTP ${status}), which is not followed`;
    return `the FHIR server answered HTTP ${status}`;
  }
  if (error instanceof Error && /JSON|Unexpected/i.test(error.message))
    return 'the FHIR server did not answer with FHIR JSON';
  if (error instanceof TypeError && /redirect/i.test(causeMessage(error))) {
    return 'the FHIR server answered with a redirect, which is not followed';
  }
  if (error instanceof TypeError) return 'the FHIR server could not be reached';
  return 'the FHIR request failed';
}

function statusOf(error: unknown): number | undefined {
  if (typeof error !== 'object' || error === null || !('response' in error)) return undefined;
  const response: unknown = error.response;
  if (typeof response !== 'object' || response === null || !('status' in response)) return undefined;
  return typeof response.status === 'number' ? response.status : undefined;
}

function causeMessage(error: Error): string {
  return error.cause instanceof Error ? error.cause.message : '';
}
