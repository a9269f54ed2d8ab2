/**
 * Starts crs-sentinel from its environment: validate config, build the app, listen, and shut down
 * gracefully on SIGTERM/SIGINT. `npm start` runs `main` through config/startup.ts's `runMain`, so any
 * start-up failure (configuration, DATA_DIR, a port in use, a bad HOST) is one line on stderr naming
 * the variable to change, and exit code 1 (issue 10).
 *
 * Graceful shutdown (issue 10): on stop, idle keep-alive connections are closed at once; responses
 * still being worked on are sent with `Connection: close`, so their connections end with them; a
 * request that arrives on an old keep-alive connection after stop is answered 503 with
 * `Connection: close` rather than started. The grace period (SHUTDOWN_GRACE_MS) therefore covers only
 * real work in flight: stop() resolves as soon as it is done, and connections still open at the end
 * of the grace period are closed. Node's own `server.close()` only stops new connections; without
 * this, clients kept reusing their keep-alive connections until the grace period ran out.
 */
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { Duplex } from 'node:stream';
import { pathToFileURL } from 'node:url';
import { loadConfig, type ServiceConfig } from './config/load-config.js';
import { listenOn, runMain } from './config/startup.js';
import { composeDependencies } from './compose-dependencies.js';
import { checkDataDir } from './config/data-dir.js';
import { createApp } from './http/app.js';
import { refuseConnect } from './http/error-handler.js';
import type { Stores } from './storage/governance-store.js';
import { createMetricsServer } from './metrics/metrics-server.js';
import { createPrometheusMetrics } from './metrics/prometheus-metrics.js';
import { importFeedbackFile } from './storage/import-feedback-file.js';
import { openStores } from './storage/open-stores.js';
import { createLogger, type Logger } from './logging/logger.js';

export interface RunningService {
  server: Server;
  url: string;
  /** `http://host:port/metrics` when METRICS_PORT is set. */
  metricsUrl?: string;
  /** Graceful stop; resolves when in-flight requests are done (or the grace period ran out). */
  stop(): Promise<void>;
}

/** What a request that arrives after stop() gets: an answer, not a reset, and no reuse of the connection. */
function refuseWhileStopping(res: ServerResponse): void {
  const body = JSON.stringify({ error: 'unavailable', message: 'The service is shutting down; retry.' });
  res.writeHead(503, {
    'content-type': 'application/json; charset=utf-8',
    'content-length': Buffer.byteLength(body),
    connection: 'close',
    'retry-after': '1',
  });
  res.end(body);
}

export async function startService(
  config: ServiceConfig,
  logger: Logger,
  env: NodeJS.ProcessEnv = process.env,
): Promise<RunningService> {
  let accepting = true;
  checkDataDir(config.dataDir);
  const stores = await openStores(config);
  const metrics = createPrometheusMetrics();
  let app: ReturnType<typeof createApp>;
  let metricsServer: Server | undefined;
  try {
    await importLegacyFeedback(config.dataDir, stores, logger);
    app = createApp(composeDependencies(config, env, logger, () => accepting, stores, metrics));
    if (config.metricsPort !== undefined) {
      metricsServer = createMetricsServer(metrics.registry);
      await listenOn(metricsServer, config.metricsPort, config.metricsHost ?? '127.0.0.1', {
        port: 'METRICS_PORT',
        host: 'METRICS_HOST',
      });
    }
  } catch (error) {
    await stores.close();
    throw error;
  }
  const inFlight = new Set<ServerResponse>();
  const server = createServer((req: IncomingMessage, res: ServerResponse) => {
    if (!accepting) {
      refuseWhileStopping(res);
      return;
    }
    inFlight.add(res);
    res.once('close', () => inFlight.delete(res));
    app(req, res);
  });
  server.on('connect', (_req: IncomingMessage, socket: Duplex) => refuseConnect(socket));
  // Headers and requests bounded so a slow or idle client cannot hold the process open.
  server.headersTimeout = 15_000;
  server.requestTimeout = 30_000;
  await listenOn(server, config.port, config.host, { port: 'PORT', host: 'HOST' }).catch(
    async (error: unknown) => {
      await stores.close();
      throw error;
    },
  );
  const address = server.address();
  const port = typeof address === 'object' && address !== null ? address.port : config.port;
  const urlHost = config.host.includes(':') ? `[${config.host}]` : config.host;
  let stopping: Promise<void> | undefined;
  return {
    server,
    url: `http://${urlHost}:${port}`,
    ...(metricsServer === undefined ? {} : { metricsUrl: `${addressUrl(metricsServer)}/metrics` }),
    stop: () =>
      (stopping ??= new Promise<void>((resolve) => {
        accepting = false;
        // In-flight responses not yet begun tell their client this connection ends with them.
        for (const res of inFlight) if (!res.headersSent) res.setHeader('connection', 'close');
        const force = setTimeout(() => server.closeAllConnections(), config.shutdownGraceMs);
        // A response already under way with keep-alive leaves its connection idle when it ends.
        const sweep = setInterval(() => server.closeIdleConnections(), 50);
        force.unref();
        sweep.unref();
        server.close(() => {
          clearTimeout(force);
          clearInterval(sweep);
          metricsServer?.close();
          void stores.close().finally(resolve);
        });
        server.closeIdleConnections();
      })),
  };
}

function addressUrl(listener: Server): string {
  const a = listener.address();
  if (typeof a !== 'object' || a === null) return '';
  return `http://${a.address.includes(':') ? `[${a.address}]` : a.address}:${a.port}`;
}

/** feedback.jsonl from before the ledger, imported once (idempotent; the file is left in place). */
async function importLegacyFeedback(dataDir: string, stores: Stores, logger: Logger): Promise<void> {
  const result = await importFeedbackFile(dataDir, stores.governance);
  if (result.lines === 0) return;
  logger.info(
    result,
    'feedback.jsonl imported into the feedback store (records already imported are skipped)',
  );
  if (result.unreadable > 0)
    logger.warn(
      { unreadable: result.unreadable },
      'feedback.jsonl: lines that are not feedback records were left in the file',
    );
}

/** Everything `npm start` does before it waits for signals: config, dependencies, listen. */
export async function startFromEnvironment(
  env: NodeJS.ProcessEnv = process.env,
): Promise<{ service: RunningService; logger: Logger; config: ServiceConfig }> {
  const config = loadConfig(env);
  const logger = createLogger(config.logLevel);
  const service = await startService(config, logger, env);
  logger.info({ url: service.url, publicBaseUrl: config.publicBaseUrl }, 'crs-sentinel listening');
  return { service, logger, config };
}

async function main(): Promise<void> {
  const { service, logger } = await startFromEnvironment(process.env);
  // Once running, a stray rejection is logged as one JSON line (name and message, no PHI) and the
  // process exits, as Node would, for the orchestrator to restart it.
  process.on('unhandledRejection', (error) => {
    logger.fatal(
      { err: error instanceof Error ? { name: error.name, message: error.message } : String(error) },
      'unhandled rejection',
    );
    process.exit(1);
  });
  const shutdown = (signal: string) => {
    logger.info({ signal }, 'shutting down: finishing in-flight requests');
    void service.stop().then(() => {
      logger.info('stopped');
      process.exit(0);
    });
  };
  process.once('SIGTERM', () => {
    shutdown('SIGTERM');
  });
  process.once('SIGINT', () => {
    shutdown('SIGINT');
  });
}

if (process.argv[1] !== undefined && import.meta.url === pathToFileURL(process.argv[1]).href) {
  void runMain('crs-sentinel', main);
}
