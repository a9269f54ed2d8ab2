/**
 * The embedded demo: starts crs-sentinel on its built-in defaults and prints how to call it.
 * (`npm start` runs the service alone from its configuration; this script is for trying it out.)
 */
import { loadConfig } from '../src/config/load-config.js';
import { createLogger } from '../src/logging/logger.js';
import { startService } from '../src/server.js';

const config = loadConfig(process.env);
const logger = createLogger(config.logLevel);
const service = await startService(config, logger);
process.stdout.write(
  [
    '',
    `crs-sentinel demo is running at ${service.url}`,
    `  discovery:  curl -s ${service.url}/cds-services`,
    `  health:     curl -s ${service.url}/healthz`,
    '  Press Ctrl+C to stop.',
    '',
  ].join('\n'),
);
const stop = () => {
  void service.stop().then(() => process.exit(0));
};
process.once('SIGINT', stop);
process.once('SIGTERM', stop);
