/**
 * A per-request FHIR client for one hook call: it holds the EHR's access token for that call only
 * and never logs it.
 *
 * All requests of a call share one deadline, one byte budget and one abort switch (a FhirCall,
 * see fhir-http.ts), so all queries stop together at the deadline, when the answers grow too big,
 * or on the first failure. The HTTP itself is in fhir-http.ts (Node's fetch with a bounded
 * reader): fhir-kit-client reads bodies without a bound, so it is kept for the fixture tools
 * (fhir-admin-client.ts) only.
 */
import { isWithinFhirBase } from '../trust/fhir-server-binding.js';
import { FhirCall, FhirHttpError, fetchFhirJson, type FhirBytePool } from './fhir-http.js';

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
  /** Stops every request in flight (another query failed). */
  abort(): void;
  /** Ends the call: clears the deadline timer and cancels anything left. Call it in a `finally`. */
  close(): void;
  readonly requestCount: number;
}

export interface FhirClientOptions {
  baseUrl: string;
  accessToken: string | undefined;
  /** One deadline for every request of the call, reading the bodies included. */
  timeoutMs: number;
  /** Decompressed bytes all answers of the call may take together. */
  maxResponseBytes: number;
  /** The process's budget for answers being read by all calls at once (FHIR_MAX_INFLIGHT_BYTES). */
  bytePool?: FhirBytePool;
  batchSupport?: BatchSupportMemory;
  /** Told of every HTTP request's outcome and duration (metrics; no URL, no PHI). */
  onRequest?: FhirRequestObserver;
}

/** Low-cardinality outcome of one FHIR HTTP request, for metrics. */
export type FhirRequestOutcome =
  'ok' | 'http-4xx' | 'http-5xx' | 'deadline' | 'too-many-bytes' | 'busy' | 'cancelled' | 'failed';
export type FhirRequestObserver = (outcome: FhirRequestOutcome, seconds: number) => void;

function outcomeOf(error: unknown, call: FhirCall): FhirRequestOutcome {
  const stop = call.stopReason;
  if (stop !== undefined) return stop;
  if (error instanceof FhirHttpError && error.status !== undefined)
    return error.status >= 500 ? 'http-5xx' : 'http-4xx';
  return 'failed';
}

export function openFhirClient(options: FhirClientOptions): FhirClient {
  const baseUrl = options.baseUrl.replace(/\/+$/, '');
  const call = new FhirCall({
    timeoutMs: options.timeoutMs,
    maxResponseBytes: options.maxResponseBytes,
    ...(options.bytePool && { pool: options.bytePool }),
  });
  const accessToken = options.accessToken;
  let requestCount = 0;
  const observe = options.onRequest;
  const fetchJson: typeof fetchFhirJson = async (c, request) => {
    const started = process.hrtime.bigint();
    const seconds = () => Number(process.hrtime.bigint() - started) / 1e9;
    try {
      const answer = await fetchFhirJson(c, request);
      observe?.('ok', seconds());
      return answer;
    } catch (error) {
      observe?.(outcomeOf(error, c), seconds());
      throw error;
    }
  };
  const get = async (url: string, what: string): Promise<unknown> => {
    requestCount++;
    try {
      return await fetchJson(call, { method: 'GET', url: expandUrl(baseUrl, url), accessToken });
    } catch (error) {
      throw new FhirFetchError(`${what}: ${describeFailure(error, call)}`);
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
        answer = await fetchJson(call, {
          method: 'POST',
          url: `${baseUrl}/`,
          accessToken,
          body: JSON.stringify(batchOf(reads)),
        });
      } catch (error) {
        const status = error instanceof FhirHttpError ? error.status : undefined;
        // Refused credentials, a timeout, too many bytes or an unreachable server fail the call as
        // any GET would; a server that answers the batch with another error does not take batches.
        if (call.signal.aborted || status === undefined || status === 401 || status === 403) {
          throw new FhirFetchError(
            `a batch of ${reads.length} FHIR searches: ${describeFailure(error, call)}`,
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
      call.stop('cancelled');
    },
    close() {
      call.close();
    },
    get requestCount() {
      return requestCount;
    },
  };
}

/** A relative URL under the base; an absolute one (a `next` link, checked by isOwnUrl) as is. */
function expandUrl(baseUrl: string, url: string): string {
  if (/^https?:\/\//i.test(url)) return url;
  return `${baseUrl}/${url.replace(/^\/+/, '')}`;
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
function describeFailure(error: unknown, call: FhirCall): string {
  if (call.signal.aborted) return call.describeStop();
  if (error instanceof FhirHttpError) return error.message;
  return 'the FHIR request failed';
}
