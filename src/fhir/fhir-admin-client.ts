/**
 * A thin write-capable FHIR client over fhir-kit-client for tooling (the fixture loader), not for
 * the service: transaction, update (PUT), delete, and search with paging. The service's own reads go
 * through ./fhir-client.ts.
 *
 * Every request gets its own deadline (AbortSignal.timeout). Redirects are not followed
 * (`redirect: 'manual'`): the bearer token must not be bounced to another host, and the caller is
 * told where the server points instead. `next` links are followed only under the base URL, for the
 * same reason. Failures are FhirAdminError with a `kind` the caller can turn into a message; the
 * token never appears in them.
 */
import { Client } from 'fhir-kit-client';
import type { Bundle, BundleLink, Resource } from 'fhir/r4';
import { isWithinFhirBase } from '../trust/fhir-server-binding.js';

export type FhirAdminFailure =
  /** No TCP/TLS connection (DNS, refused, reset). */
  | 'unreachable'
  /** No answer within the deadline. */
  | 'timeout'
  /** An HTTP error status (see `status`, `outcome`). */
  | 'http'
  /** A 3xx answer (see `location`). */
  | 'redirect'
  /** An answer that is not FHIR JSON (HTML, truncated JSON, JSON without resourceType). */
  | 'not-fhir';

export class FhirAdminError extends Error {
  override name = 'FhirAdminError';
  constructor(
    message: string,
    readonly kind: FhirAdminFailure,
    readonly details: {
      status?: number;
      /** The OperationOutcome's issue texts, when the server sent one. */
      outcome?: string;
      location?: string;
      contentType?: string;
      /** The low-level reason (e.g. `connect ECONNREFUSED 127.0.0.1:1`), for 'unreachable'. */
      reason?: string;
    } = {},
  ) {
    super(message);
  }
}

export interface FhirAdminClientOptions {
  baseUrl: string;
  bearerToken?: string | undefined;
  /** Per-request deadline in ms. */
  timeoutMs: number;
}

export interface FhirAdminClient {
  readonly baseUrl: string;
  /** GET [base]/metadata. */
  capabilities(): Promise<Resource>;
  /** POST [base] with a transaction Bundle; resolves to the response Bundle. */
  transaction(bundle: Bundle): Promise<Bundle>;
  /** PUT [base]/Type/id. */
  update(resource: Resource & { id: string }): Promise<Resource>;
  /** DELETE [base]/Type/id; resolves to false when the server says it is not there (404/410). */
  delete(resourceType: string, id: string): Promise<boolean>;
  /** GET [base]/Type?params, following `next` links; every resource with search mode `match`. */
  searchAll(resourceType: string, params: Record<string, string>, maxPages?: number): Promise<Resource[]>;
}

export function openFhirAdminClient(options: FhirAdminClientOptions): FhirAdminClient {
  const baseUrl = options.baseUrl.replace(/\/+$/, '');
  const client = new Client(
    options.bearerToken ? { baseUrl, bearerToken: options.bearerToken } : { baseUrl },
  );
  const requestOptions = () => ({
    signal: AbortSignal.timeout(options.timeoutMs),
    redirect: 'manual' as const,
  });
  const call = async <T>(what: string, fn: () => Promise<unknown>): Promise<T> => {
    try {
      const body = await fn();
      if (!isResource(body)) {
        throw new FhirAdminError(`${what}: the answer is JSON but not a FHIR resource`, 'not-fhir');
      }
      return body as T;
    } catch (error) {
      throw toAdminError(what, error, options.timeoutMs);
    }
  };

  return {
    baseUrl,
    capabilities: () => call('GET metadata', () => client.request('metadata', { options: requestOptions() })),
    transaction: async (bundle) => {
      const response = await call<Resource>('POST transaction', () =>
        client.transaction({
          body: bundle as unknown as Record<string, unknown> & { resourceType: string },
          options: requestOptions(),
        }),
      );
      if (response.resourceType !== 'Bundle') {
        throw new FhirAdminError(
          `POST transaction: the answer is a ${response.resourceType}, not a Bundle`,
          'not-fhir',
        );
      }
      return response as Bundle;
    },
    update: (resource) =>
      call(`PUT ${resource.resourceType}/${resource.id}`, () =>
        client.update({
          resourceType: resource.resourceType,
          id: resource.id,
          body: resource as unknown as Record<string, unknown> & { resourceType: string },
          options: requestOptions(),
        }),
      ),
    delete: async (resourceType, id) => {
      try {
        await client.delete({ resourceType, id, options: requestOptions() });
        return true;
      } catch (error) {
        const status = statusOf(error);
        if (status === 404 || status === 410) return false;
        // A 2xx answer with a non-JSON (or empty-but-odd) body still means deleted.
        if (status !== undefined && status >= 200 && status < 300) return true;
        throw toAdminError(`DELETE ${resourceType}/${id}`, error, options.timeoutMs);
      }
    },
    searchAll: async (resourceType, params, maxPages = 200) => {
      const what = `GET ${resourceType}?${new URLSearchParams(params).toString()}`;
      const out: Resource[] = [];
      const seen = new Set<string>();
      let page = await call<Resource>(what, () =>
        client.search({ resourceType, searchParams: params, options: requestOptions() }),
      );
      for (let pages = 1; ; pages++) {
        if (page.resourceType !== 'Bundle') {
          throw new FhirAdminError(`${what}: the answer is a ${page.resourceType}, not a Bundle`, 'not-fhir');
        }
        const bundle = page as Bundle;
        for (const entry of bundle.entry ?? []) {
          if (entry.resource && (entry.search?.mode ?? 'match') === 'match') out.push(entry.resource);
        }
        const next = (bundle.link ?? []).find((l: BundleLink) => l.relation === 'next')?.url;
        if (next === undefined || (bundle.entry ?? []).length === 0) return out;
        if (!isWithinFhirBase(next, baseUrl)) {
          throw new FhirAdminError(
            `${what}: the server's next link points outside ${baseUrl} (${next}); not followed`,
            'not-fhir',
          );
        }
        if (seen.has(next) || pages >= maxPages) {
          throw new FhirAdminError(`${what}: the server's paging does not end (page ${pages})`, 'not-fhir');
        }
        seen.add(next);
        page = await call<Resource>(what, () => client.request(next, { options: requestOptions() }));
      }
    },
  };
}

function isResource(value: unknown): value is Resource {
  return (
    typeof value === 'object' &&
    value !== null &&
    !Array.isArray(value) &&
    typeof (value as { resourceType?: unknown }).resourceType === 'string'
  );
}

function toAdminError(what: string, error: unknown, timeoutMs: number): FhirAdminError {
  if (error instanceof FhirAdminError) return error;
  if (error instanceof DOMException && (error.name === 'TimeoutError' || error.name === 'AbortError')) {
    return new FhirAdminError(`${what}: no answer within ${timeoutMs} ms`, 'timeout');
  }
  const status = statusOf(error);
  if (status !== undefined) {
    const data = dataOf(error);
    const contentType = headerOf(error, 'content-type');
    if (status >= 300 && status < 400) {
      const location = headerOf(error, 'location');
      return new FhirAdminError(
        `${what}: HTTP ${status} redirect${location ? ` to ${location}` : ''}`,
        'redirect',
        { status, ...(location ? { location } : {}) },
      );
    }
    if (typeof data === 'string') {
      // fhir-kit-client hands back the raw text when the body is not JSON (any status).
      if (status >= 200 && status < 300) {
        return new FhirAdminError(`${what}: HTTP ${status} but not FHIR JSON`, 'not-fhir', {
          status,
          ...(contentType ? { contentType } : {}),
        });
      }
      return new FhirAdminError(`${what}: HTTP ${status}`, 'http', {
        status,
        ...(contentType ? { contentType } : {}),
      });
    }
    const outcome = outcomeText(data);
    return new FhirAdminError(`${what}: HTTP ${status}${outcome ? `: ${outcome}` : ''}`, 'http', {
      status,
      ...(outcome ? { outcome } : {}),
      ...(contentType ? { contentType } : {}),
    });
  }
  if (error instanceof TypeError) {
    const reason = causeText(error);
    return new FhirAdminError(`${what}: ${reason}`, 'unreachable', { reason });
  }
  const message = error instanceof Error ? error.message : String(error);
  return new FhirAdminError(`${what}: ${message}`, 'unreachable', { reason: message });
}

function statusOf(error: unknown): number | undefined {
  const response = (error as { response?: { status?: unknown } } | null)?.response;
  return typeof response?.status === 'number' ? response.status : undefined;
}

function dataOf(error: unknown): unknown {
  return (error as { response?: { data?: unknown } } | null)?.response?.data;
}

function headerOf(error: unknown, name: string): string | undefined {
  const headers = (error as { config?: { headers?: unknown } } | null)?.config?.headers;
  if (headers instanceof Headers) return headers.get(name) ?? undefined;
  return undefined;
}

function outcomeText(data: unknown): string | undefined {
  if (!isResource(data) || data.resourceType !== 'OperationOutcome') return undefined;
  const issues = (data as { issue?: unknown }).issue;
  if (!Array.isArray(issues)) return undefined;
  const texts = issues
    .map((issue: unknown) => {
      const i = issue as { details?: { text?: unknown }; diagnostics?: unknown; code?: unknown };
      const text = i.details?.text ?? i.diagnostics ?? i.code;
      return typeof text === 'string' ? text : undefined;
    })
    .filter((t): t is string => t !== undefined && t !== '');
  return texts.length > 0 ? texts.join('; ') : undefined;
}

/** The most specific reason fetch gives: `connect ECONNREFUSED 127.0.0.1:1`, `getaddrinfo ENOTFOUND x`. */
function causeText(error: TypeError): string {
  let cause: unknown = error.cause;
  let text = error.message;
  for (let depth = 0; cause instanceof Error && depth < 4; depth++) {
    text = cause.message || text;
    cause = cause.cause;
  }
  if (cause !== undefined && typeof cause === 'object' && cause !== null && 'code' in cause) {
    const code = (cause as { code?: unknown }).code;
    if (typeof code === 'string' && !text.includes(code)) text = `${code}: ${text}`;
  }
  return text;
}
