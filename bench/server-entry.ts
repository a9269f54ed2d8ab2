/**
 * One server under test, in its own process, so its memory and CPU are its own and not the load
 * generator's. Started by run-bench.ts with an IPC channel:
 *   node dist/bench/server-entry.js service   the crs-sentinel service (startService), env from the parent
 *   node dist/bench/server-entry.js bare      a bare express server: express.json with the service's
 *                                             options, then a fixed reply (the JSON-parsing floor)
 *   node dist/bench/server-entry.js sandbox <bundle.json>   the embedded FHIR server with one Bundle
 * It answers IPC messages: `reset-peak` (peak RSS back to the current RSS), `peak` (VmHWM and RSS),
 * `stats` (sandbox counters), `stop`. Listens on 127.0.0.1 only.
 */
import { readFileSync, writeFileSync } from 'node:fs';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import type { Bundle } from 'fhir/r4';
// The bare baseline has to be express itself, with the service's own body parser options.
// eslint-disable-next-line no-restricted-imports
import express from 'express';

export type ToChild = { cmd: 'reset-peak' } | { cmd: 'peak' } | { cmd: 'stats' } | { cmd: 'stop' };
export type FromChild =
  | { kind: 'ready'; url: string; pid: number }
  | { kind: 'peak'; peakRssBytes: number; rssBytes: number }
  | { kind: 'stats'; requests: number; serverTimeMs: number }
  | { kind: 'stopped' };

/** The reply the bare server gives: the shape of an empty CDS Hooks response. */
const FIXED_REPLY = { cards: [] };

function send(message: FromChild): void {
  process.send?.(message);
}

/** Peak resident set (VmHWM), from /proc: what the kernel saw, not a sample that can miss a spike. */
function peakRss(): number {
  const status = readFileSync('/proc/self/status', 'utf8');
  const match = /VmHWM:\s+(\d+)\s+kB/.exec(status);
  return match?.[1] === undefined ? process.memoryUsage().rss : Number(match[1]) * 1024;
}

/** Writing 5 to clear_refs resets VmHWM to the current RSS (Linux >= 4.0). */
function resetPeakRss(): void {
  try {
    writeFileSync('/proc/self/clear_refs', '5');
  } catch {
    // Not Linux or not permitted: the peak then covers the process's whole life.
  }
}

async function freePort(): Promise<number> {
  const probe = createServer();
  await new Promise<void>((resolve) => probe.listen(0, '127.0.0.1', resolve));
  const { port } = probe.address() as AddressInfo;
  await new Promise<void>((resolve) => probe.close(() => resolve()));
  return port;
}

async function startBare(): Promise<{ url: string; stop: () => Promise<void> }> {
  const app = express();
  app.disable('x-powered-by');
  app.post(
    '/cds-services/:id',
    express.json({ limit: '5mb', type: ['application/json', 'application/*+json'] }),
    (_req, res) => {
      res.json(FIXED_REPLY);
    },
  );
  const server = await new Promise<Server>((resolve, reject) => {
    const s = app.listen(0, '127.0.0.1', (error?: Error) => {
      if (error) reject(error);
      else resolve(s);
    });
  });
  const { port } = server.address() as AddressInfo;
  return {
    url: `http://127.0.0.1:${port}`,
    stop: () =>
      new Promise<void>((resolve) => {
        server.close(() => resolve());
        server.closeAllConnections();
      }),
  };
}

async function startCrsService(): Promise<{ url: string; stop: () => Promise<void> }> {
  // The JWT audience is built from PUBLIC_BASE_URL (or HOST:PORT): pick the port before start.
  const port = await freePort();
  // Imported here, not at the top: each child loads only what its server loads (memory is measured).
  const { loadConfig } = await import('../src/config/load-config.js');
  const { createLogger } = await import('../src/logging/logger.js');
  const { startService } = await import('../src/server.js');
  const env = { ...process.env, PORT: String(port), HOST: '127.0.0.1' };
  const config = loadConfig(env);
  const service = await startService(config, createLogger(config.logLevel), env);
  return { url: service.url, stop: () => service.stop() };
}

async function main(): Promise<void> {
  const [mode, bundleFile] = process.argv.slice(2);
  let stats: () => { requests: number; serverTimeMs: number } = () => ({ requests: 0, serverTimeMs: 0 });
  let running: { url: string; stop: () => Promise<void> };
  if (mode === 'service') running = await startCrsService();
  else if (mode === 'bare') running = await startBare();
  else if (mode === 'sandbox' && bundleFile !== undefined) {
    const bundle = JSON.parse(readFileSync(bundleFile, 'utf8')) as Bundle;
    const { startFhirSandbox } = await import('../src/sandbox/fhir-sandbox.js');
    const sandbox = await startFhirSandbox({ port: 0, bundles: [bundle] });
    running = { url: sandbox.baseUrl, stop: () => sandbox.close() };
    stats = () => ({ ...sandbox.stats });
  } else {
    throw new Error('usage: server-entry.js service | bare | sandbox <bundle.json>');
  }
  process.on('message', (message: ToChild) => {
    switch (message.cmd) {
      case 'reset-peak':
        resetPeakRss();
        send({ kind: 'peak', peakRssBytes: peakRss(), rssBytes: process.memoryUsage().rss });
        break;
      case 'peak':
        send({ kind: 'peak', peakRssBytes: peakRss(), rssBytes: process.memoryUsage().rss });
        break;
      case 'stats':
        send({ kind: 'stats', ...stats() });
        break;
      case 'stop':
        void running.stop().then(() => {
          send({ kind: 'stopped' });
          process.disconnect();
        });
        break;
    }
  });
  // The parent going away (a crash, Ctrl-C) must not leave a server listening.
  process.on('disconnect', () => process.exit(0));
  send({ kind: 'ready', url: running.url, pid: process.pid });
}

void main().catch((error: unknown) => {
  process.stderr.write(
    `server-entry: ${error instanceof Error ? (error.stack ?? error.message) : String(error)}\n`,
  );
  process.exit(1);
});
