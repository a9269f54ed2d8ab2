/**
 * A hostile FHIR server on 127.0.0.1 for the bounded-work tests: each behaviour lives under its
 * own base URL, `http://127.0.0.1:<port>/<behaviour>/fhir`, so the service's per-server memory
 * (batch support) does not mix them. Every body is generated while streaming (nothing big is held
 * here) and every stream stops when the service hangs up or the server is closed.
 *
 * Under a base whose behaviour starts with `get-`, a batch (POST) is refused with 405 so the
 * service falls back to parallel GETs, which then misbehave.
 */
import { createServer, type IncomingMessage, type ServerResponse } from 'node:http';
import type { AddressInfo, Socket } from 'node:net';
import { gzipSync } from 'node:zlib';

export type HostileBehaviour =
  /** A 50 MB Bundle at full speed. */
  | 'huge'
  /** A Bundle that never ends, at full speed. */
  | 'endless'
  /** gzip that inflates to 2 GiB from about 2 MB on the wire. */
  | 'gzip-bomb'
  /** Headers, then one byte every 100 ms, for ever. */
  | 'drip'
  /** Headers and half a Bundle, then the connection is reset. */
  | 'reset'
  /** Never answers. */
  | 'hang';

export interface HostileFhirServer {
  /** The base URL of a behaviour; `viaGets` refuses batches so each search is its own GET. */
  baseUrl(behaviour: HostileBehaviour, options?: { viaGets?: boolean }): string;
  close(): Promise<void>;
}

const MiB = 1024 * 1024;
const BUNDLE_START = '{"resourceType":"Bundle","type":"searchset","entry":[';
const ENTRY = `{"resource":{"resourceType":"Observation","status":"final","code":{"text":"${'x'.repeat(200)}"}}},`;
/** About 64 KiB of entries, encoded once (the test process must stay light: it holds the clock). */
const ENTRIES_CHUNK = Buffer.from(ENTRY.repeat(Math.ceil((64 * 1024) / ENTRY.length)));

export async function startHostileFhirServer(): Promise<HostileFhirServer> {
  const sockets = new Set<Socket>();
  const server = createServer((req, res) => {
    handle(req, res);
  });
  server.on('connection', (s) => {
    sockets.add(s);
    s.on('close', () => sockets.delete(s));
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as AddressInfo;
  return {
    baseUrl: (behaviour, options) =>
      `http://127.0.0.1:${port}/${options?.viaGets ? 'get-' : ''}${behaviour}/fhir`,
    close: () =>
      new Promise<void>((resolve) => {
        for (const s of sockets) s.destroy();
        server.close(() => resolve());
      }),
  };
}

function handle(req: IncomingMessage, res: ServerResponse): void {
  req.resume();
  const [, first = ''] = (req.url ?? '/').split('/');
  const viaGets = first.startsWith('get-');
  const behaviour = (viaGets ? first.slice(4) : first) as HostileBehaviour;
  if (viaGets && req.method === 'POST') {
    res.writeHead(405, { 'content-type': 'application/fhir+json' });
    res.end('{"resourceType":"OperationOutcome","issue":[]}');
    return;
  }
  switch (behaviour) {
    case 'huge':
      void stream(res, 50 * 1000 * 1000);
      return;
    case 'endless':
      void stream(res, Number.POSITIVE_INFINITY);
      return;
    case 'gzip-bomb':
      void gzipBomb(res);
      return;
    case 'drip':
      drip(res);
      return;
    case 'reset':
      res.writeHead(200, { 'content-type': 'application/fhir+json', 'content-length': '100000' });
      res.write(BUNDLE_START + ENTRY.repeat(100));
      setTimeout(() => res.socket?.destroy(), 50);
      return;
    case 'hang':
      return;
    default:
      res.writeHead(404).end();
  }
}

/** A Bundle of about `total` bytes (or endless), written as fast as the reader takes it. */
async function stream(res: ServerResponse, total: number): Promise<void> {
  res.writeHead(200, { 'content-type': 'application/fhir+json' });
  let written = BUNDLE_START.length;
  res.write(BUNDLE_START);
  while (written < total && !res.destroyed) {
    written += ENTRIES_CHUNK.length;
    if (!res.write(ENTRIES_CHUNK)) await drained(res);
  }
  if (!res.destroyed) res.end('{}]}');
}

/** gzip members (concatenated members are one gzip stream, RFC 1952 2.2) of 1 MiB of spaces each. */
async function gzipBomb(res: ServerResponse): Promise<void> {
  res.writeHead(200, { 'content-type': 'application/fhir+json', 'content-encoding': 'gzip' });
  const spaces = gzipSync(Buffer.alloc(MiB, ' '));
  res.write(gzipSync(Buffer.from('{"resourceType":"Bundle","type":"searchset",')));
  for (let i = 0; i < 2048 && !res.destroyed; i++) {
    if (!res.write(spaces)) await drained(res);
  }
  if (!res.destroyed) res.end(gzipSync(Buffer.from('"entry":[]}')));
}

function drip(res: ServerResponse): void {
  res.writeHead(200, { 'content-type': 'application/fhir+json' });
  res.write('{');
  const timer = setInterval(() => {
    if (res.destroyed) clearInterval(timer);
    else res.write(' ');
  }, 100);
  res.on('close', () => clearInterval(timer));
}

function drained(res: ServerResponse): Promise<void> {
  return new Promise((resolve) => {
    const done = () => {
      res.off('drain', done);
      res.off('close', done);
      resolve();
    };
    res.on('drain', done);
    res.on('close', done);
  });
}
