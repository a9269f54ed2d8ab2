/**
 * Graceful shutdown over real keep-alive connections on 127.0.0.1 (issue 10): after stop(), an idle
 * keep-alive connection is closed at once, a slow in-flight request still gets its answer with
 * `Connection: close`, a request that completes its headers on an old connection after stop gets a
 * clean 503 with `Connection: close`, and stop() resolves as soon as the in-flight work ends, well
 * before SHUTDOWN_GRACE_MS.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { Agent, createServer, request as httpRequest, type IncomingMessage, type Server } from 'node:http';
import { connect, type AddressInfo, type Socket } from 'node:net';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { pino } from 'pino';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { loadConfig } from '../../src/config/load-config.js';
import { startService } from '../../src/server.js';
import { hookRequest } from '../support/test-app.js';

const FHIR_TIMEOUT_MS = 1200;
const GRACE_MS = 10_000;

/** A FHIR server that never answers: the hook call stays in flight until the FHIR deadline. */
let hangingFhir: Server;
let fhirBase: string;
let dataDir: string;
beforeAll(async () => {
  hangingFhir = createServer(() => undefined);
  await new Promise<void>((resolve) => hangingFhir.listen(0, '127.0.0.1', resolve));
  fhirBase = `http://127.0.0.1:${(hangingFhir.address() as AddressInfo).port}/fhir`;
  dataDir = mkdtempSync(path.join(tmpdir(), 'crs-shutdown-'));
});
afterAll(async () => {
  hangingFhir.closeAllConnections();
  await new Promise((resolve) => hangingFhir.close(resolve));
  rmSync(dataDir, { recursive: true, force: true });
});

function send(
  agent: Agent,
  url: string,
  method: string,
  body?: string,
): Promise<{ res: IncomingMessage; text: string; socket: Socket }> {
  return new Promise((resolve, reject) => {
    const req = httpRequest(url, {
      method,
      agent,
      headers: body === undefined ? {} : { 'content-type': 'application/json' },
    });
    req.on('error', reject);
    req.on('response', (res) => {
      const chunks: Buffer[] = [];
      res.on('data', (chunk: Buffer) => chunks.push(chunk));
      res.on('end', () => {
        resolve({ res, text: Buffer.concat(chunks).toString('utf8'), socket: req.socket as Socket });
      });
    });
    req.end(body);
  });
}

function closed(socket: Socket): Promise<number> {
  return new Promise((resolve) => {
    if (socket.destroyed) resolve(performance.now());
    else socket.once('close', () => resolve(performance.now()));
  });
}

describe('graceful shutdown with keep-alive clients', () => {
  it('closes idle connections at once, ends in-flight ones with Connection: close, and stops when the work is done', async () => {
    const config = {
      ...loadConfig({
        PORT: '0',
        FHIR_TIMEOUT_MS: String(FHIR_TIMEOUT_MS),
        SHUTDOWN_GRACE_MS: String(GRACE_MS),
      }),
      dataDir,
    };
    const service = await startService(config, pino({ level: 'silent' }), { CDS_AUTH: 'off' });
    const idleAgent = new Agent({ keepAlive: true, maxSockets: 1 });
    const busyAgent = new Agent({ keepAlive: true, maxSockets: 1 });
    try {
      // An idle keep-alive connection: one request answered with keep-alive, then nothing.
      const first = await send(idleAgent, `${service.url}/healthz`, 'GET');
      expect(first.res.headers.connection).toBe('keep-alive');
      const idleClosed = closed(first.socket);

      // A keep-alive connection that has begun a new request (headers not complete) when stop comes.
      const raw = connect(Number(new URL(service.url).port), '127.0.0.1');
      await new Promise<void>((resolve) => raw.once('connect', () => resolve()));
      let rawAnswer = '';
      raw.on('data', (chunk: Buffer) => (rawAnswer += chunk.toString('latin1')));
      const rawClosed = closed(raw);
      raw.write('GET /healthz HTTP/1.1\r\nHost: 127.0.0.1\r\n');

      // A slow in-flight request on its own keep-alive connection.
      const slowStarted = performance.now();
      const slow = send(
        busyAgent,
        `${service.url}/cds-services/crs-sentinel`,
        'POST',
        JSON.stringify(hookRequest({ fhirServer: fhirBase })),
      );
      await new Promise((r) => setTimeout(r, 200));

      const stopAt = performance.now();
      const stopped = service.stop().then(() => performance.now());

      // The idle connection goes at once, not after the grace period.
      expect((await idleClosed) - stopAt).toBeLessThan(500);

      // The half-sent request completes after stop: a clean 503 that closes its connection.
      raw.write('\r\n');
      await rawClosed;
      expect(rawAnswer).toMatch(/^HTTP\/1\.1 503 /);
      expect(rawAnswer.toLowerCase()).toContain('connection: close');

      // The in-flight request is answered, and told the connection ends with it.
      const answered = await slow;
      expect(answered.res.statusCode).toBe(412);
      expect(answered.res.headers.connection).toBe('close');

      // stop() resolves as soon as the in-flight work ended: about the FHIR deadline after the
      // request started, far below the 10 s grace period.
      const stoppedAt = await stopped;
      expect(stoppedAt - slowStarted).toBeLessThan(FHIR_TIMEOUT_MS + 1500);
      expect(stoppedAt - stopAt).toBeLessThan(GRACE_MS / 4);
      await expect(send(new Agent(), `${service.url}/healthz`, 'GET')).rejects.toThrow();
    } finally {
      idleAgent.destroy();
      busyAgent.destroy();
      await service.stop();
    }
  });
});
