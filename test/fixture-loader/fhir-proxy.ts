/**
 * A test double in front of the embedded FHIR sandbox, on 127.0.0.1: forwards every request to the
 * sandbox (rewriting the sandbox's base URL in answers to its own) and misbehaves on demand like
 * real servers do: refuses transactions, ignores `_tag`, wants a bearer token, answers HTML.
 */
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo, Socket } from 'node:net';
import { buffer } from 'node:stream/consumers';

export interface ProxyBehaviour {
  /** Answer `POST [base]` with this status (e.g. 405) and an OperationOutcome. */
  refuseTransactions?: number;
  /** Drop `_tag` from searches (a server that ignores unknown parameters). */
  ignoreTag?: boolean;
  /** Answer 401 unless `Authorization: Bearer <this>`. */
  requireToken?: string;
  /** Answer `PUT [base]/<this type>/...` with 422 and an OperationOutcome. */
  failPutsOf?: string;
  /** Answer every request with an HTML page. */
  html?: boolean;
}

export interface FhirProxy {
  baseUrl: string;
  behaviour: ProxyBehaviour;
  requests: { method: string; path: string; authorization: string | undefined }[];
  close(): Promise<void>;
}

export async function startFhirProxy(targetBase: string, behaviour: ProxyBehaviour = {}): Promise<FhirProxy> {
  const sockets = new Set<Socket>();
  const target = new URL(targetBase);
  let baseUrl = '';
  const state = { behaviour, requests: [] as FhirProxy['requests'] };
  const server: Server = createServer((req, res) => {
    handle(req, res).catch((error: unknown) => {
      res.writeHead(502, { 'content-type': 'text/plain' });
      res.end(String(error));
    });
  });
  async function handle(req: IncomingMessage, res: ServerResponse): Promise<void> {
    const url = new URL(req.url ?? '/', 'http://127.0.0.1');
    state.requests.push({
      method: req.method ?? '',
      path: `${url.pathname}${url.search}`,
      authorization: req.headers.authorization,
    });
    const b = state.behaviour;
    if (b.html) {
      res.writeHead(200, { 'content-type': 'text/html' });
      res.end('<html><body>Welcome to nginx</body></html>');
      return;
    }
    if (b.requireToken !== undefined && req.headers.authorization !== `Bearer ${b.requireToken}`) {
      sendJson(res, 401, outcome('login', 'Authentication required'));
      return;
    }
    const relative = url.pathname.replace(/^\/fhir/, '');
    if (b.refuseTransactions !== undefined && req.method === 'POST' && /^\/?$/.test(relative)) {
      sendJson(
        res,
        b.refuseTransactions,
        b.refuseTransactions >= 500 && b.refuseTransactions !== 501
          ? outcome('exception', 'Database connection lost')
          : outcome('not-supported', 'Transactions are not supported'),
      );
      return;
    }
    if (b.failPutsOf !== undefined && req.method === 'PUT' && relative.startsWith(`/${b.failPutsOf}/`)) {
      sendJson(res, 422, outcome('processing', 'Unknown code system'));
      return;
    }
    const params = new URLSearchParams(url.search);
    if (b.ignoreTag) params.delete('_tag');
    const query = params.toString();
    const body = await buffer(req);
    const forwarded = await fetch(
      `${target.origin}${target.pathname}${relative}${query ? `?${query}` : ''}`,
      {
        method: req.method ?? 'GET',
        headers: {
          'content-type': req.headers['content-type'] ?? 'application/fhir+json',
          accept: 'application/fhir+json',
        },
        ...(body.length > 0 ? { body } : {}),
      },
    );
    const text = (await forwarded.text()).split(targetBase).join(baseUrl);
    res.writeHead(forwarded.status, {
      'content-type': forwarded.headers.get('content-type') ?? 'application/fhir+json',
    });
    res.end(text);
  }
  server.on('connection', (s) => {
    sockets.add(s);
    s.on('close', () => sockets.delete(s));
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  baseUrl = `http://127.0.0.1:${(server.address() as AddressInfo).port}/fhir`;
  return Object.assign(state, {
    baseUrl,
    close: () =>
      new Promise<void>((resolve) => {
        for (const s of sockets) s.destroy();
        server.close(() => resolve());
      }),
  });
}

function sendJson(res: ServerResponse, status: number, body: unknown): void {
  res.writeHead(status, { 'content-type': 'application/fhir+json' });
  res.end(JSON.stringify(body));
}

function outcome(code: string, text: string): unknown {
  return { resourceType: 'OperationOutcome', issue: [{ severity: 'error', code, details: { text } }] };
}
