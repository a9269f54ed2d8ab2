/**
 * A small FHIR R4 test double on 127.0.0.1: answers searches from an in-memory list of resources,
 * records every request (path and Authorization header) and can misbehave on demand.
 */
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import type { Bundle, FhirResource } from 'fhir/r4';

export type Misbehaviour =
  'hang' | 'html' | 'truncated-json' | 'looping-next' | 'unauthorized' | 'redirect' | 'not-a-bundle';

export interface FhirTestServer {
  baseUrl: string;
  requests: { path: string; authorization: string | undefined }[];
  /** Per resource type: misbehave on searches of that type ('*' for all). */
  misbehave: Map<string, Misbehaviour>;
  /** Page size for searches (forces paging when small). */
  pageSize: number;
  close(): Promise<void>;
}

export async function startFhirTestServer(resources: FhirResource[]): Promise<FhirTestServer> {
  const state: Omit<FhirTestServer, 'baseUrl' | 'close'> = {
    requests: [],
    misbehave: new Map(),
    pageSize: 1000,
  };
  const sockets = new Set<import('node:net').Socket>();
  const server: Server = createServer((req, res) => {
    handle(req, res, resources, state, baseUrl);
  });
  server.on('connection', (s) => {
    sockets.add(s);
    s.on('close', () => sockets.delete(s));
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as AddressInfo;
  const baseUrl = `http://127.0.0.1:${port}/fhir`;
  return Object.assign(state, {
    baseUrl,
    close: () =>
      new Promise<void>((resolve) => {
        for (const s of sockets) s.destroy();
        server.close(() => resolve());
      }),
  });
}

function handle(
  req: IncomingMessage,
  res: ServerResponse,
  resources: FhirResource[],
  state: Omit<FhirTestServer, 'baseUrl' | 'close'>,
  baseUrl: string,
): void {
  const url = new URL(req.url ?? '/', 'http://127.0.0.1');
  state.requests.push({ path: `${url.pathname}${url.search}`, authorization: req.headers.authorization });
  const [, , type, id] = url.pathname.split('/'); // /fhir/Type[/id]
  const behaviour = state.misbehave.get(type ?? '') ?? state.misbehave.get('*');
  if (behaviour === 'hang') return; // never answers
  if (behaviour === 'html')
    return send(res, 200, '<html><body>Service unavailable</body></html>', 'text/html');
  if (behaviour === 'truncated-json')
    return send(res, 200, '{"resourceType":"Bundle","entry":[{"res', 'application/fhir+json');
  if (behaviour === 'unauthorized') return send(res, 401, JSON.stringify(outcome('login required')));
  if (behaviour === 'not-a-bundle') return send(res, 200, JSON.stringify({ hello: 'world' }));
  if (behaviour === 'redirect') {
    res.writeHead(302, { location: 'http://127.0.0.2:1/elsewhere' });
    res.end();
    return;
  }
  const matching = resources.filter((r) => r.resourceType === type);
  if (id !== undefined) {
    const found = matching.find((r) => r.id === id);
    return found
      ? send(res, 200, JSON.stringify(found))
      : send(res, 404, JSON.stringify(outcome('not found')));
  }
  const ids = url.searchParams.get('_id')?.split(',');
  const selected = ids ? matching.filter((r) => r.id !== undefined && ids.includes(r.id)) : matching;
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
  send(res, 200, JSON.stringify(bundle));
}

function outcome(text: string) {
  return {
    resourceType: 'OperationOutcome',
    issue: [{ severity: 'error', code: 'processing', diagnostics: text }],
  };
}

function send(res: ServerResponse, status: number, body: string, type = 'application/fhir+json'): void {
  res.writeHead(status, { 'content-type': type });
  res.end(body);
}
