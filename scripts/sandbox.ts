/**
 * `npm run sandbox`: the embedded FHIR R4 server with the fixture patients loaded, rebased to now.
 * FHIR_SANDBOX_PORT (default 8080) and FHIR_SANDBOX_HOST (default 127.0.0.1: it has no
 * authentication) choose where it listens.
 */
import { startFixtureSandbox } from '../src/sandbox/fixture-sandbox.js';
import { describeExpected } from '../src/fixture-loader/fixture-loader-cli.js';

const DEFAULT_PORT = 8080;

function portFrom(value: string | undefined): number {
  if (value === undefined || value === '') return DEFAULT_PORT;
  const port = Number(value);
  if (!Number.isInteger(port) || port < 0 || port > 65_535) {
    process.stderr.write(`FHIR_SANDBOX_PORT must be a TCP port (0-65535), not "${value}"\n`);
    process.exit(2);
  }
  return port;
}

const port = portFrom(process.env.FHIR_SANDBOX_PORT);
const host = process.env.FHIR_SANDBOX_HOST ?? '127.0.0.1';
const startedAt = performance.now();
let started: Awaited<ReturnType<typeof startFixtureSandbox>>;
try {
  started = await startFixtureSandbox({ port, host });
} catch (error) {
  const message = error instanceof Error ? error.message : String(error);
  const hint = message.includes('EADDRINUSE') ? ` (port ${port} is taken: set FHIR_SANDBOX_PORT)` : '';
  process.stderr.write(`FHIR sandbox failed to start: ${message}${hint}\n`);
  process.exit(1);
}
const { sandbox, patients, anchor } = started;
const width = Math.max(...patients.map((p) => p.patientId.length));
const expected = (p: (typeof patients)[number]): string => describeExpected(p.expected);
process.stdout.write(
  [
    '',
    `FHIR R4 sandbox running at ${sandbox.baseUrl}  (started in ${Math.round(performance.now() - startedAt)} ms)`,
    `  ${patients.length} fixture patients, timestamps moved from ${anchor} to now:`,
    ...patients.map((p) => `    ${p.patientId.padEnd(width)}  ${expected(p)}`),
    '',
    `  try:  curl -s ${sandbox.baseUrl}/metadata | head -c 300`,
    `        curl -s '${sandbox.baseUrl}/Observation?patient=${patients[0]?.patientId ?? '<id>'}&_sort=-date&_count=5'`,
    '  In-memory and unauthenticated: test data only. Press Ctrl+C to stop.',
    '',
  ].join('\n'),
);
const stop = () => {
  void sandbox.close().then(() => process.exit(0));
};
process.once('SIGINT', stop);
process.once('SIGTERM', stop);
