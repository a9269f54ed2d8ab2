/**
 * A small FHIR R4 test double on 127.0.0.1: answers reads, searches (by `_id` and `code` tokens;
 * other parameters are ignored) and batches of them from an in-memory list of resources, records every request (path, method and Authorization header) and
 * can misbehave on demand.
 */
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo, Socket } from 'node:net';
import { text } from 'node:stream/consumers';
import type { Bundle, CodeableConcept, FhirResource } from 'fhir/r4';
import { parseSearchTokens, type SearchToken } from '../../src/cds-hooks/crs-sentinel-service.js';

export type Misbehaviour =
  | 'hang'
  | 'html'
  | 'truncated-json'
  | 'looping-next'
  | 'unauthorized'
  | 'redirect'
  | 'not-a-bundle'
  /** POST [base] (batch) answered 405, as servers without batch support do. */
  | 'no-batch';

export interface FhirTestServer {
  baseUrl: string;
  requests: { method: string; path: string; authorization: string | undefined }[];
  /** Per resource type: misbehave on reads and searches of that type ('*' for all, 'batch' for POST [base]). */
  misbehave: Map<string, Misbehaviour>;
  /** Page size for searches (forces paging when small). */
  pageSize: number;
  close(): Promise<void>;
}

type State = Omit<FhirTestServer, 'baseUrl' | 'close'>;

interface Answer {
  status: number;
  body: string | undefined; // undefined: never answer
  type?: string;
  location?: string;
}

export async function startFhirTestServer(resources: FhirResource[]): Promise<FhirTestServer> {
  const state: State = { requests: [], misbehave: new Map(), pageSize: 1000 };
  const sockets = new Set<Socket>();
  let baseUrl = '';
  const server: Server = createServer((req, res) => {
    void handle(req, res, resources, state, baseUrl);
  });
  server.on('connection', (s) => {
    sockets.add(s);
    s.on('close', () => sockets.delete(s));
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as AddressInfo;
  baseUrl = `http://127.0.0.1:${port}/fhir`;
  return Object.assign(state, {
    baseUrl,
    close: () =>
      new Promise<void>((resolve) => {
        for (const s of sockets) s.destroy();
        server.close(() => resolve());
      }),
  });
}

async function handle(
  req: IncomingMessage,
  res: ServerResponse,
  resources: FhirResource[],
  state: State,
  baseUrl: string,
): Promise<void> {
  const url = new URL(req.url ?? '/', 'http://127.0.0.1');
  state.requests.push({
    method: req.method ?? 'GET',
    path: `${url.pathname}${url.search}`,
    authorization: req.headers.authorization,
  });
  const isBatch = req.method === 'POST' && (url.pathname === '/fhir' || url.pathname === '/fhir/');
  send(
    res,
    isBatch ? await answerBatch(req, resources, state, baseUrl) : answerRead(url, resources, state, baseUrl),
  );
}

async function answerBatch(
  req: IncomingMessage,
  resources: FhirResource[],
  state: State,
  baseUrl: string,
): Promise<Answer> {
  if (state.misbehave.get('batch') === 'no-batch')
    return { status: 405, body: JSON.stringify(outcome('batch not supported')) };
  if (state.misbehave.get('batch') === 'unauthorized' || state.misbehave.get('*') === 'unauthorized') {
    return { status: 401, body: JSON.stringify(outcome('login required')) };
  }
  const batch = JSON.parse(await text(req)) as Bundle;
  const entry = (batch.entry ?? []).map((e) => {
    const answer = answerRead(
      new URL(`/fhir/${e.request?.url ?? ''}`, 'http://127.0.0.1'),
      resources,
      state,
      baseUrl,
    );
    try {
      return {
        response: { status: String(answer.status) },
        resource: answer.body ? (JSON.parse(answer.body) as unknown) : undefined,
      };
    } catch {
      return { response: { status: '500' }, resource: outcome('entry failed') };
    }
  });
  return { status: 200, body: JSON.stringify({ resourceType: 'Bundle', type: 'batch-response', entry }) };
}

function answerRead(url: URL, resources: FhirResource[], state: State, baseUrl: string): Answer {
  const [, , type, id] = url.pathname.split('/'); // /fhir/Type[/id]
  const behaviour = state.misbehave.get(type ?? '') ?? state.misbehave.get('*');
  if (behaviour === 'hang') return { status: 0, body: undefined };
  if (behaviour === 'html')
    return { status: 200, body: '<html><body>Service unavailable</body></html>', type: 'text/html' };
  if (behaviour === 'truncated-json') return { status: 200, body: '{"resourceType":"Bundle","entry":[{"res' };
  if (behaviour === 'unauthorized') return { status: 401, body: JSON.stringify(outcome('login required')) };
  if (behaviour === 'not-a-bundle') return { status: 200, body: JSON.stringify({ hello: 'world' }) };
  if (behaviour === 'redirect') return { status: 302, body: '', location: 'http://127.0.0.2:1/elsewhere' };
  const matching = resources.filter((r) => r.resourceType === type);
  if (id !== undefined) {
    const found = matching.find((r) => r.id === id);
    return found
      ? { status: 200, body: JSON.stringify(found) }
      : { status: 404, body: JSON.stringify(outcome('not found')) };
  }
  const ids = url.searchParams.get('_id')?.split(',');
  const byId = ids ? matching.filter((r) => r.id !== undefined && ids.includes(r.id)) : matching;
  const code = url.searchParams.get('code');
  const selected = code === null ? byId : byId.filter((r) => hasCode(r, parseSearchTokens(code)));
  const offset = Number(url.searchParams.get('_offset') ?? '0');
  const page = selected.slice(offset, offset + state.pageSize);
  const bundle: Bundle = {
    resourceType: 'Bundle',
    type: 'searchset',
    total: selected.length,
    entry: page.map((resource) => ({ resource })),
  };
  if (behaviour === 'looping-next') {
    bundle.link = [{ relation: 'next', url: `${baseUrl}/${type ?? ''}?_offset=0&loop=1` }];
  } else if (offset + state.pageSize < selected.length) {
    const next = new URL(`${baseUrl}/${type ?? ''}${url.search}`);
    next.searchParams.set('_offset', String(offset + state.pageSize));
    bundle.link = [{ relation: 'next', url: next.toString() }];
  }
  return { status: 200, body: JSON.stringify(bundle) };
}

/**
 * FHIR token search on `code` (`medicationCodeableConcept` for administrations), system and code.
 * A resource whose codes cannot be read (the hostile tests' malformed ones) is always returned.
 */
function hasCode(resource: FhirResource, tokens: SearchToken[]): boolean {
  const record = resource as unknown as Record<string, unknown>;
  const concept: unknown =
    resource.resourceType === 'MedicationAdministration' ? record.medicationCodeableConcept : record.code;
  const coding: unknown =
    typeof concept === 'object' && concept !== null ? (concept as CodeableConcept).coding : undefined;
  if (!Array.isArray(coding)) return concept !== undefined;
  return (coding as unknown[]).some((c) => {
    if (typeof c !== 'object' || c === null) return true;
    const { system, code } = c as { system?: unknown; code?: unknown };
    return tokens.some((t) => code === t.code && (t.system === undefined || (system ?? '') === t.system));
  });
}

function outcome(text: string) {
  return {
    resourceType: 'OperationOutcome',
    issue: [{ severity: 'error', code: 'processing', diagnostics: text }],
  };
}

function send(res: ServerResponse, answer: Answer): void {
  if (answer.body === undefined) return; // hang
  res.writeHead(answer.status, {
    'content-type': answer.type ?? 'application/fhir+json',
    ...(answer.location ? { location: answer.location } : {}),
  });
  res.end(answer.body);
}
