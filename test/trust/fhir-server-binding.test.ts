import { describe, expect, it } from 'vitest';
import {
  isFhirServerAllowed,
  isSameOrigin,
  isWithinFhirBase,
  normaliseBaseUrl,
} from '../../src/trust/fhir-server-binding.js';
import { validateTrustedClients } from '../../src/trust/trusted-clients.js';
import { DEVELOPMENT_CLIENT } from '../../src/trust/auth-mode.js';

const [client, localClient] = validateTrustedClients([
  {
    iss: 'https://ehr.example.org',
    jwks_url: 'https://ehr.example.org/jwks',
    fhir_servers: ['https://fhir.example.org/R4/', 'https://fhir.example.org:8443/api/FHIR/R4'],
  },
  {
    iss: 'http://localhost',
    jwks_url: 'http://localhost/jwks',
    fhir_servers: ['http://127.0.0.1:8080/fhir'],
    allow_insecure_http: true,
  },
]) as [ReturnType<typeof validateTrustedClients>[number], ReturnType<typeof validateTrustedClients>[number]];

describe('isFhirServerAllowed', () => {
  const cases: { fhirServer: string; allowed: boolean; why: string }[] = [
    { fhirServer: 'https://fhir.example.org/R4', allowed: true, why: 'listed' },
    { fhirServer: 'https://fhir.example.org/R4/', allowed: true, why: 'trailing slash normalised' },
    { fhirServer: 'https://fhir.example.org/R4//', allowed: true, why: 'trailing slashes normalised' },
    { fhirServer: 'HTTPS://FHIR.Example.ORG/R4', allowed: true, why: 'scheme and host are case-insensitive' },
    { fhirServer: 'https://fhir.example.org:443/R4', allowed: true, why: 'default port' },
    { fhirServer: 'https://fhir.example.org:8443/api/FHIR/R4', allowed: true, why: 'second listed server' },
    { fhirServer: 'https://fhir.example.org/r4', allowed: false, why: 'path is case-sensitive' },
    { fhirServer: 'https://fhir.example.org/R4evil', allowed: false, why: 'no prefix match on the path' },
    { fhirServer: 'https://fhir.example.org/R4/Patient', allowed: false, why: 'a sub-path is not the base' },
    { fhirServer: 'https://fhir.example.org', allowed: false, why: 'a parent path is not the base' },
    { fhirServer: 'https://fhir.example.org.evil.com/R4', allowed: false, why: 'look-alike host' },
    { fhirServer: 'https://evil.com/fhir.example.org/R4', allowed: false, why: 'host in the path' },
    { fhirServer: 'https://fhir.example.org@evil.com/R4', allowed: false, why: 'userinfo trick' },
    { fhirServer: 'https://evil.com#@fhir.example.org/R4', allowed: false, why: 'fragment trick' },
    { fhirServer: 'https://fhir.example.org\\@evil.com/R4', allowed: false, why: 'backslash trick' },
    { fhirServer: 'https://fhir.example.org:8443/R4', allowed: false, why: 'another port' },
    { fhirServer: 'http://fhir.example.org/R4', allowed: false, why: 'http when not allowed' },
    { fhirServer: 'https://fhir.example.org/R4?_format=json', allowed: false, why: 'query' },
    { fhirServer: 'https://fhir.example.org/R4 ', allowed: false, why: 'whitespace' },
    {
      fhirServer: 'https://fhir.example.org/other/../R4',
      allowed: true,
      why: 'dot segments resolve to the listed base',
    },
    {
      fhirServer: 'https://fhir.example.org/R4/../admin',
      allowed: false,
      why: 'dot segments resolve elsewhere',
    },
    { fhirServer: 'fhir.example.org/R4', allowed: false, why: 'not absolute' },
    { fhirServer: '', allowed: false, why: 'empty' },
  ];
  it.each(cases)('$fhirServer -> $allowed ($why)', ({ fhirServer, allowed }) => {
    expect(isFhirServerAllowed(client, fhirServer)).toBe(allowed);
  });

  it('allows http only for a client entry with allow_insecure_http', () => {
    expect(isFhirServerAllowed(localClient, 'http://127.0.0.1:8080/fhir/')).toBe(true);
    expect(isFhirServerAllowed(localClient, 'http://localhost:8080/fhir')).toBe(false);
    expect(
      isFhirServerAllowed({ ...localClient, allowInsecureHttp: false }, 'http://127.0.0.1:8080/fhir'),
    ).toBe(false);
  });

  it('lets the development client (CDS_AUTH=off) name any well-formed http(s) server', () => {
    expect(isFhirServerAllowed(DEVELOPMENT_CLIENT, 'http://anything.example/fhir')).toBe(true);
    expect(isFhirServerAllowed(DEVELOPMENT_CLIENT, 'file:///etc/passwd')).toBe(false);
  });
});

describe('normaliseBaseUrl', () => {
  it('gives scheme://host[:port]/path without trailing slash', () => {
    expect(normaliseBaseUrl('HTTPS://Fhir.Example.org:443/R4/')).toEqual({
      ok: true,
      url: 'https://fhir.example.org/R4',
      insecure: false,
    });
    expect(normaliseBaseUrl('http://127.0.0.1:8080/')).toEqual({
      ok: true,
      url: 'http://127.0.0.1:8080',
      insecure: true,
    });
  });
});

describe('isSameOrigin and isWithinFhirBase (Bundle next links, redirects)', () => {
  const base = 'https://fhir.example.org/R4';
  const cases: { url: string; sameOrigin: boolean; within: boolean }[] = [
    { url: 'https://fhir.example.org/R4/Observation?page=2', sameOrigin: true, within: true },
    { url: 'https://fhir.example.org/R4?_getpages=abc', sameOrigin: true, within: true },
    // Relative references resolve per RFC 3986: against .../R4 (no trailing slash) that is /Observation.
    { url: 'Observation?page=2', sameOrigin: true, within: false },
    { url: '/R4/Observation?page=2', sameOrigin: true, within: true },
    { url: 'https://fhir.example.org/R4evil/Observation', sameOrigin: true, within: false },
    { url: 'https://fhir.example.org/other', sameOrigin: true, within: false },
    { url: 'https://fhir.example.org.evil.com/R4/Observation', sameOrigin: false, within: false },
    { url: 'http://fhir.example.org/R4/Observation', sameOrigin: false, within: false },
    { url: 'https://fhir.example.org:8443/R4/Observation', sameOrigin: false, within: false },
    { url: '//evil.com/R4/Observation', sameOrigin: false, within: false },
    { url: 'https://user@fhir.example.org/R4/Observation', sameOrigin: false, within: false },
    { url: 'javascript:alert(1)', sameOrigin: false, within: false },
  ];
  it.each(cases)('$url', ({ url, sameOrigin, within }) => {
    expect({ sameOrigin: isSameOrigin(url, base), within: isWithinFhirBase(url, base) }).toEqual({
      sameOrigin,
      within,
    });
  });
});
