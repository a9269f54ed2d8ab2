/**
 * A per-request FHIR client over fhir-kit-client (the only importer of it). One instance per hook
 * call: it holds the EHR's access token for that call only and never logs it.
 *
 * Every request shares one deadline (AbortSignal.timeout) and one abort switch, so all queries of a
 * call stop together on the first failure. Redirects are refused (`redirect: 'error'`): a FHIR
 * server must not bounce the bearer token to another host.
 */
import { Client } from 'fhir-kit-client';

export class FhirFetchError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'FhirFetchError';
  }
}

export interface FhirClient {
  /** GET a relative search/read URL or an absolute `next` link on the same server. */
  get(url: string, what: string): Promise<unknown>;
  /** True when `url` lies under this client's base URL (same origin and path prefix). */
  isOwnUrl(url: string): boolean;
  abort(): void;
  readonly requestCount: number;
}

export interface FhirClientOptions {
  baseUrl: string;
  accessToken: string | undefined;
  timeoutMs: number;
}

export function openFhirClient(options: FhirClientOptions): FhirClient {
  const baseUrl = options.baseUrl.replace(/\/+$/, '');
  const client = new Client(
    options.accessToken ? { baseUrl, bearerToken: options.accessToken } : { baseUrl },
  );
  const cancel = new AbortController();
  const signal = AbortSignal.any([cancel.signal, AbortSignal.timeout(options.timeoutMs)]);
  let requestCount = 0;
  return {
    async get(url, what) {
      requestCount++;
      try {
        return await client.request(url, { options: { signal, redirect: 'error' } });
      } catch (error) {
        throw new FhirFetchError(`${what}: ${describeFailure(error, signal, options.timeoutMs)}`);
      }
    },
    isOwnUrl(url) {
      return isUnderBase(url, baseUrl);
    },
    abort() {
      cancel.abort();
    },
    get requestCount() {
      return requestCount;
    },
  };
}

function isUnderBase(url: string, baseUrl: string): boolean {
  try {
    const target = new URL(url);
    const base = new URL(baseUrl);
    const basePath = base.pathname.replace(/\/+$/, '');
    return (
      target.origin === base.origin &&
      (target.pathname === basePath || target.pathname.startsWith(`${basePath}/`) || basePath === '')
    );
  } catch {
    return false;
  }
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
