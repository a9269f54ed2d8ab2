/**
 * The embedded FHIR R4 server: Medplum's FhirRouter and in-memory repository (a real FHIR engine:
 * its search parser, FHIRPath matcher and batch/transaction processor) behind express, with the
 * thin adapter a client expects from a production server:
 * - `Bundle.link` self / next / previous (absolute URLs under the sandbox base, `_count` +
 *   `_offset`), `fullUrl` and `search.mode` on every search entry;
 * - bare `patient=<id>` / `subject=<id>` references, `GET /metadata`, `POST [type]/_search`;
 * - search parameters narrowed to their resource type (fhir-definitions.ts) and HAPI-like search
 *   semantics (sandbox-repository.ts): unknown parameters answer 400, dates sort by instant;
 * - transactions all or nothing (Medplum's in-memory repository has no rollback and caps a
 *   transaction at 50 updates, which would refuse any real patient's Bundle);
 * - FHIR JSON (`application/fhir+json`) everywhere, OperationOutcome errors with their status, and
 *   no input that crashes it;
 * - CORS for any origin, preflight included (`Authorization` and `Content-Type` allowed, `Location`
 *   and `ETag` exposed), so a browser app such as the public CDS Hooks Sandbox
 *   (https://sandbox.cds-hooks.org) can use it as its FHIR server (issue 10). Any origin is fine
 *   here: the server holds test data only and sends no credentials-bearing cookies.
 * It binds 127.0.0.1 by default: it has no authentication and is for test data only.
 */
import { randomUUID } from 'node:crypto';
import { readFileSync } from 'node:fs';
import type { AddressInfo } from 'node:net';
import { createServer, type Server } from 'node:http';
import { createRequire } from 'node:module';
import path from 'node:path';
import { badRequest, getStatus, isOk, normalizeOperationOutcome, parseSearchRequest } from '@medplum/core';
import { FhirRouter, type FhirRequest, type HttpMethod } from '@medplum/fhir-router';
import type {
  OperationOutcome as MedplumOperationOutcome,
  Resource as MedplumResource,
} from '@medplum/fhirtypes';
import cors from 'cors';
import express, { type NextFunction, type Request, type Response } from 'express';
import { listenOn, type ListenVariables } from '../config/startup.js';
import type { Bundle, BundleEntry, BundleLink, OperationOutcome, Resource } from 'fhir/r4';
import { buildCapabilityStatement } from './capability-statement.js';
import { ensureFhirDefinitionsIndexed, isR4ResourceType } from './fhir-definitions.js';
import { SandboxRepository, searchPageOf } from './sandbox-repository.js';

export interface FhirSandboxOptions {
  /** Interface to bind; 127.0.0.1 unless told otherwise (the sandbox has no authentication). */
  host?: string;
  /** TCP port; 0 (the default) picks a free one. */
  port?: number;
  /** Path the FHIR API is served under; '/fhir' by default. */
  basePath?: string;
  /** Transaction (or batch) Bundles loaded before the server answers; start fails if one fails. */
  bundles?: Bundle[];
  /** Largest request body accepted; '50mb' by default (a whole MIMIC patient is ~6 MB). */
  bodyLimit?: string;
  /** The variables a listen error names (port in use, bad host); FHIR_SANDBOX_PORT/HOST by default. */
  listenVariables?: ListenVariables;
}

/** What the sandbox allows a browser to do (CORS, https://fetch.spec.whatwg.org/#http-cors-protocol). */
const SANDBOX_CORS = cors({
  origin: '*',
  methods: ['GET', 'HEAD', 'POST', 'PUT', 'PATCH', 'DELETE'],
  allowedHeaders: ['Authorization', 'Content-Type', 'Accept', 'Prefer', 'If-Match', 'If-None-Exist'],
  exposedHeaders: ['Location', 'Content-Location', 'ETag', 'Last-Modified'],
  maxAge: 600,
});

export interface FhirSandboxStats {
  /** HTTP requests answered since start. */
  requests: number;
  /** Wall time spent answering them (request received to response written), in ms. */
  serverTimeMs: number;
}

export interface FhirSandbox {
  /** e.g. http://127.0.0.1:8080/fhir (no trailing slash). */
  baseUrl: string;
  close(): Promise<void>;
  /** The in-memory store (Medplum's MemoryRepository API), for tests that look behind the HTTP API. */
  repository: SandboxRepository;
  /** Live counters: read them before and after a run to get the FHIR server's share. */
  stats: FhirSandboxStats;
  /** Loads a transaction or batch Bundle as `POST [base]` would; rejects when a transaction fails. */
  loadBundle(bundle: Bundle): Promise<Bundle>;
}

const FHIR_JSON = 'application/fhir+json; charset=utf-8';
const FHIR_ID = /^[A-Za-z0-9\-.]{1,64}$/;

/** Starts the sandbox; resolves once it listens with every `bundles` entry loaded. */
export async function startFhirSandbox(options: FhirSandboxOptions = {}): Promise<FhirSandbox> {
  ensureFhirDefinitionsIndexed();
  const host = options.host ?? '127.0.0.1';
  const basePath = normalizeBasePath(options.basePath ?? '/fhir');
  const repository = new SandboxRepository();
  const engine = new FhirEngine(repository);

  const stats: FhirSandboxStats = { requests: 0, serverTimeMs: 0 };
  let baseUrl = '';
  let capabilityStatement: Resource | undefined;
  const app = express();
  app.disable('x-powered-by');
  app.disable('etag');
  app.set('trust proxy', false);
  app.use(SANDBOX_CORS);
  app.use((_req, res, next) => {
    const start = performance.now();
    res.once('close', () => {
      stats.requests += 1;
      stats.serverTimeMs += performance.now() - start;
    });
    next();
  });
  const bodyLimit = options.bodyLimit ?? '50mb';
  app.use(
    express.json({ limit: bodyLimit, type: (req) => /\bjson\b/i.test(req.headers['content-type'] ?? '') }),
  );
  app.use(express.urlencoded({ limit: bodyLimit, extended: false }));
  app.use(basePath === '' ? '/' : basePath, async (req, res) => {
    const [status, body, headers] = await engine.handle(req, baseUrl, () => {
      capabilityStatement ??= buildCapabilityStatement(baseUrl, medplumVersion());
      return capabilityStatement;
    });
    sendFhir(res, status, body, headers);
  });
  app.use((_req: Request, res: Response) => {
    sendFhir(res, 404, outcome('not-found', `No FHIR endpoint here: the FHIR base is ${baseUrl}`));
  });
  app.use((error: unknown, _req: Request, res: Response, _next: NextFunction) => {
    const status = httpStatusOf(error);
    const message = error instanceof Error ? error.message : String(error);
    if (res.headersSent) return;
    sendFhir(res, status, outcome(status >= 500 ? 'exception' : 'invalid', message));
  });

  const server = createServer(app);
  await listenOn(
    server,
    options.port ?? 0,
    host,
    options.listenVariables ?? { port: 'FHIR_SANDBOX_PORT', host: 'FHIR_SANDBOX_HOST' },
  );
  const { port } = server.address() as AddressInfo;
  baseUrl = `http://${host.includes(':') ? `[${host}]` : host}:${port}${basePath}`;
  // Bundles are loaded after the port is bound, so a port in use is reported at once rather than
  // after seconds of loading; the promise still resolves only once every Bundle is in.
  try {
    for (const [index, bundle] of (options.bundles ?? []).entries()) {
      const [status, body] = await engine.postBundle(bundle);
      if (status >= 400) {
        throw new Error(
          `FHIR sandbox: start-up Bundle #${index} was refused (${status}): ${describeOutcome(body)}`,
        );
      }
    }
  } catch (error) {
    await closeServer(server);
    throw error;
  }
  repository.warmSearchCache();

  return {
    baseUrl,
    repository,
    stats,
    loadBundle: async (bundle) => {
      const [status, body] = await engine.postBundle(bundle);
      if (status >= 400) {
        throw new Error(`FHIR sandbox: Bundle refused (${status}): ${describeOutcome(body)}`);
      }
      repository.warmSearchCache();
      return body as Bundle;
    },
    close: () => closeServer(server),
  };
}

type EngineResult = [status: number, body: Resource, headers?: Record<string, string>];

/** Turns HTTP requests into FhirRouter requests and the answers back into FHIR HTTP responses. */
class FhirEngine {
  private readonly router = new FhirRouter();
  private writeTail: Promise<unknown> = Promise.resolve();

  constructor(private readonly repository: SandboxRepository) {}

  async handle(req: Request, baseUrl: string, metadata: () => Resource): Promise<EngineResult> {
    try {
      const segments = pathSegments(req.path);
      if (segments === undefined) return [400, outcome('invalid', 'Malformed URL path')];
      const method = req.method === 'HEAD' ? 'GET' : req.method;
      const query = rawQuery(req.originalUrl);
      const [first, second, ...rest] = segments;

      if (first === undefined) {
        if (method === 'POST') {
          return isBatchOfReads(req.body)
            ? await this.batchOfReads(req.body, baseUrl)
            : await this.postBundle(req.body);
        }
        if (method === 'GET') return [400, outcome('not-supported', 'System-level search is not supported')];
        return methodNotAllowed(method);
      }
      if (first === 'metadata' && second === undefined) {
        return method === 'GET' ? [200, metadata()] : methodNotAllowed(method);
      }
      if (!isR4ResourceType(first)) return [404, outcome('not-found', `Unknown resource type: ${first}`)];
      if (second === undefined && method === 'GET') {
        return await this.search(first, query.entries, baseUrl);
      }
      if (second === '_search' && rest.length === 0 && method === 'POST') {
        return await this.search(first, [...query.entries, ...formEntries(req.body)], baseUrl);
      }
      if (second !== undefined && !FHIR_ID.test(second)) {
        return [400, outcome('invalid', `Invalid resource id: ${second}`)];
      }
      if (!isHttpMethod(method)) return methodNotAllowed(method);
      if ((method === 'POST' || method === 'PUT') && !isResourceLike(req.body)) {
        return [
          400,
          outcome('invalid', 'The body must be a FHIR JSON resource (Content-Type: application/fhir+json)'),
        ];
      }
      const request: FhirRequest = {
        method,
        url: segments.join('/'),
        pathname: '',
        params: {},
        query: query.record,
        body: method === 'POST' && second === undefined ? asNewResource(req.body) : (req.body as unknown),
        headers: req.headers,
        config: {},
      };
      const run = () => this.router.handleRequest(request, this.repository);
      const [result, resource] = method === 'GET' ? await this.afterWrites(run) : await this.exclusive(run);
      return toHttp(result, resource, baseUrl);
    } catch (error) {
      return errorResult(error);
    }
  }

  /** `POST [base]` with a transaction (all or nothing) or batch Bundle. */
  postBundle(body: unknown): Promise<EngineResult> {
    return this.exclusive(async () => {
      try {
        const problem = bundleProblem(body);
        if (problem) return [400, outcome('invalid', problem)];
        const bundle = body as Bundle;
        const transaction = bundle.type === 'transaction';
        const before = transaction ? this.repository.snapshot() : undefined;
        const [result, response] = await this.router.handleRequest(
          { method: 'POST', url: '', pathname: '', params: {}, query: {}, body: bundle, config: {} },
          this.repository,
        );
        const failure = !isOk(result) ? { status: getStatus(result), body: result } : failedEntry(response);
        if (failure) {
          if (before) this.repository.restore(before);
          if (!isOk(result) || transaction) {
            return [failure.status, fromMedplum<OperationOutcome>(failure.body)];
          }
        }
        return [200, fromMedplum<Bundle>(response ?? result)];
      } catch (error) {
        return errorResult(error);
      }
    });
  }

  /**
   * A batch of GETs (reads and searches), each answered exactly as its own GET would be (paging
   * links, bare patient ids, _include), in order: one HTTP round trip for a client's searches.
   */
  async batchOfReads(bundle: Bundle, baseUrl: string): Promise<EngineResult> {
    const entry: BundleEntry[] = [];
    for (const item of bundle.entry ?? []) {
      const [status, body] = await this.readEntry(item.request?.url ?? '', baseUrl);
      entry.push({ resource: body, response: { status: String(status) } });
    }
    return [200, { resourceType: 'Bundle', id: randomUUID(), type: 'batch-response', entry } as Bundle];
  }

  private async readEntry(url: string, baseUrl: string): Promise<EngineResult> {
    try {
      const at = url.indexOf('?');
      const segments = pathSegments(at < 0 ? url : url.slice(0, at));
      const query = rawQuery(url);
      const [type, id, ...rest] = segments ?? [];
      if (type === undefined || !isR4ResourceType(type) || rest.length > 0) {
        return [400, outcome('invalid', `Batch entry: not a read or search of an R4 type: ${url}`)];
      }
      if (id === undefined) return await this.search(type, query.entries, baseUrl);
      if (!FHIR_ID.test(id)) return [400, outcome('invalid', `Invalid resource id: ${id}`)];
      const [result, resource] = await this.afterWrites(() =>
        this.router.handleRequest(
          {
            method: 'GET',
            url: `${type}/${id}`,
            pathname: '',
            params: {},
            query: {},
            body: undefined,
            config: {},
          },
          this.repository,
        ),
      );
      return toHttp(result, resource, baseUrl);
    } catch (error) {
      return errorResult(error);
    }
  }

  private async search(
    resourceType: string,
    entries: [string, string][],
    baseUrl: string,
  ): Promise<EngineResult> {
    const query = toRecord(entries);
    const [result, bundle] = await this.afterWrites(() =>
      this.router.handleRequest(
        { method: 'GET', url: resourceType, pathname: '', params: {}, query, body: undefined, config: {} },
        this.repository,
      ),
    );
    if (!isOk(result) || bundle?.resourceType !== 'Bundle') return toHttp(result, bundle, baseUrl);
    const page = searchPageOf(parseSearchRequest(resourceType, query));
    return [200, searchsetBundle(fromMedplum<Bundle>(bundle), resourceType, entries, page, baseUrl)];
  }

  /** Runs a write alone: after every earlier write, before any later one. */
  private exclusive<T>(fn: () => Promise<T>): Promise<T> {
    const result = this.writeTail.then(fn, fn);
    this.writeTail = result.catch(() => undefined);
    return result;
  }

  /** Runs a read once the writes already queued have finished (it never sees half a transaction). */
  private async afterWrites<T>(fn: () => Promise<T>): Promise<T> {
    await this.writeTail;
    return fn();
  }
}

function searchsetBundle(
  bundle: Bundle,
  resourceType: string,
  entries: [string, string][],
  page: { count: number; offset: number },
  baseUrl: string,
): Bundle {
  const total = bundle.total ?? 0;
  const linkTo = (offset: number): string => {
    const params = new URLSearchParams(entries.filter(([key]) => key !== '_offset' && key !== '_count'));
    params.set('_count', String(page.count));
    if (offset > 0) params.set('_offset', String(offset));
    return `${baseUrl}/${resourceType}?${params.toString()}`;
  };
  const link: BundleLink[] = [{ relation: 'self', url: linkTo(page.offset) }];
  if (page.count > 0 && page.offset + page.count < total) {
    link.push({ relation: 'next', url: linkTo(page.offset + page.count) });
  }
  if (page.count > 0 && page.offset > 0) {
    link.push({ relation: 'previous', url: linkTo(Math.max(0, page.offset - page.count)) });
  }
  const entry: BundleEntry[] = (bundle.entry ?? []).map((e) => ({
    ...(e.resource?.id ? { fullUrl: `${baseUrl}/${e.resource.resourceType}/${e.resource.id}` } : {}),
    ...(e.resource ? { resource: e.resource } : {}),
    search: { mode: e.search?.mode ?? 'match' },
  }));
  return {
    resourceType: 'Bundle',
    id: randomUUID(),
    meta: { lastUpdated: new Date().toISOString() },
    type: 'searchset',
    total,
    link,
    ...(entry.length > 0 ? { entry } : {}),
  };
}

function toHttp(
  result: MedplumOperationOutcome,
  resource: MedplumResource | undefined,
  baseUrl: string,
): EngineResult {
  const status = getStatus(result);
  if (!resource || !isOk(result)) return [status, fromMedplum<OperationOutcome>(result)];
  const body = fromMedplum<Resource>(resource);
  const headers: Record<string, string> = {};
  const version = body.meta?.versionId;
  if (version) headers.ETag = `W/"${version}"`;
  if (body.meta?.lastUpdated) headers['Last-Modified'] = new Date(body.meta.lastUpdated).toUTCString();
  if (status === 201 && body.id) {
    headers.Location = `${baseUrl}/${body.resourceType}/${body.id}${version ? `/_history/${version}` : ''}`;
  }
  return [status, body, headers];
}

/** A batch whose every entry is a GET: answered through the sandbox's own read and search. */
function isBatchOfReads(body: unknown): body is Bundle {
  if (typeof body !== 'object' || body === null) return false;
  const bundle = body as Partial<Bundle>;
  return (
    bundle.resourceType === 'Bundle' &&
    bundle.type === 'batch' &&
    (bundle.entry ?? []).length > 0 &&
    (bundle.entry ?? []).every((e) => e.request?.method === 'GET' && typeof e.request.url === 'string')
  );
}

/** The first entry of a batch/transaction response that failed, with its status. */
function failedEntry(
  response: MedplumResource | undefined,
): { status: number; body: MedplumOperationOutcome } | undefined {
  if (response?.resourceType !== 'Bundle') return undefined;
  const entries = response.entry ?? [];
  for (const [index, entry] of entries.entries()) {
    const status = Number.parseInt(entry.response?.status ?? '', 10);
    if (Number.isFinite(status) && status < 400) continue;
    const text = entry.response?.outcome ? describeOutcome(fromMedplum(entry.response.outcome)) : 'failed';
    return {
      status: Number.isFinite(status) ? status : 400,
      body: badRequest(`Bundle.entry[${index}]: ${text}`),
    };
  }
  return undefined;
}

function bundleProblem(body: unknown): string | undefined {
  if (!isResourceLike(body) || body.resourceType !== 'Bundle') return 'POST [base] takes a Bundle';
  const bundle = body as Bundle;
  if (bundle.type !== 'transaction' && bundle.type !== 'batch') {
    return `POST [base] takes a transaction or batch Bundle, not ${bundle.type}`;
  }
  if (!Array.isArray(bundle.entry) || bundle.entry.length === 0) return 'The Bundle has no entries';
  for (const [index, entry] of bundle.entry.entries()) {
    const where = `Bundle.entry[${index}]`;
    if (typeof entry !== 'object') return `${where} is not an object`;
    const url = entry.request?.url;
    if (typeof url !== 'string' || url === '') return `${where}.request.url is missing`;
    const type = url.replace(/^\/+/, '').split(/[/?]/)[0] ?? '';
    if (!isR4ResourceType(type)) return `${where}.request.url names no resource type: ${url}`;
    const resource: unknown = entry.resource;
    if (resource !== undefined && (!isResourceLike(resource) || !isR4ResourceType(resource.resourceType))) {
      return `${where}.resource is not a FHIR resource`;
    }
  }
  return undefined;
}

/** A create ignores the client's id and version, as FHIR says (Medplum would keep them). */
function asNewResource(body: unknown): unknown {
  if (!isResourceLike(body)) return body;
  const copy: Record<string, unknown> = { ...body };
  delete copy.id;
  const meta = (body as Resource).meta;
  if (meta) {
    const keptMeta: Record<string, unknown> = { ...meta };
    delete keptMeta.versionId;
    delete keptMeta.lastUpdated;
    if (Object.keys(keptMeta).length > 0) copy.meta = keptMeta;
    else delete copy.meta;
  }
  return copy;
}

function isResourceLike(value: unknown): value is { resourceType: string } {
  return (
    typeof value === 'object' &&
    value !== null &&
    !Array.isArray(value) &&
    typeof (value as { resourceType?: unknown }).resourceType === 'string'
  );
}

function isHttpMethod(method: string): method is HttpMethod {
  return (
    method === 'GET' || method === 'POST' || method === 'PUT' || method === 'PATCH' || method === 'DELETE'
  );
}

function methodNotAllowed(method: string): EngineResult {
  return [405, outcome('not-supported', `Method ${method} is not allowed here`)];
}

/** Path segments relative to the FHIR base, percent-decoded; undefined when malformed. */
function pathSegments(pathname: string): string[] | undefined {
  try {
    return pathname.split('/').filter(Boolean).map(decodeURIComponent);
  } catch {
    return undefined;
  }
}

/** The query string as sent, in order (express's parsed `req.query` loses order and repeats). */
function rawQuery(originalUrl: string): {
  entries: [string, string][];
  record: Record<string, string | string[]>;
} {
  const at = originalUrl.indexOf('?');
  const entries = at < 0 ? [] : [...new URLSearchParams(originalUrl.slice(at + 1)).entries()];
  return { entries, record: toRecord(entries) };
}

function formEntries(body: unknown): [string, string][] {
  if (typeof body !== 'object' || body === null || Array.isArray(body)) return [];
  const out: [string, string][] = [];
  for (const [key, value] of Object.entries(body as Record<string, unknown>)) {
    for (const item of Array.isArray(value) ? value : [value]) {
      if (typeof item === 'string') out.push([key, item]);
    }
  }
  return out;
}

function toRecord(entries: [string, string][]): Record<string, string | string[]> {
  const record: Record<string, string | string[]> = Object.create(null) as Record<string, string | string[]>;
  for (const [key, value] of entries) {
    const existing = record[key];
    record[key] =
      existing === undefined ? value : [...(Array.isArray(existing) ? existing : [existing]), value];
  }
  return record;
}

function outcome(code: string, text: string): OperationOutcome {
  return {
    resourceType: 'OperationOutcome',
    issue: [
      { severity: 'error', code: code as OperationOutcome['issue'][number]['code'], details: { text } },
    ],
  };
}

function errorResult(error: unknown): EngineResult {
  const result = normalizeOperationOutcome(error);
  return [getStatus(result), fromMedplum<OperationOutcome>(result)];
}

function describeOutcome(body: Resource | undefined): string {
  if (body?.resourceType !== 'OperationOutcome') return 'no OperationOutcome';
  return (body as OperationOutcome).issue.map((i) => i.details?.text ?? i.diagnostics ?? i.code).join('; ');
}

function httpStatusOf(error: unknown): number {
  const status = (error as { status?: unknown } | null)?.status;
  return typeof status === 'number' && status >= 400 && status < 600 ? status : 500;
}

function sendFhir(res: Response, status: number, body: Resource, headers: Record<string, string> = {}): void {
  res.status(status);
  for (const [name, value] of Object.entries(headers)) res.setHeader(name, value);
  res.setHeader('Content-Type', FHIR_JSON);
  res.send(JSON.stringify(body));
}

/**
 * @medplum/fhirtypes and @types/fhir describe the same FHIR R4 JSON with different TypeScript
 * (e.g. Medplum's `Reference<T>` generics): the sandbox converts at this one boundary.
 */
// eslint-disable-next-line @typescript-eslint/no-unnecessary-type-parameters -- the one typed boundary cast
function fromMedplum<T extends Resource>(resource: MedplumResource): T {
  return resource as unknown as T;
}

function normalizeBasePath(basePath: string): string {
  const trimmed = basePath.replace(/\/+$/, '');
  if (trimmed === '') return '';
  return trimmed.startsWith('/') ? trimmed : `/${trimmed}`;
}

function closeServer(server: Server): Promise<void> {
  return new Promise((resolve, reject) => {
    server.close((error) => (error ? reject(error) : resolve()));
    server.closeAllConnections();
  });
}

let cachedVersion: string | undefined;
function medplumVersion(): string {
  if (cachedVersion !== undefined) return cachedVersion;
  try {
    const entry = createRequire(import.meta.url).resolve('@medplum/fhir-router');
    const pkg = JSON.parse(readFileSync(path.join(entry, '../../../package.json'), 'utf8')) as {
      version?: string;
    };
    cachedVersion = `fhir-router ${pkg.version ?? 'unknown'}`;
  } catch {
    cachedVersion = 'fhir-router';
  }
  return cachedVersion;
}
