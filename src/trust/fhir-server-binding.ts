/**
 * FHIR server binding (issue 4, "FHIR server binding").
 *
 * CDS Hooks 2.0 "Trusting CDS Clients" authenticates the caller, but the request body then names a
 * `fhirServer` (https://cds-hooks.hl7.org/2.0/#http-request) and hands over a bearer token for it
 * (https://cds-hooks.hl7.org/2.0/#passing-the-access-token-to-the-cds-service). A service that calls
 * whatever `fhirServer` a caller names is an SSRF and token-forwarding hole, so each trusted client
 * is bound to the exact FHIR base URLs configured for it. The comparison is on a normalised form
 * (scheme and host lowercased by the WHATWG URL parser, default port dropped, trailing slashes
 * removed) and is an exact match: never a prefix, so neither `https://fhir.example.org.evil.com` nor
 * `https://fhir.example.org/R4evil` can pass for `https://fhir.example.org/R4`.
 */
import type { TrustedClient } from './trusted-clients.js';

export type NormalisedUrl =
  | { readonly ok: true; readonly url: string; readonly insecure: boolean }
  | { readonly ok: false; readonly reason: string };

// Whitespace, control characters and backslashes are silently rewritten by the URL parser; a base
// URL that needs rewriting is refused rather than guessed at.
// eslint-disable-next-line no-control-regex
const SUSPICIOUS_CHARACTERS = /[\s\u0000-\u001f\u007f\\]/;

/**
 * Normalises a FHIR base URL (or a JWK Set URL) to `scheme://host[:port]/path` with no trailing
 * slash. Refused: anything that is not an absolute http(s) URL, credentials in the URL, a query or a
 * fragment, whitespace, control characters and backslashes.
 */
export function normaliseBaseUrl(value: string): NormalisedUrl {
  if (value.length === 0) return { ok: false, reason: 'is empty' };
  if (value.length > 2048) return { ok: false, reason: 'is longer than 2048 characters' };
  if (SUSPICIOUS_CHARACTERS.test(value)) {
    return { ok: false, reason: 'contains whitespace, a control character or a backslash' };
  }
  let url: URL;
  try {
    url = new URL(value);
  } catch {
    return { ok: false, reason: 'is not an absolute URL' };
  }
  if (url.protocol !== 'https:' && url.protocol !== 'http:') {
    return { ok: false, reason: 'must use https (or http for local testing)' };
  }
  if (url.username !== '' || url.password !== '') {
    return { ok: false, reason: 'must not contain credentials' };
  }
  if (value.includes('?') || value.includes('#')) {
    return { ok: false, reason: 'must not contain a query or a fragment' };
  }
  const path = url.pathname.replace(/\/+$/, '');
  return { ok: true, url: `${url.protocol}//${url.host}${path}`, insecure: url.protocol === 'http:' };
}

/**
 * True when `fhirServer` (from the hook request) is one of the authenticated client's configured FHIR
 * base URLs, compared exactly after normalisation. Plain http is refused unless the client entry
 * sets `allow_insecure_http` (checked again here although configuration parsing already refused
 * such entries). A client whose `fhirServers` is `'any'` (development mode only, see auth-mode.ts)
 * accepts any well-formed http(s) base URL.
 *
 * The caller must then fetch from `normaliseBaseUrl(fhirServer).url`, never from the raw string.
 */
export function isFhirServerAllowed(client: TrustedClient, fhirServer: string): boolean {
  const normalised = normaliseBaseUrl(fhirServer);
  if (!normalised.ok) return false;
  if (client.fhirServers === 'any') return true;
  if (normalised.insecure && !client.allowInsecureHttp) return false;
  return client.fhirServers.includes(normalised.url);
}

function parseAgainst(url: string, base: string): { target: URL; baseUrl: URL } | undefined {
  try {
    const baseUrl = new URL(base);
    return { target: new URL(url, baseUrl), baseUrl };
  } catch {
    return undefined;
  }
}

/**
 * True when `url` (absolute, or relative to `base`) has exactly the origin of `base`: same scheme,
 * host and port. For refusing Bundle `next` links and redirects that point at another host, which
 * would otherwise receive the EHR's FHIR access token.
 */
export function isSameOrigin(url: string, base: string): boolean {
  const parsed = parseAgainst(url, base);
  if (parsed === undefined) return false;
  const { target, baseUrl } = parsed;
  if (target.protocol !== 'https:' && target.protocol !== 'http:') return false;
  if (target.username !== '' || target.password !== '') return false;
  return target.origin === baseUrl.origin;
}

/**
 * Stricter than `isSameOrigin`: `url` must also lie at or under the path of the FHIR base URL
 * (`/R4` accepts `/R4` and `/R4/Observation?...`, never `/R4evil` or `/other`).
 */
export function isWithinFhirBase(url: string, base: string): boolean {
  if (!isSameOrigin(url, base)) return false;
  const parsed = parseAgainst(url, base);
  if (parsed === undefined) return false;
  const basePath = parsed.baseUrl.pathname.replace(/\/+$/, '');
  const path = parsed.target.pathname;
  return path === basePath || path === `${basePath}/` || path.startsWith(`${basePath}/`);
}
