/**
 * Start-up failures as one line a hospital's operator can act on (issue 10, "Start-up and
 * configuration a hospital can read"): the variable to change and how, never a stack trace.
 *
 * `runMain` is the entry point of `npm start`, `npm run demo` and `npm run sandbox`: it turns any
 * error thrown or rejected while starting (including an unhandled rejection) into
 * `<program>: <one line>` on stderr and exit code 1. `listenOn` turns the errors of listen() (a port
 * in use, a HOST that is not an interface of this machine) into a ConfigError naming the variable
 * that moves it, which differs per program (PORT/HOST, FHIR_SANDBOX_PORT/FHIR_SANDBOX_HOST).
 */
import type { Server } from 'node:http';
import { ConfigError } from './load-config.js';

/** Collapses a possibly multi-line message (zod's prettifyError, nested causes) to one line. */
export function oneLine(text: string): string {
  return text
    .split(/\r?\n/)
    .map((line) => line.replace(/^[\s✖→]+/u, '').trim())
    .filter((line) => line !== '')
    .join('; ')
    .replace(/:;/g, ':')
    .slice(0, 2000);
}

function errorCode(error: unknown): string | undefined {
  return typeof error === 'object' && error !== null && 'code' in error && typeof error.code === 'string'
    ? error.code
    : undefined;
}

/**
 * The one line for a start-up failure. Configuration errors (ConfigError and the errors of the
 * trust and auth-mode parsers, which already name their variable) are shown as they are; anything
 * else is unexpected and is shown with its name and code, still without a stack.
 */
export function describeStartupError(error: unknown): string {
  if (error instanceof Error) {
    if (
      error instanceof ConfigError ||
      error.name === 'TrustedClientsError' ||
      error.name === 'AuthModeError'
    ) {
      return `configuration error: ${oneLine(error.message)}`;
    }
    const code = errorCode(error);
    return `start-up failed: ${error.name}${code === undefined ? '' : ` ${code}`}: ${oneLine(error.message)}`;
  }
  return `start-up failed: ${oneLine(String(error))}`;
}

export interface ListenVariables {
  /** The variable that sets the port, e.g. `PORT`. */
  readonly port: string;
  /** The variable that sets the interface, e.g. `HOST`. */
  readonly host: string;
}

/** The ConfigError for a listen() failure, naming the variable that fixes it. */
export function explainListenError(
  error: unknown,
  host: string,
  port: number,
  variables: ListenVariables,
): Error {
  const code = errorCode(error);
  switch (code) {
    case 'EADDRINUSE':
      return new ConfigError(
        `${variables.port}: port ${port} on ${host} is already in use (another copy running?): stop that process or set ${variables.port} to a free port`,
      );
    case 'EACCES':
    case 'EPERM':
      return new ConfigError(
        `${variables.port}: not allowed to listen on port ${port} (${code}): use a port above 1023 or run with the needed privilege`,
      );
    case 'EADDRNOTAVAIL':
    case 'ENOTFOUND':
    case 'EAI_AGAIN':
    case 'EAI_FAIL':
    case 'EAFNOSUPPORT':
    case 'EINVAL':
      return new ConfigError(
        `${variables.host}: cannot listen on ${JSON.stringify(host)} (${code}): set ${variables.host} to an address of this machine, e.g. 127.0.0.1, or 0.0.0.0 for every interface`,
      );
    default:
      return error instanceof Error ? error : new Error(String(error));
  }
}

/** server.listen() as a promise whose errors name the variable to change. */
export function listenOn(
  server: Server,
  port: number,
  host: string,
  variables: ListenVariables,
): Promise<void> {
  return new Promise<void>((resolve, reject) => {
    const onError = (error: Error) => {
      reject(explainListenError(error, host, port, variables));
    };
    server.once('error', onError);
    server.listen(port, host, () => {
      server.off('error', onError);
      resolve();
    });
  });
}

export interface MainIo {
  readonly stderr: { write(text: string): unknown };
  readonly exit: (code: number) => void;
}

const processIo: MainIo = {
  stderr: process.stderr,
  exit: (code) => process.exit(code),
};

/**
 * Runs a program's start-up; any failure (thrown, rejected, or an unhandled rejection or uncaught
 * exception while starting) prints `<program>: <one line>` and exits 1. Once `main` has resolved,
 * the handlers are removed and the program's own logging takes over.
 */
export function runMain(program: string, main: () => Promise<void>, io: MainIo = processIo): Promise<void> {
  let failed = false;
  const fail = (error: unknown) => {
    if (failed) return;
    failed = true;
    io.stderr.write(`${program}: ${describeStartupError(error)}\n`);
    io.exit(1);
  };
  process.on('unhandledRejection', fail);
  process.on('uncaughtException', fail);
  return main()
    .catch(fail)
    .finally(() => {
      process.off('unhandledRejection', fail);
      process.off('uncaughtException', fail);
    });
}
