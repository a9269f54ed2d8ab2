/**
 * check-registration: does this EHR registration work end to end? (issue 4, "Registration guide")
 *
 * Signs a client JWT with the EHR's private key exactly as CDS Hooks 2.0 "Trusting CDS Clients"
 * describes (https://cds-hooks.hl7.org/2.0/#trusting-cds-clients: alg/kid/typ[/jku] header; iss,
 * aud = the discovery URL, exp, iat, jti[, tenant] claims), calls discovery with it, and prints a
 * pass/fail line per check. The token itself is never printed.
 *
 *   npm run build
 *   node dist/scripts/check-registration.js --url https://cds.example.org/cds-services \
 *     --key ./ehr-private-key.pem --iss https://ehr.example.org --kid my-key-id [--alg ES384]
 *
 * Options: --url (discovery URL, also the JWT aud), --key (PEM, or a JSON private JWK), --iss,
 * --kid (default: the JWK's kid), --alg (default: the JWK's alg, else from the key type),
 * --jku, --tenant, --origin (for the CORS checks, default https://sandbox.cds-hooks.org),
 * --service-id (default crs-sentinel), --hook (default patient-view), --timeout (ms, default
 * 10000), --allow-http (local testing only). Exit code 0 when every check passes, 1 otherwise.
 */
import { createPrivateKey } from 'node:crypto';
import type { JsonWebKey, KeyObject } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { resolve } from 'node:path';
import { pathToFileURL } from 'node:url';
import { parseArgs } from 'node:util';
import { signClientJwt } from '../src/trust/demo-client.js';
import { isAllowedAlgorithm } from '../src/trust/jwk.js';
import type { AllowedAlgorithm } from '../src/trust/jwk.js';

export interface RegistrationCheckOptions {
  readonly url: string;
  readonly keyText: string;
  readonly iss: string;
  readonly kid?: string;
  readonly alg?: string;
  readonly jku?: string;
  readonly tenant?: string;
  readonly origin: string;
  readonly serviceId: string;
  readonly hook: string;
  readonly timeoutMs: number;
  readonly allowHttp: boolean;
}

export interface CheckResult {
  readonly name: string;
  readonly pass: boolean;
  readonly detail: string;
}

interface LoadedKey {
  readonly key: KeyObject;
  readonly kid?: string;
  readonly alg?: string;
}

function loadPrivateKey(text: string): LoadedKey {
  const trimmed = text.trim();
  if (trimmed.startsWith('{')) {
    const jwk = JSON.parse(trimmed) as JsonWebKey;
    const key = createPrivateKey({ key: jwk, format: 'jwk' });
    return {
      key,
      ...(typeof jwk.kid === 'string' ? { kid: jwk.kid } : {}),
      ...(typeof jwk.alg === 'string' ? { alg: jwk.alg } : {}),
    };
  }
  return { key: createPrivateKey(trimmed) };
}

function algorithmFor(key: KeyObject): AllowedAlgorithm | undefined {
  if (key.asymmetricKeyType === 'rsa') return 'RS384';
  if (key.asymmetricKeyType !== 'ec') return undefined;
  const curve = key.asymmetricKeyDetails?.namedCurve;
  if (curve === 'secp384r1') return 'ES384';
  if (curve === 'prime256v1') return 'ES256';
  if (curve === 'secp521r1') return 'ES512';
  return undefined;
}

/** An error message with its cause (fetch hides ECONNREFUSED, ENOTFOUND, certificate errors there). */
function describe(error: unknown): string {
  if (!(error instanceof Error)) return 'error';
  const cause: unknown = error.cause;
  const detail =
    cause instanceof Error
      ? 'code' in cause && typeof cause.code === 'string'
        ? cause.code
        : cause.message
      : '';
  return detail === '' ? error.message : `${error.message} (${detail})`;
}

function headerHas(value: string | null, wanted: string): boolean {
  return (value ?? '')
    .split(',')
    .map((part) => part.trim().toLowerCase())
    .includes(wanted.toLowerCase());
}

/** Runs every check in order; stops early only when there is nothing left to check. */
export async function runRegistrationCheck(
  options: RegistrationCheckOptions,
  fetchImpl: typeof fetch = fetch,
): Promise<CheckResult[]> {
  const results: CheckResult[] = [];
  const check = (name: string, pass: boolean, detail: string): boolean => {
    results.push({ name, pass, detail });
    return pass;
  };

  // 1. The key and algorithm.
  let loaded: LoadedKey;
  try {
    loaded = loadPrivateKey(options.keyText);
  } catch {
    check('private key', false, 'cannot read the key: give a PEM private key or a JSON private JWK');
    return results;
  }
  const alg = options.alg ?? loaded.alg ?? algorithmFor(loaded.key);
  const kid = options.kid ?? loaded.kid;
  if (!isAllowedAlgorithm(alg)) {
    check('private key', false, `algorithm ${String(alg)} is not accepted (use ES384 or RS384)`);
    return results;
  }
  if (kid === undefined || kid === '') {
    check('private key', false, 'no kid: pass --kid (the key id the EHR publishes in its JWK Set)');
    return results;
  }
  check(
    'private key',
    true,
    `${loaded.key.asymmetricKeyType ?? '?'} key, alg ${alg}, kid ${JSON.stringify(kid)}`,
  );

  // 2. The URL.
  let url: URL;
  try {
    url = new URL(options.url);
  } catch {
    check('discovery URL', false, `${JSON.stringify(options.url)} is not an absolute URL`);
    return results;
  }
  const secure = url.protocol === 'https:';
  if (
    !check(
      'discovery URL',
      secure || (url.protocol === 'http:' && options.allowHttp),
      secure
        ? url.href
        : options.allowHttp && url.protocol === 'http:'
          ? `${url.href} (plain http allowed by --allow-http: local testing only)`
          : `${url.href} is not https (CDS Hooks 2.0 requires TLS; --allow-http for local testing only)`,
    )
  ) {
    return results;
  }
  if (!url.pathname.endsWith('/cds-services')) {
    check(
      'discovery URL',
      false,
      'the discovery URL ends in /cds-services (PUBLIC_BASE_URL + /cds-services)',
    );
    return results;
  }

  const sign = (): string => {
    try {
      return signClientJwt({
        privateKeyPem: loaded.key,
        kid,
        iss: options.iss,
        aud: options.url,
        alg,
        lifetimeSeconds: 300,
        ...(options.jku === undefined ? {} : { jku: options.jku }),
        ...(options.tenant === undefined ? {} : { tenant: options.tenant }),
      });
    } catch (error) {
      throw new Error(`cannot sign with this key and alg ${alg}: ${describe(error)}`);
    }
  };
  const request = (init: RequestInit) =>
    fetchImpl(options.url, { redirect: 'manual', signal: AbortSignal.timeout(options.timeoutMs), ...init });

  // 3. Reachable, and refusing calls without a JWT.
  let anonymous: Response;
  try {
    anonymous = await request({ method: 'GET' });
  } catch (error) {
    check('reachable', false, `GET failed: ${describe(error)}`);
    return results;
  }
  check('reachable', true, `GET answered ${anonymous.status}`);
  check(
    'refuses calls without a JWT',
    anonymous.status === 401 && anonymous.headers.get('www-authenticate') !== null,
    anonymous.status === 401
      ? `401${anonymous.headers.get('www-authenticate') === null ? ' but no WWW-Authenticate header' : ' with WWW-Authenticate'}`
      : `answered ${anonymous.status} without a JWT: is CDS_AUTH=off? It must be on outside local testing`,
  );

  // 4. CORS preflight, as a browser-based client (the public sandbox) sends it.
  try {
    const preflight = await request({
      method: 'OPTIONS',
      headers: {
        origin: options.origin,
        'access-control-request-method': 'GET',
        'access-control-request-headers': 'authorization,content-type',
      },
    });
    const allowOrigin = preflight.headers.get('access-control-allow-origin');
    const allowHeaders = preflight.headers.get('access-control-allow-headers');
    // The Fetch standard: a `*` in Access-Control-Allow-Headers never covers Authorization.
    check(
      'CORS preflight',
      preflight.ok &&
        (allowOrigin === '*' || allowOrigin === options.origin) &&
        headerHas(allowHeaders, 'authorization') &&
        (headerHas(allowHeaders, 'content-type') || allowHeaders === '*'),
      `status ${preflight.status}, allow-origin ${JSON.stringify(allowOrigin)}, allow-headers ${JSON.stringify(allowHeaders)} (origin ${options.origin})`,
    );
  } catch (error) {
    check('CORS preflight', false, `OPTIONS failed: ${describe(error)}`);
  }

  // 5. Discovery with a signed JWT.
  let token: string;
  try {
    token = sign();
  } catch (error) {
    check('signed JWT', false, error instanceof Error ? error.message : 'cannot sign');
    return results;
  }
  let response: Response;
  try {
    response = await request({
      method: 'GET',
      headers: { authorization: `Bearer ${token}`, origin: options.origin },
    });
  } catch (error) {
    check('discovery answers 200 to the signed JWT', false, `GET failed: ${describe(error)}`);
    return results;
  }
  if (
    !check(
      'discovery answers 200 to the signed JWT',
      response.status === 200,
      response.status === 200
        ? '200'
        : `answered ${response.status}. If 401: the service log line "caller refused" names the failed check (failedCheck) with iss and jti; check that CDS_CLIENTS has iss ${JSON.stringify(options.iss)} with this key (kid ${JSON.stringify(kid)}), that PUBLIC_BASE_URL + /cds-services is exactly ${options.url}, and that both clocks are right`,
    )
  ) {
    return results;
  }
  const allowOrigin = response.headers.get('access-control-allow-origin');
  check(
    'CORS on the response',
    allowOrigin === '*' || allowOrigin === options.origin,
    `access-control-allow-origin ${JSON.stringify(allowOrigin)}`,
  );
  const contentType = response.headers.get('content-type') ?? '';
  let body: unknown;
  try {
    body = await response.json();
  } catch {
    body = undefined;
  }
  const services =
    typeof body === 'object' && body !== null && 'services' in body && Array.isArray(body.services)
      ? (body.services as unknown[])
      : undefined;
  check(
    'discovery body',
    contentType.startsWith('application/json') && services !== undefined,
    services === undefined
      ? `not a discovery document (content-type ${contentType})`
      : `${services.length} service(s)`,
  );
  const listed = (services ?? []).some(
    (service) =>
      typeof service === 'object' &&
      service !== null &&
      'id' in service &&
      service.id === options.serviceId &&
      'hook' in service &&
      service.hook === options.hook,
  );
  check(
    'service listed',
    listed,
    listed
      ? `${options.serviceId} on ${options.hook}`
      : `no service ${JSON.stringify(options.serviceId)} on hook ${options.hook}`,
  );

  // 6. The same JWT again must be refused (jti replay protection).
  try {
    const replay = await request({ method: 'GET', headers: { authorization: `Bearer ${token}` } });
    check(
      'refuses a replayed JWT',
      replay.status === 401,
      replay.status === 401 ? '401' : `answered ${replay.status} to the same JWT twice`,
    );
  } catch (error) {
    check('refuses a replayed JWT', false, `GET failed: ${describe(error)}`);
  }
  return results;
}

export function formatResults(results: readonly CheckResult[]): string {
  const width = Math.max(...results.map((result) => result.name.length));
  const lines = results.map((r) => `${r.pass ? 'PASS' : 'FAIL'}  ${r.name.padEnd(width)}  ${r.detail}`);
  const failed = results.filter((result) => !result.pass).length;
  lines.push(failed === 0 ? 'All checks passed.' : `${failed} check(s) failed.`);
  return lines.join('\n');
}

const USAGE =
  'usage: check-registration --url <discovery URL> --key <private key PEM or JWK file> --iss <issuer> ' +
  '[--kid <kid>] [--alg ES384|RS384|...] [--jku <url>] [--tenant <tenant>] [--origin <origin>] ' +
  '[--service-id crs-sentinel] [--hook patient-view] [--timeout 10000] [--allow-http]';

async function main(argv: string[]): Promise<number> {
  let values;
  try {
    ({ values } = parseArgs({
      args: argv,
      options: {
        url: { type: 'string' },
        key: { type: 'string' },
        iss: { type: 'string' },
        kid: { type: 'string' },
        alg: { type: 'string' },
        jku: { type: 'string' },
        tenant: { type: 'string' },
        origin: { type: 'string', default: 'https://sandbox.cds-hooks.org' },
        'service-id': { type: 'string', default: 'crs-sentinel' },
        hook: { type: 'string', default: 'patient-view' },
        timeout: { type: 'string', default: '10000' },
        'allow-http': { type: 'boolean', default: false },
        help: { type: 'boolean', default: false },
      },
      strict: true,
    }));
  } catch (error) {
    // One line for a bad flag (issue 10); --help prints the usage.
    console.error(
      `check-registration: ${error instanceof Error ? error.message : 'bad arguments'} (--help for usage)`,
    );
    return 2;
  }
  if (values.help || values.url === undefined || values.key === undefined || values.iss === undefined) {
    console.error(USAGE);
    return values.help ? 0 : 2;
  }
  let keyText: string;
  try {
    keyText = readFileSync(resolve(values.key), 'utf8');
  } catch {
    console.error(`cannot read the key file ${values.key}`);
    return 2;
  }
  const timeoutMs = Number(values.timeout);
  const results = await runRegistrationCheck({
    url: values.url,
    keyText,
    iss: values.iss,
    ...(values.kid === undefined ? {} : { kid: values.kid }),
    ...(values.alg === undefined ? {} : { alg: values.alg }),
    ...(values.jku === undefined ? {} : { jku: values.jku }),
    ...(values.tenant === undefined ? {} : { tenant: values.tenant }),
    origin: values.origin,
    serviceId: values['service-id'],
    hook: values.hook,
    timeoutMs: Number.isFinite(timeoutMs) && timeoutMs > 0 ? timeoutMs : 10_000,
    allowHttp: values['allow-http'],
  });
  console.log(formatResults(results));
  return results.every((result) => result.pass) ? 0 : 1;
}

const invokedDirectly =
  process.argv[1] !== undefined && import.meta.url === pathToFileURL(resolve(process.argv[1])).href;
if (invokedDirectly) {
  main(process.argv.slice(2)).then(
    (code) => {
      process.exitCode = code;
    },
    (error: unknown) => {
      console.error(error instanceof Error ? error.message : 'check-registration failed');
      process.exitCode = 1;
    },
  );
}
