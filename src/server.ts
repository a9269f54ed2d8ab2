/**
 * Starts crs-sentinel from its environment: validate config, build the app, listen, and shut down
 * gracefully on SIGTERM/SIGINT (stop taking connections, finish in-flight requests, then exit).
 */
import type { Server } from 'node:http';
import { pathToFileURL } from 'node:url';
import { ConfigError, loadConfig, type ServiceConfig } from './config/load-config.js';
import { composeDependencies } from './compose-dependencies.js';
import { createApp } from './http/app.js';
import { createLogger, type Logger } from './logging/logger.js';

export interface RunningService {
  server: Server;
  url: string;
  stop(): Promise<void>;
}

export async function startService(
  config: ServiceConfig,
  logger: Logger,
  env: NodeJS.ProcessEnv = process.env,
): Promise<RunningService> {
  let accepting = true;
  const app = createApp(composeDependencies(config, env, logger, () => accepting));
  const server = await new Promise<Server>((resolve, reject) => {
    const s = app.listen(config.port, config.host, (error?: Error) => {
      if (error) reject(error);
      else resolve(s);
    });
  });
  // Headers and keep-alive bounded so a slow or idle client cannot hold the process open.
  server.headersTimeout = 15_000;
  server.requestTimeout = 30_000;
  const address = server.address();
  const port = typeof address === 'object' && address !== null ? address.port : config.port;
  return {
    server,
    url: `http://${config.host}:${port}`,
    stop: () =>
      new Promise<void>((resolve) => {
        accepting = false;
        const force = setTimeout(() => server.closeAllConnections(), config.shutdownGraceMs);
        // Keep-alive connections go idle as their requests finish: close them as they do.
        const sweep = setInterval(() => server.closeIdleConnections(), 100);
        force.unref();
        sweep.unref();
        server.close(() => {
          clearTimeout(force);
          clearInterval(sweep);
          resolve();
        });
        server.closeIdleConnections();
      }),
  };
}

async function main(): Promise<void> {
  let config: ServiceConfig;
  try {
    config = loadConfig(process.env);
  } catch (error) {
    if (error instanceof ConfigError) {
      process.stderr.write(`crs-sentinel: configuration error: ${error.message}\n`);
      process.exit(1);
    }
    throw error;
  }
  const logger = createLogger(config.logLevel);
  const service = await startService(config, logger);
  logger.info({ url: service.url, publicBaseUrl: config.publicBaseUrl }, 'crs-sentinel listening');
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
  void main();
}
