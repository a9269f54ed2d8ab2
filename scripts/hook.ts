/**
 * The EHR simulator: `npm run hook -- --patient <id> [--fhir <base>] [--service <url>] [--prefetch]
 * [--key <private key PEM>] [--iss <issuer>] [--kid <kid>] [--json]`.
 * Without --key it signs with the embedded demo EHR key (created under DATA_DIR on first use),
 * which the service trusts by default.
 *
 * With --json, stdout carries the response body as JSON and nothing else (errors go to stderr), so
 * `npm run --silent hook -- ... --json | jq` works: npm itself prints a `> crs-sentinel@... hook`
 * banner on stdout unless run with --silent, which no script can suppress from inside.
 */
import { readFileSync } from 'node:fs';
import { createPrivateKey, createPublicKey } from 'node:crypto';
import path from 'node:path';
import { formatCards } from '../src/ehr-simulator/format-cards.js';
import { SimulationError, simulatePatientView } from '../src/ehr-simulator/simulate-patient-view.js';
import {
  DEMO_CLIENT_ISSUER,
  ensureDemoClient,
  jwkThumbprint,
  signClientJwt,
} from '../src/trust/demo-client.js';
import { parseFlags } from './cli.js';

const values = parseFlags('hook', {
  patient: { type: 'string' },
  fhir: { type: 'string' },
  service: { type: 'string', default: 'http://127.0.0.1:3000' },
  prefetch: { type: 'boolean', default: false },
  key: { type: 'string' },
  iss: { type: 'string' },
  kid: { type: 'string' },
  encounter: { type: 'string' },
  json: { type: 'boolean', default: false },
  help: { type: 'boolean', default: false },
});

if (values.help || !values.patient) {
  // Usage on stdout only when asked for; as an error it goes to stderr (stdout may be piped to jq).
  (values.help ? process.stdout : process.stderr).write(
    'usage: npm run hook -- --patient <id> [--fhir <FHIR base>] [--service <http://127.0.0.1:3000>] [--prefetch]\n' +
      '                      [--key <private key PEM> --iss <issuer> [--kid <kid>]] [--encounter <id>] [--json]\n',
  );
  process.exit(values.help ? 0 : 2);
}

function signer(): (aud: string) => string {
  if (values.key) {
    const privateKey = createPrivateKey(readFileSync(values.key, 'utf8'));
    const kid = values.kid ?? jwkThumbprint(createPublicKey(privateKey).export({ format: 'jwk' }));
    const iss = values.iss ?? DEMO_CLIENT_ISSUER;
    return (aud) => signClientJwt({ privateKeyPem: privateKey, kid, iss, aud });
  }
  const demo = ensureDemoClient(path.resolve(process.env.DATA_DIR ?? 'data'));
  const pem = readFileSync(demo.privateKeyPemPath, 'utf8');
  return (aud) => signClientJwt({ privateKeyPem: pem, kid: demo.kid, iss: demo.client.iss, aud });
}

try {
  const result = await simulatePatientView({
    serviceBase: values.service,
    patientId: values.patient,
    prefetch: values.prefetch,
    sign: signer(),
    ...(values.fhir ? { fhirServer: values.fhir } : {}),
    ...(values.encounter ? { encounterId: values.encounter } : {}),
  });
  if (values.json) {
    process.stdout.write(`${JSON.stringify(result.body, null, 2)}\n`);
  } else {
    process.stdout.write(`POST ${result.serviceUrl} -> HTTP ${result.status}\n\n`);
    process.stdout.write(`${formatCards(result.body, result.timings)}\n`);
  }
  process.exit(result.status === 200 ? 0 : 1);
} catch (error) {
  const message =
    error instanceof SimulationError ? error.message : error instanceof Error ? error.message : String(error);
  process.stderr.write(`hook: ${message.split('\n')[0] ?? ''}\n`);
  process.exit(1);
}
