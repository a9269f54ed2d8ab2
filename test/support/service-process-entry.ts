/**
 * The real service in a child process, for tests where memory and garbage collection matter
 * (test/http/hostile-fhir-servers.test.ts). Started by service-process.ts with `--expose-gc` and
 * its configuration in the environment; talks to its parent over IPC:
 * - sends `{ url }` once listening;
 * - `{ gc: true | false }` starts or stops forced full GCs every 100 ms (a deadline held only by a
 *   weakly referenced signal would be lost to one of them);
 * - `{ rss: true }` answers `{ maxRss, rss }` in bytes (max over samples every 20 ms).
 * It exits when the parent goes away.
 */
import { loadConfig } from '../../src/config/load-config.js';
import { createLogger } from '../../src/logging/logger.js';
import { startService } from '../../src/server.js';

const forceGc = globalThis.gc;
let maxRss = process.memoryUsage.rss();
const sampler = setInterval(() => {
  maxRss = Math.max(maxRss, process.memoryUsage.rss());
}, 20);
let gcLoop: NodeJS.Timeout | undefined;

const config = loadConfig(process.env);
const service = await startService(config, createLogger(config.logLevel));

process.on('message', (message: { gc?: boolean; rss?: boolean }) => {
  if (message.gc === true && forceGc && gcLoop === undefined) gcLoop = setInterval(() => forceGc(), 100);
  if (message.gc === false && gcLoop !== undefined) {
    clearInterval(gcLoop);
    gcLoop = undefined;
  }
  if (message.rss === true) {
    maxRss = Math.max(maxRss, process.memoryUsage.rss());
    process.send?.({ maxRss, rss: process.memoryUsage.rss() });
  }
});
process.on('disconnect', () => {
  clearInterval(sampler);
  if (gcLoop !== undefined) clearInterval(gcLoop);
  void service.stop().then(() => process.exit(0));
  setTimeout(() => process.exit(0), 2000).unref();
});
process.send?.({ url: service.url });
