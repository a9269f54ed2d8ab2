/**
 * Methods express never sees, against the real server (src/server.ts in a child process): CONNECT
 * goes to the server's 'connect' listener (without one node dropped the connection without an
 * answer), and a WebSocket upgrade to a plain route is answered as the route answers.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { connect } from 'node:net';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startServiceProcess, type ServiceProcess } from '../support/service-process.js';

let service: ServiceProcess;
let dataDir: string;

beforeAll(async () => {
  dataDir = mkdtempSync(path.join(tmpdir(), 'crs-connect-'));
  service = await startServiceProcess({ DATA_DIR: dataDir });
});
afterAll(async () => {
  await service.stop();
  rmSync(dataDir, { recursive: true, force: true });
});

/** Writes `text`, reads until the server closes (at most 5 s). */
function raw(text: string): Promise<string> {
  return new Promise((resolve, reject) => {
    const socket = connect(Number(new URL(service.url).port), '127.0.0.1');
    let answer = '';
    socket.setTimeout(5000, () => socket.destroy(new Error('no answer within 5 s')));
    socket.on('data', (chunk: Buffer) => (answer += chunk.toString('latin1')));
    socket.on('close', () => resolve(answer));
    socket.on('error', reject);
    socket.write(text);
  });
}

describe('methods node handles before express', () => {
  it('CONNECT -> 405 with Allow and a JSON body, then the connection closes', async () => {
    const answer = await raw('CONNECT evil.example:443 HTTP/1.1\r\nHost: evil.example:443\r\n\r\n');
    const [head = '', body = ''] = answer.split('\r\n\r\n');
    expect(head.split('\r\n')[0]).toBe('HTTP/1.1 405 Method Not Allowed');
    expect(head).toContain('Allow: GET, HEAD, POST, OPTIONS');
    expect(JSON.parse(body)).toEqual({
      error: 'method-not-allowed',
      message: 'CONNECT is not allowed here; use GET, HEAD, POST, OPTIONS',
    });
    const health = await fetch(`${service.url}/healthz`, { signal: AbortSignal.timeout(5000) });
    expect(health.status).toBe(200);
  });

  it('a WebSocket upgrade is answered as a plain request', async () => {
    const answer = await raw(
      'GET /healthz HTTP/1.1\r\nHost: x\r\nConnection: Upgrade, close\r\nUpgrade: websocket\r\n' +
        'Sec-WebSocket-Version: 13\r\nSec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\n\r\n',
    );
    expect(answer.split('\r\n')[0]).toBe('HTTP/1.1 200 OK');
  });
});
