import { describe, expect, it } from 'vitest';
import {
  AuthModeError,
  DEVELOPMENT_CLIENT,
  createDevelopmentVerifier,
  isDevelopmentClient,
  parseAuthMode,
} from '../../src/trust/auth-mode.js';

describe('parseAuthMode', () => {
  const accepted: { env: { CDS_AUTH?: string; NODE_ENV?: string }; mode: 'on' | 'off' }[] = [
    { env: {}, mode: 'on' },
    { env: { CDS_AUTH: '' }, mode: 'on' },
    { env: { CDS_AUTH: 'on' }, mode: 'on' },
    { env: { CDS_AUTH: ' ON ' }, mode: 'on' },
    { env: { CDS_AUTH: 'on', NODE_ENV: 'production' }, mode: 'on' },
    { env: { CDS_AUTH: 'off' }, mode: 'off' },
    { env: { CDS_AUTH: 'Off', NODE_ENV: 'development' }, mode: 'off' },
    { env: { CDS_AUTH: 'off', NODE_ENV: 'test' }, mode: 'off' },
  ];
  it.each(accepted)('$env -> $mode', ({ env, mode }) => {
    expect(parseAuthMode(env)).toBe(mode);
  });

  const refused: { env: { CDS_AUTH?: string; NODE_ENV?: string }; message: string }[] = [
    {
      env: { CDS_AUTH: 'off', NODE_ENV: 'production' },
      message:
        'CDS_AUTH=off is refused when NODE_ENV=production: it lets anyone call the service and point it at any FHIR server',
    },
    {
      env: { CDS_AUTH: 'off', NODE_ENV: ' Production ' },
      message:
        'CDS_AUTH=off is refused when NODE_ENV=production: it lets anyone call the service and point it at any FHIR server',
    },
    { env: { CDS_AUTH: 'false' }, message: 'CDS_AUTH must be "on" or "off" (got "false")' },
    { env: { CDS_AUTH: '0' }, message: 'CDS_AUTH must be "on" or "off" (got "0")' },
  ];
  it.each(refused)('$env is refused', ({ env, message }) => {
    expect(() => parseAuthMode(env)).toThrow(new AuthModeError(message));
  });
});

describe('development verifier', () => {
  it('accepts any call as the development client, which may use any FHIR server', async () => {
    const verifier = createDevelopmentVerifier();
    expect(await verifier.verify(undefined, 'https://cds.example.org/cds-services')).toEqual({
      ok: true,
      client: DEVELOPMENT_CLIENT,
      iss: 'urn:crs-sentinel:development',
      jti: 'development',
    });
    expect(DEVELOPMENT_CLIENT.fhirServers).toBe('any');
    expect(isDevelopmentClient(DEVELOPMENT_CLIENT)).toBe(true);
    expect(isDevelopmentClient({ ...DEVELOPMENT_CLIENT })).toBe(false);
  });
});
