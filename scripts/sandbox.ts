/**
 * `npm run sandbox`: the embedded FHIR R4 server with the fixture patients loaded, rebased to now.
 * FHIR_SANDBOX_PORT (default 8080) and FHIR_SANDBOX_HOST (default 127.0.0.1: it has no
 * authentication) choose where it listens. A start-up failure (port in use, bad host or port) is
 * one line naming the variable (src/config/startup.ts).
 */
import { runMain } from '../src/config/startup.js';
import { describeExpected } from '../src/fixture-loader/fixture-loader-cli.js';
import { sandboxAddressFrom, startFixtureSandbox } from '../src/sandbox/fixture-sandbox.js';
import { parseFlags } from './cli.js';

const flags = parseFlags('sandbox', { help: { type: 'boolean', default: false } });
if (flags.help) {
  process.stdout.write(
    'usage: npm run sandbox   (FHIR_SANDBOX_PORT, default 8080; FHIR_SANDBOX_HOST, default 127.0.0.1)\n',
  );
  process.exit(0);
}

await runMain('sandbox', async () => {
  const { port, host } = sandboxAddressFrom(process.env);
  const startedAt = performance.now();
  const { sandbox, patients, anchor } = await startFixtureSandbox({ port, host });
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
      '  CORS is open, so a browser app (e.g. the public CDS Hooks Sandbox) can use it as its FHIR server.',
      '  In-memory and unauthenticated: test data only. Press Ctrl+C to stop.',
      '',
    ].join('\n'),
  );
  const stop = () => {
    void sandbox.close().then(() => process.exit(0));
  };
  process.once('SIGINT', stop);
  process.once('SIGTERM', stop);
});
