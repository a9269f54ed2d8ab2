/**
 * Starts a server under test (server-entry.js) as a child process and talks to it over IPC:
 * its URL, its peak RSS (VmHWM, reset per run), the sandbox's counters, and a clean stop.
 */
import { fork, type ChildProcess } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import type { FromChild, ToChild } from './server-entry.js';

const ENTRY = fileURLToPath(new URL('./server-entry.js', import.meta.url));

export interface ChildServer {
  url: string;
  pid: number;
  /** Resets the peak to the current RSS; returns the current RSS in bytes. */
  resetPeak(): Promise<number>;
  /** Peak RSS in bytes since start or the last reset. */
  peak(): Promise<number>;
  stats(): Promise<{ requests: number; serverTimeMs: number }>;
  stop(): Promise<void>;
}

export interface ChildOptions {
  env?: Record<string, string>;
  /** Extra node flags, e.g. ['--cpu-prof', '--cpu-prof-dir=...'] to profile the server. */
  execArgv?: string[];
}

function waitFor<K extends FromChild['kind']>(
  child: ChildProcess,
  kind: K,
  timeoutMs = 60_000,
): Promise<Extract<FromChild, { kind: K }>> {
  return new Promise((resolve, reject) => {
    const timer = setTimeout(() => {
      cleanup();
      reject(new Error(`server child ${String(child.pid)}: no '${kind}' message within ${timeoutMs} ms`));
    }, timeoutMs);
    const onMessage = (message: FromChild) => {
      if (message.kind !== kind) return;
      cleanup();
      resolve(message as Extract<FromChild, { kind: K }>);
    };
    const onExit = (code: number | null) => {
      cleanup();
      reject(new Error(`server child ${String(child.pid)} exited (${String(code)}) before '${kind}'`));
    };
    const cleanup = () => {
      clearTimeout(timer);
      child.off('message', onMessage);
      child.off('exit', onExit);
    };
    child.on('message', onMessage);
    child.once('exit', onExit);
  });
}

export async function startChild(args: string[], options: ChildOptions = {}): Promise<ChildServer> {
  const child = fork(ENTRY, args, {
    // The service logs a JSON line per request to stdout: sent to /dev/null, as cheap as logging gets.
    stdio: ['ignore', 'ignore', 'inherit', 'ipc'],
    env: { ...process.env, ...options.env },
    execArgv: options.execArgv ?? [],
  });
  const ready = await waitFor(child, 'ready');
  const ask = async <K extends FromChild['kind']>(message: ToChild, kind: K) => {
    const answer = waitFor(child, kind);
    child.send(message);
    return answer;
  };
  return {
    url: ready.url,
    pid: ready.pid,
    resetPeak: async () => (await ask({ cmd: 'reset-peak' }, 'peak')).rssBytes,
    peak: async () => (await ask({ cmd: 'peak' }, 'peak')).peakRssBytes,
    stats: async () => {
      const { requests, serverTimeMs } = await ask({ cmd: 'stats' }, 'stats');
      return { requests, serverTimeMs };
    },
    stop: async () => {
      if (child.exitCode !== null) return;
      const exited = new Promise<void>((resolve) => child.once('exit', () => resolve()));
      child.send({ cmd: 'stop' } satisfies ToChild);
      const timer = setTimeout(() => child.kill('SIGKILL'), 10_000);
      await exited;
      clearTimeout(timer);
    },
  };
}
