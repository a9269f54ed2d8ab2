/**
 * Runs the real service (src/server.ts's startService) in a child process with `--expose-gc`, for
 * tests that measure its memory or force garbage collections in it. The sources are transpiled
 * (types stripped, nothing bundled, about a second) into node_modules/.cache so the child resolves
 * the same node_modules; no build step is needed before `npm test`.
 */
import { fork, type ChildProcess } from 'node:child_process';
import { cpSync, mkdirSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import ts from 'typescript';
import { PACKAGE_ROOT } from '../../src/config/load-config.js';

export interface ServiceProcess {
  url: string;
  /** Forced full GCs in the service every 100 ms, on or off. */
  forceGc(on: boolean): void;
  /**
   * The latency the service logged for the request with this `X-Request-Id` (its own clock, from
   * the request's arrival to the answer's end), waiting up to 5 s for the log line.
   */
  loggedLatencyMs(requestId: string): Promise<number>;
  /** The service's resident set size now and its maximum so far, in bytes. */
  memory(): Promise<{ rss: number; maxRss: number }>;
  stop(): Promise<void>;
}

const OUT_DIR = path.join(PACKAGE_ROOT, 'node_modules', '.cache', 'crs-sentinel-service-process');

function transpile(): string {
  rmSync(OUT_DIR, { recursive: true, force: true });
  const files = [
    ...listTs(path.join(PACKAGE_ROOT, 'src')),
    path.join(PACKAGE_ROOT, 'test', 'support', 'service-process-entry.ts'),
  ];
  for (const file of files) {
    const output = ts.transpileModule(readFileSync(file, 'utf8'), {
      compilerOptions: { module: ts.ModuleKind.ESNext, target: ts.ScriptTarget.ES2022, sourceMap: false },
      fileName: file,
    }).outputText;
    const target = path.join(OUT_DIR, path.relative(PACKAGE_ROOT, file)).replace(/\.ts$/, '.js');
    mkdirSync(path.dirname(target), { recursive: true });
    writeFileSync(target, output);
  }
  // The built-in code lists are JSON modules the core imports (src/rules/crs-sentinel/default-value-sets.ts).
  cpSync(path.join(PACKAGE_ROOT, 'valuesets'), path.join(OUT_DIR, 'valuesets'), { recursive: true });
  return path.join(OUT_DIR, 'test', 'support', 'service-process-entry.js');
}

function listTs(dir: string): string[] {
  return readdirSync(dir, { withFileTypes: true }).flatMap((entry) => {
    const full = path.join(dir, entry.name);
    if (entry.isDirectory()) return listTs(full);
    return entry.name.endsWith('.ts') && !entry.name.endsWith('.d.ts') ? [full] : [];
  });
}

/** Starts the service on 127.0.0.1 (a free port) with `env` on top of a test configuration. */
export async function startServiceProcess(env: Record<string, string>): Promise<ServiceProcess> {
  const entry = transpile();
  const child: ChildProcess = fork(entry, [], {
    execArgv: ['--expose-gc'],
    env: {
      PATH: process.env.PATH ?? '',
      HOST: '127.0.0.1',
      PORT: '0',
      CDS_AUTH: 'off',
      LOG_LEVEL: 'info',
      CARDS_DIR: path.join(PACKAGE_ROOT, 'cards'),
      ...env,
    },
    stdio: ['ignore', 'pipe', 'inherit', 'ipc'],
  });
  const latencies = new Map<string, number>();
  const waiting = new Map<string, (ms: number) => void>();
  let partial = '';
  child.stdout?.setEncoding('utf8').on('data', (chunk: string) => {
    const lines = (partial + chunk).split('\n');
    partial = lines.pop() ?? '';
    for (const line of lines) {
      const entry = parseLogLine(line);
      if (entry === undefined) continue;
      latencies.set(entry.reqId, entry.latencyMs);
      waiting.get(entry.reqId)?.(entry.latencyMs);
    }
  });
  const url = await new Promise<string>((resolve, reject) => {
    const timer = setTimeout(
      () => reject(new Error('the service process did not start within 15 s')),
      15_000,
    );
    child.once('exit', (code) => reject(new Error(`the service process exited with ${code ?? 'a signal'}`)));
    child.once('message', (message: { url?: string }) => {
      clearTimeout(timer);
      if (typeof message.url === 'string') resolve(message.url);
    });
  });
  return {
    url,
    loggedLatencyMs(requestId) {
      const known = latencies.get(requestId);
      if (known !== undefined) return Promise.resolve(known);
      return new Promise((resolve, reject) => {
        const timer = setTimeout(() => reject(new Error(`no log line for ${requestId}`)), 5000);
        waiting.set(requestId, (ms) => {
          clearTimeout(timer);
          resolve(ms);
        });
      });
    },
    forceGc(on) {
      child.send({ gc: on });
    },
    memory() {
      return new Promise((resolve) => {
        child.once('message', (m: { rss: number; maxRss: number }) => resolve(m));
        child.send({ rss: true });
      });
    },
    stop() {
      return new Promise<void>((resolve) => {
        if (child.exitCode !== null) {
          resolve();
          return;
        }
        const kill = setTimeout(() => child.kill('SIGKILL'), 3000);
        child.once('exit', () => {
          clearTimeout(kill);
          resolve();
        });
        child.disconnect();
      });
    },
  };
}

function parseLogLine(line: string): { reqId: string; latencyMs: number } | undefined {
  try {
    const entry = JSON.parse(line) as { reqId?: unknown; latencyMs?: unknown };
    return typeof entry.reqId === 'string' && typeof entry.latencyMs === 'number'
      ? { reqId: entry.reqId, latencyMs: entry.latencyMs }
      : undefined;
  } catch {
    return undefined;
  }
}
