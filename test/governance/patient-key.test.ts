import { mkdtempSync, rmSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { ConfigError, loadConfig } from '../../src/config/load-config.js';
import {
  PATIENT_KEY_FILE,
  createPatientKeyHasher,
  loadOrCreatePatientKey,
} from '../../src/governance/patient-key.js';

describe('patient key', () => {
  it('is an HMAC of issuer and patient id: stable for one key, different across keys and issuers', () => {
    const a = createPatientKeyHasher('a'.repeat(32));
    expect(a('https://ehr.one', 'p1')).toBe(a('https://ehr.one', 'p1'));
    expect(a('https://ehr.one', 'p1')).not.toBe(a('https://ehr.two', 'p1'));
    expect(a('https://ehr.one', 'p1')).not.toBe(
      createPatientKeyHasher('b'.repeat(32))('https://ehr.one', 'p1'),
    );
    expect(a('https://ehr.one', 'p1')).toMatch(/^[0-9a-f]{32}$/);
  });

  it('the demo key is generated once into DATA_DIR (0600) and reused after a restart', () => {
    const dir = mkdtempSync(path.join(tmpdir(), 'crs-pkey-'));
    try {
      const first = loadOrCreatePatientKey(dir);
      expect(loadOrCreatePatientKey(dir)).toBe(first);
      expect(statSync(path.join(dir, PATIENT_KEY_FILE)).mode & 0o777).toBe(0o600);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });

  it('PATIENT_ID_HASH_KEY is required in production, at least 32 characters, never echoed', () => {
    const production = {
      NODE_ENV: 'production',
      PUBLIC_BASE_URL: 'https://cds.example.org',
      CDS_CLIENTS: '[]',
    };
    expect(() => loadConfig(production)).toThrow(/^PATIENT_ID_HASH_KEY: required when NODE_ENV=production/);
    expect(() => loadConfig({ ...production, PATIENT_ID_HASH_KEY: 'short-s3cret' })).toThrow(ConfigError);
    expect(() => loadConfig({ ...production, PATIENT_ID_HASH_KEY: 'short-s3cret' })).not.toThrow(/s3cret/);
    expect(loadConfig({ ...production, PATIENT_ID_HASH_KEY: 'k'.repeat(32) }).patientIdHashKey).toBe(
      'k'.repeat(32),
    );
  });
});
