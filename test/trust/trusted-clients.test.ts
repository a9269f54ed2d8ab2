import { describe, expect, it } from 'vitest';
import {
  TrustedClientsError,
  parseTrustedClients,
  validateTrustedClients,
} from '../../src/trust/trusted-clients.js';
import { makeEcKey, makeRsaKey } from './helpers.js';

const ec = makeEcKey('ec-1');
const rsa = makeRsaKey('rsa-1');

const valid = [
  {
    iss: 'https://ehr.example.org',
    jwks_url: 'https://ehr.example.org/.well-known/jwks.json',
    fhir_servers: ['https://EHR.example.org:443/fhir/R4/', 'https://ehr.example.org/fhir/R4'],
    tenant: 'hospital-a',
  },
  {
    iss: 'urn:example:ehr-2',
    jwks: { keys: [ec.jwk, rsa.jwk] },
    fhir_servers: ['https://fhir.example.net/'],
  },
  {
    iss: 'http://localhost:3000',
    jwks_url: 'http://localhost:3000/jwks',
    fhir_servers: ['http://127.0.0.1:8080/fhir'],
    allow_insecure_http: true,
  },
];

describe('parseTrustedClients', () => {
  it('parses inline JSON and normalises FHIR base URLs (case, default port, trailing slash, duplicates)', () => {
    expect(parseTrustedClients(JSON.stringify(valid))).toEqual([
      {
        iss: 'https://ehr.example.org',
        keySource: { kind: 'jwks_url', url: 'https://ehr.example.org/.well-known/jwks.json' },
        fhirServers: ['https://ehr.example.org/fhir/R4'],
        tenant: 'hospital-a',
        allowInsecureHttp: false,
      },
      {
        iss: 'urn:example:ehr-2',
        keySource: { kind: 'jwks', jwks: { keys: [ec.jwk, rsa.jwk] } },
        fhirServers: ['https://fhir.example.net'],
        allowInsecureHttp: false,
      },
      {
        iss: 'http://localhost:3000',
        keySource: { kind: 'jwks_url', url: 'http://localhost:3000/jwks' },
        fhirServers: ['http://127.0.0.1:8080/fhir'],
        allowInsecureHttp: true,
      },
    ]);
  });

  it('reads a file when the value is a path', () => {
    const files: Record<string, string> = { '/etc/crs/clients.json': JSON.stringify(valid.slice(0, 1)) };
    const read = (path: string): string => {
      const text = files[path];
      if (text === undefined) throw Object.assign(new Error('nope'), { code: 'ENOENT' });
      return text;
    };
    expect(parseTrustedClients(' /etc/crs/clients.json\n', read)).toHaveLength(1);
    expect(() => parseTrustedClients('/etc/crs/missing.json', read)).toThrow(
      new TrustedClientsError(
        'CDS_CLIENTS file "/etc/crs/missing.json" cannot be read (ENOENT): no such file (a relative path is taken from the working directory)',
      ),
    );
    // A relative path is shown resolved against the working directory, so the operator sees which file.
    expect(() => parseTrustedClients('crs/missing.json', read, '/etc')).toThrow(
      'CDS_CLIENTS file "/etc/crs/missing.json" cannot be read (ENOENT)',
    );
    // A byte-order mark (Windows editors) is accepted, in a file and in the value itself.
    files['/etc/crs/bom.json'] = `\uFEFF${JSON.stringify(valid.slice(0, 1))}`;
    expect(parseTrustedClients('/etc/crs/bom.json', read)).toHaveLength(1);
    expect(parseTrustedClients(`\uFEFF${JSON.stringify(valid.slice(0, 1))}`)).toHaveLength(1);
    // A syntax error gives the line and column, never the content.
    files['/etc/crs/broken.json'] =
      '[\n  {\n    "iss": "https://secret.example.org",\n    "jwks_url" "x"\n  }\n]';
    expect(() => parseTrustedClients('/etc/crs/broken.json', read)).toThrow(
      new TrustedClientsError(
        `CDS_CLIENTS file "/etc/crs/broken.json": JSON syntax error at line 4, column 16: expected ':' after a property name`,
      ),
    );
  });

  it('accepts an empty list (every call is then refused)', () => {
    expect(parseTrustedClients('[]')).toEqual([]);
  });

  const failures: { name: string; value: string; message: string }[] = [
    {
      name: 'empty value',
      value: '  ',
      message:
        'CDS_CLIENTS is empty: set it to a JSON file path or the JSON array of trusted EHRs (docs/registration.md), or unset it for the local demo EHR',
    },
    {
      name: 'invalid JSON',
      value: '[{"iss": ',
      message: 'CDS_CLIENTS: JSON syntax error at line 1, column 9: expected a value, but the text ends here',
    },
    {
      name: 'a trailing comma',
      value: '[{"iss": "a",}]',
      message:
        "CDS_CLIENTS: JSON syntax error at line 1, column 14: expected a property name (a trailing ',' is not allowed)",
    },
    {
      name: 'not an array',
      value: '{"iss":"x"}',
      message: 'CDS_CLIENTS must be a JSON array of trusted client entries',
    },
  ];
  it.each(failures)('refuses $name', ({ value, message }) => {
    expect(() => parseTrustedClients(value)).toThrow(new TrustedClientsError(message));
  });
});

describe('validateTrustedClients: errors name the entry (index and iss) and the field', () => {
  const base = {
    iss: 'https://ehr.example.org',
    jwks_url: 'https://ehr.example.org/jwks',
    fhir_servers: ['https://ehr.example.org/fhir'],
  };
  const label = 'CDS_CLIENTS entry 1 (iss "https://ehr.example.org")';
  const cases: { name: string; entry: unknown; problems: string[]; duplicate?: boolean }[] = [
    {
      name: 'not an object',
      entry: 'oops',
      problems: ['CDS_CLIENTS entry 1: entry: Invalid input: expected object, received string'],
    },
    {
      name: 'no iss',
      entry: { ...base, iss: undefined },
      problems: ['CDS_CLIENTS entry 1: iss: Invalid input: expected string, received undefined'],
    },
    {
      name: 'empty iss',
      entry: { ...base, iss: '' },
      problems: ['CDS_CLIENTS entry 1 (iss ""): iss: must be a non-empty string'],
    },
    {
      name: 'iss with surrounding whitespace',
      entry: { ...base, iss: ' https://ehr.example.org' },
      problems: [
        'CDS_CLIENTS entry 1 (iss " https://ehr.example.org"): iss: must not start or end with whitespace',
      ],
    },
    {
      name: 'pinned jwks with a plain http jwks_url (the expected jku)',
      entry: { ...base, jwks_url: 'http://ehr.example.org/jwks.json', jwks: { keys: [ec.jwk] } },
      problems: [
        `${label}: jwks_url uses plain http, refused unless "allow_insecure_http": true (local testing only)`,
      ],
    },
    {
      name: 'neither jwks_url nor jwks',
      entry: { ...base, jwks_url: undefined },
      problems: [`${label}: one of "jwks_url" (keys fetched) and "jwks" (keys pinned) must be given`],
    },
    {
      name: 'a typo (jwks_uri)',
      entry: { ...base, jwks_url: undefined, jwks_uri: 'https://x' },
      problems: [`${label}: "jwks_uri": unknown field(s)`],
    },
    {
      name: 'no fhir_servers',
      entry: { ...base, fhir_servers: [] },
      problems: [`${label}: fhir_servers: must list at least one FHIR base URL`],
    },
    {
      name: 'http jwks_url without allow_insecure_http',
      entry: { ...base, jwks_url: 'http://ehr.example.org/jwks' },
      problems: [
        `${label}: jwks_url uses plain http, refused unless "allow_insecure_http": true (local testing only)`,
      ],
    },
    {
      name: 'http FHIR server without allow_insecure_http',
      entry: { ...base, fhir_servers: ['https://ok.example.org/fhir', 'http://ehr.example.org/fhir'] },
      problems: [
        `${label}: fhir_servers[1] uses plain http, refused unless "allow_insecure_http": true (local testing only)`,
      ],
    },
    {
      name: 'FHIR server with a query',
      entry: { ...base, fhir_servers: ['https://ehr.example.org/fhir?x=1'] },
      problems: [`${label}: fhir_servers[0] must not contain a query or a fragment`],
    },
    {
      name: 'FHIR server with credentials',
      entry: { ...base, fhir_servers: ['https://user:pw@ehr.example.org/fhir'] },
      problems: [`${label}: fhir_servers[0] must not contain credentials`],
    },
    {
      name: 'FHIR server that is not a URL',
      entry: { ...base, fhir_servers: ['ehr.example.org/fhir'] },
      problems: [`${label}: fhir_servers[0] is not an absolute URL`],
    },
    {
      name: 'FHIR server with another scheme',
      entry: { ...base, fhir_servers: ['ftp://ehr.example.org/fhir'] },
      problems: [`${label}: fhir_servers[0] must use https (or http for local testing)`],
    },
    {
      name: 'inline JWK with private key material',
      entry: { ...base, jwks_url: undefined, jwks: { keys: [{ ...ec.jwk, d: 'secret' }] } },
      problems: [`${label}: jwks.keys[0] contains private key material: publish only the public key`],
    },
    {
      name: 'inline JWK without kid',
      entry: { ...base, jwks_url: undefined, jwks: { keys: [{ ...ec.jwk, kid: undefined }] } },
      problems: [`${label}: jwks.keys[0] kid must be a non-empty string`],
    },
    {
      name: 'inline JWK with an HMAC alg',
      entry: { ...base, jwks_url: undefined, jwks: { keys: [{ ...ec.jwk, alg: 'HS256' }] } },
      problems: [`${label}: jwks.keys[0] alg must be one of ES384, RS384, ES256, RS256, ES512, RS512`],
    },
    {
      name: 'inline symmetric JWK',
      entry: { ...base, jwks_url: undefined, jwks: { keys: [{ kty: 'oct', kid: 'k', k: 'c2VjcmV0' }] } },
      problems: [`${label}: jwks.keys[0] kty must be "EC" or "RSA"`],
    },
    {
      name: 'inline RSA key under 2048 bits',
      entry: { ...base, jwks_url: undefined, jwks: { keys: [makeRsaKey('small', 1024).jwk] } },
      problems: [`${label}: jwks.keys[0] RSA keys must have at least 2048 bits`],
    },
    {
      name: 'inline JWK whose alg does not fit the key',
      entry: { ...base, jwks_url: undefined, jwks: { keys: [{ ...ec.jwk, alg: 'RS384' }] } },
      problems: [`${label}: jwks.keys[0] alg RS384 does not fit the key's curve`],
    },
    {
      name: 'inline JWK Set with a repeated kid',
      entry: { ...base, jwks_url: undefined, jwks: { keys: [ec.jwk, { ...rsa.jwk, kid: ec.kid }] } },
      problems: [`${label}: jwks.keys[1] repeats kid "ec-1"`],
    },
    {
      name: 'empty inline JWK Set',
      entry: { ...base, jwks_url: undefined, jwks: { keys: [] } },
      problems: [`${label}: jwks.keys: must hold at least one key`],
    },
    {
      name: 'allow_insecure_http not a boolean',
      entry: { ...base, allow_insecure_http: 'yes' },
      problems: [`${label}: allow_insecure_http: Invalid input: expected boolean, received string`],
    },
    {
      name: 'the same issuer twice',
      entry: { ...base, fhir_servers: ['https://other.example.org/fhir'] },
      problems: [`${label}: iss: the same issuer is already configured by entry 0`],
      duplicate: true,
    },
  ];

  it.each(cases)('$name', ({ entry, problems, duplicate }) => {
    // Entry 0 is valid; in the duplicate case it has the issuer entry 1 repeats.
    const first = { ...base, iss: duplicate === true ? base.iss : 'https://first.example.org' };
    expect(() => validateTrustedClients([first, entry])).toThrow(
      new TrustedClientsError(problems.join('; ')),
    );
  });

  it('lists every problem of every entry at once', () => {
    expect(() =>
      validateTrustedClients([
        { iss: 'a', jwks_url: 'http://a/jwks', fhir_servers: ['https://a/fhir'] },
        { iss: 'b', jwks_url: 'https://b/jwks', fhir_servers: ['http://b/fhir'] },
      ]),
    ).toThrow(
      new TrustedClientsError(
        'CDS_CLIENTS entry 0 (iss "a"): jwks_url uses plain http, refused unless "allow_insecure_http": true (local testing only); ' +
          'CDS_CLIENTS entry 1 (iss "b"): fhir_servers[0] uses plain http, refused unless "allow_insecure_http": true (local testing only)',
      ),
    );
  });
});
