/**
 * Trusted CDS clients, from the `CDS_CLIENTS` setting (issue 4, "Trusted clients").
 *
 * CDS Hooks 2.0 "Trusting CDS Clients" (https://cds-hooks.hl7.org/2.0/#trusting-cds-clients): "CDS
 * Services SHOULD limit the CDS Clients they trust by maintaining an allowlist of `iss` and `jku`
 * urls", and the client's JWK Set is either at a URL (`jku`) or "communicated out-of-band". Each
 * entry here is one such client: its issuer, its keys (a JWK Set URL or the JWK Set itself), the
 * FHIR servers it may send us to, and optionally the `tenant` its JWTs must carry.
 *
 * `CDS_CLIENTS` is either a path to a JSON file or the JSON itself:
 *
 *   [{ "iss": "https://ehr.example.org", "jwks_url": "https://ehr.example.org/jwks.json",
 *      "fhir_servers": ["https://ehr.example.org/fhir/R4"], "tenant": "hospital-a" }]
 *
 * An entry with an inline `jwks` (keys pinned out of band, for hospitals without outbound access or
 * EHRs such as the public CDS Hooks Sandbox that always send a `jku` header) may also give
 * `jwks_url`: it is then only the `jku` value the tokens must carry, and is never fetched.
 *
 * Everything is checked at start-up; every error names the entry (index and iss) and field, all on
 * one line so the start-up message stays one line (README, "Configuration").
 */
import { readFileSync } from 'node:fs';
import type { JsonWebKey } from 'node:crypto';
import path from 'node:path';
import { z } from 'zod';
import { describeJsonError, parseJsonText } from '../config/json-text.js';
import { normaliseBaseUrl } from './fhir-server-binding.js';
import { importVerificationJwk } from './jwk.js';

/** Where a client's public keys come from. */
export type KeySource =
  /** A JWK Set URL (the `jku` the client uses, if it sends one, must equal it exactly). */
  | { readonly kind: 'jwks_url'; readonly url: string }
  /**
   * A JWK Set exchanged out of band (public keys only): these keys decide and nothing is fetched. A
   * `jku` header is then accepted as is, or must equal `jku` when the entry also gives `jwks_url`.
   */
  | {
      readonly kind: 'jwks';
      readonly jwks: { readonly keys: readonly JsonWebKey[] };
      readonly jku?: string;
    };

export interface TrustedClient {
  /** The exact `iss` claim this client's JWTs carry. */
  readonly iss: string;
  readonly keySource: KeySource;
  /**
   * Normalised FHIR base URLs (no trailing slash) this client may name as `fhirServer`, or `'any'`
   * for the synthetic development client only (CDS_AUTH=off, see auth-mode.ts).
   */
  readonly fhirServers: readonly string[] | 'any';
  /** When set, the JWT's `tenant` claim must equal it. */
  readonly tenant?: string;
  /** Plain http `jwks_url` and FHIR servers are refused unless this is true (local testing only). */
  readonly allowInsecureHttp: boolean;
  /** Silent mode for this EHR (`"silent": true`): cards are assessed and recorded, never answered. */
  readonly silent?: true;
}

export class TrustedClientsError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'TrustedClientsError';
  }
}

const nonEmpty = z.string().min(1, 'must be a non-empty string').max(2048, 'must be at most 2048 characters');

const entrySchema = z.strictObject({
  iss: nonEmpty.refine((value) => value.trim() === value, 'must not start or end with whitespace'),
  jwks_url: nonEmpty.optional(),
  jwks: z.strictObject({ keys: z.array(z.unknown()).min(1, 'must hold at least one key') }).optional(),
  fhir_servers: z.array(nonEmpty).min(1, 'must list at least one FHIR base URL'),
  tenant: nonEmpty.optional(),
  allow_insecure_http: z.boolean().optional(),
  silent: z.boolean().optional(),
});

type Entry = z.infer<typeof entrySchema>;

function describePath(path: readonly PropertyKey[]): string {
  let out = '';
  for (const part of path) {
    out += typeof part === 'number' ? `[${part}]` : `${out === '' ? '' : '.'}${String(part)}`;
  }
  return out === '' ? 'entry' : out;
}

function entryLabel(source: string, index: number, raw: unknown): string {
  const iss =
    typeof raw === 'object' && raw !== null && 'iss' in raw && typeof raw.iss === 'string'
      ? ` (iss ${JSON.stringify(raw.iss.slice(0, 200))})`
      : '';
  return `${source} entry ${index}${iss}`;
}

function checkUrl(
  value: string,
  field: string,
  allowInsecureHttp: boolean,
  problems: string[],
): string | undefined {
  const normalised = normaliseBaseUrl(value);
  if (!normalised.ok) {
    problems.push(`${field} ${normalised.reason}`);
    return undefined;
  }
  if (normalised.insecure && !allowInsecureHttp) {
    problems.push(
      `${field} uses plain http, refused unless "allow_insecure_http": true (local testing only)`,
    );
    return undefined;
  }
  return normalised.url;
}

function toClient(entry: Entry, problems: string[]): TrustedClient | undefined {
  const allowInsecureHttp = entry.allow_insecure_http ?? false;
  let keySource: KeySource | undefined;
  if (entry.jwks_url === undefined && entry.jwks === undefined) {
    problems.push('one of "jwks_url" (keys fetched) and "jwks" (keys pinned) must be given');
  } else if (entry.jwks === undefined && entry.jwks_url !== undefined) {
    // The JWK Set URL is kept as written: a `jku` header must match it character for character.
    if (checkUrl(entry.jwks_url, 'jwks_url', allowInsecureHttp, problems) !== undefined) {
      keySource = { kind: 'jwks_url', url: entry.jwks_url };
    }
  } else if (entry.jwks !== undefined) {
    // With pinned keys, `jwks_url` only names the `jku` the tokens carry (kept as written too).
    const jku =
      entry.jwks_url !== undefined &&
      checkUrl(entry.jwks_url, 'jwks_url', allowInsecureHttp, problems) !== undefined
        ? entry.jwks_url
        : undefined;
    const keys: JsonWebKey[] = [];
    const kids = new Set<string>();
    entry.jwks.keys.forEach((jwk, index) => {
      const imported = importVerificationJwk(jwk);
      if (!imported.ok) {
        problems.push(`jwks.keys[${index}] ${imported.reason}`);
      } else if (kids.has(imported.key.kid)) {
        problems.push(`jwks.keys[${index}] repeats kid ${JSON.stringify(imported.key.kid)}`);
      } else {
        kids.add(imported.key.kid);
        keys.push(jwk as JsonWebKey);
      }
    });
    keySource = { kind: 'jwks', jwks: { keys }, ...(jku === undefined ? {} : { jku }) };
  }
  const fhirServers: string[] = [];
  entry.fhir_servers.forEach((server, index) => {
    const url = checkUrl(server, `fhir_servers[${index}]`, allowInsecureHttp, problems);
    if (url !== undefined && !fhirServers.includes(url)) fhirServers.push(url);
  });
  if (problems.length > 0 || keySource === undefined) return undefined;
  return {
    iss: entry.iss,
    keySource,
    fhirServers,
    ...(entry.tenant === undefined ? {} : { tenant: entry.tenant }),
    allowInsecureHttp,
    ...(entry.silent === true ? { silent: true as const } : {}),
  };
}

/**
 * Parses and validates already-decoded CDS_CLIENTS JSON. Throws `TrustedClientsError` listing every
 * problem on one line (separated by `; `), each prefixed with its entry (index and iss) and field.
 * `source` names where the JSON came from (`CDS_CLIENTS` or `CDS_CLIENTS file "/abs/path"`).
 */
export function validateTrustedClients(json: unknown, source = 'CDS_CLIENTS'): TrustedClient[] {
  if (!Array.isArray(json)) {
    throw new TrustedClientsError(`${source} must be a JSON array of trusted client entries`);
  }
  const clients: TrustedClient[] = [];
  const errors: string[] = [];
  const seen = new Map<string, number>();
  json.forEach((raw: unknown, index) => {
    const label = entryLabel(source, index, raw);
    const parsed = entrySchema.safeParse(raw);
    if (!parsed.success) {
      for (const issue of parsed.error.issues) {
        const field =
          issue.code === 'unrecognized_keys'
            ? issue.keys.map((key) => JSON.stringify(key)).join(', ')
            : describePath(issue.path);
        const message = issue.code === 'unrecognized_keys' ? 'unknown field(s)' : issue.message;
        errors.push(`${label}: ${field}: ${message}`);
      }
      return;
    }
    const problems: string[] = [];
    const client = toClient(parsed.data, problems);
    for (const problem of problems) errors.push(`${label}: ${problem}`);
    const earlier = seen.get(parsed.data.iss);
    if (earlier !== undefined) {
      errors.push(`${label}: iss: the same issuer is already configured by entry ${earlier}`);
      return;
    }
    seen.set(parsed.data.iss, index);
    if (client !== undefined) clients.push(client);
  });
  if (errors.length > 0) {
    throw new TrustedClientsError(errors.join('; '));
  }
  return clients;
}

export type ReadTextFile = (path: string) => string;

const readUtf8: ReadTextFile = (path) => readFileSync(path, 'utf8');

/**
 * Parses `CDS_CLIENTS`: JSON when the value starts with `[` or `{` (after whitespace and a UTF-8
 * byte-order mark), otherwise a path to a JSON file read with `readFile`, relative to `cwd` (the
 * resolved path is what messages show, so an operator sees which file was meant). Throws
 * `TrustedClientsError` with a one-line message fit for the start-up log: a JSON syntax error gives
 * its line and column, and the content itself is never echoed.
 */
export function parseTrustedClients(
  value: string,
  readFile: ReadTextFile = readUtf8,
  cwd: string = process.cwd(),
): TrustedClient[] {
  const trimmed = value.replace(/^\uFEFF/, '').trim();
  if (trimmed === '') {
    throw new TrustedClientsError(
      'CDS_CLIENTS is empty: set it to a JSON file path or the JSON array of trusted EHRs (docs/registration.md), or unset it for the local demo EHR',
    );
  }
  let text: string;
  let source: string;
  if (trimmed.startsWith('[') || trimmed.startsWith('{')) {
    text = trimmed;
    source = 'CDS_CLIENTS';
  } else {
    const file = path.resolve(cwd, trimmed);
    source = `CDS_CLIENTS file ${JSON.stringify(file)}`;
    try {
      text = readFile(file);
    } catch (error) {
      const code =
        typeof error === 'object' && error !== null && 'code' in error ? String(error.code) : 'error';
      const hint =
        code === 'ENOENT'
          ? ': no such file (a relative path is taken from the working directory)'
          : code === 'EACCES'
            ? ': permission denied for the service user'
            : code === 'EISDIR'
              ? ': a folder, not a file'
              : '';
      throw new TrustedClientsError(`${source} cannot be read (${code})${hint}`);
    }
  }
  const parsed = parseJsonText(text);
  if (!parsed.ok) throw new TrustedClientsError(`${source}: ${describeJsonError(parsed)}`);
  return validateTrustedClients(parsed.value, source);
}
