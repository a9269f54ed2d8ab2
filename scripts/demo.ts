/**
 * The embedded demo (`npm run demo`, the README's first command): starts the embedded FHIR R4
 * sandbox with the fixture patients (rebased to now) and crs-sentinel on its defaults, then acts
 * as the EHR for every fixture patient, signing with the local demo EHR key the service trusts by
 * default, and prints the card each one gets. Both servers keep running until Ctrl+C.
 * (`npm start` runs the service alone; `npm run sandbox` the FHIR server alone.)
 * A start-up failure is one line naming the variable to change: PORT/HOST for the service,
 * FHIR_SANDBOX_PORT/FHIR_SANDBOX_HOST for the sandbox (src/config/startup.ts).
 */
import { readFileSync } from 'node:fs';
import { loadConfig } from '../src/config/load-config.js';
import { runMain } from '../src/config/startup.js';
import { simulatePatientView } from '../src/ehr-simulator/simulate-patient-view.js';
import { standaloneLaunchUrl } from '../src/http/trend-view-app.js';
import { createLogger } from '../src/logging/logger.js';
import { sandboxAddressFrom, startFixtureSandbox } from '../src/sandbox/fixture-sandbox.js';
import { startService } from '../src/server.js';
import { ensureDemoClient, signClientJwt } from '../src/trust/demo-client.js';
import { parseFlags } from './cli.js';

const flags = parseFlags('demo', { help: { type: 'boolean', default: false } });
if (flags.help) {
  process.stdout.write(
    'usage: npm run demo   (PORT, HOST for the service; FHIR_SANDBOX_PORT for the sandbox)\n',
  );
  process.exit(0);
}

await runMain('demo', demo);

async function demo(): Promise<void> {
  const config = loadConfig(process.env);
  const { sandbox, patients } = await startFixtureSandbox(sandboxAddressFrom(process.env));
  // The demo EHR may send the service to this sandbox only (the FHIR server binding).
  let service: Awaited<ReturnType<typeof startService>>;
  try {
    service = await startService(
      { ...config, demoFhirServer: sandbox.baseUrl },
      createLogger(process.env.LOG_LEVEL ?? 'error'),
    );
  } catch (error) {
    await sandbox.close();
    throw error;
  }

  const demo = ensureDemoClient(config.dataDir, { fhirServers: [sandbox.baseUrl] });
  const pem = readFileSync(demo.privateKeyPemPath, 'utf8');
  const sign = (aud: string) =>
    signClientJwt({ privateKeyPem: pem, kid: demo.kid, iss: demo.client.iss, aud });

  const out: string[] = ['', `FHIR sandbox: ${sandbox.baseUrl}   crs-sentinel: ${service.url}`, ''];
  for (const patient of patients) {
    const result = await simulatePatientView({
      serviceBase: config.publicBaseUrl,
      patientId: patient.patientId,
      fhirServer: sandbox.baseUrl,
      prefetch: false,
      sign,
    });
    out.push(
      `${patient.patientId}\n    ${summarise(result.status, result.body)}   (${result.timings.hookMs.toFixed(0)} ms)`,
    );
  }
  out.push('', 'The CRS trend view (SMART app, standalone launch against the sandbox), per patient:');
  for (const patient of patients)
    out.push(`  ${standaloneLaunchUrl(config.publicBaseUrl, sandbox.baseUrl, patient.patientId)}`);
  out.push(
    '',
    'One patient in full, as an EHR would show it:',
    `  npm run hook -- --patient ${patients[1]?.patientId ?? '<id>'} --fhir ${sandbox.baseUrl}`,
    `  (add --prefetch to send prefetch like an EHR, --json for the raw response)`,
    'Press Ctrl+C to stop.',
    '',
  );
  process.stdout.write(out.join('\n'));
  const stop = () => {
    void Promise.all([service.stop(), sandbox.close()]).then(() => process.exit(0));
  };
  process.once('SIGINT', stop);
  process.once('SIGTERM', stop);
}

function summarise(status: number, body: unknown): string {
  if (status !== 200) return `HTTP ${status}: ${JSON.stringify(body)}`;
  const cards = (body as { cards?: { indicator?: string; summary?: string }[] }).cards ?? [];
  if (cards.length === 0) return 'no card';
  return cards.map((c) => `[${(c.indicator ?? '').toUpperCase()}] ${c.summary ?? ''}`).join('\n    ');
}
