/**
 * The ledger's stand-in for a patient: a keyed HMAC-SHA256 of the EHR issuer and the patient id
 * (ids are only unique within one EHR). The key (PATIENT_ID_HASH_KEY) must be the same across
 * restarts and replicas, or a patient's history would be lost: required in production, generated
 * once into DATA_DIR for the demo.
 */
import { createHmac, randomBytes } from 'node:crypto';
import { chmodSync, readFileSync, statSync, writeFileSync } from 'node:fs';
import path from 'node:path';

export const PATIENT_KEY_FILE = 'patient-id-hash.key';

export type PatientKeyHasher = (ehrIssuer: string, patientId: string) => string;

export function createPatientKeyHasher(secret: string): PatientKeyHasher {
  return (ehrIssuer, patientId) =>
    createHmac('sha256', secret).update(`${ehrIssuer}\u0000${patientId}`).digest('hex').slice(0, 32);
}

/** The key kept in `dataDir`, generated on first use (mode 0600; a concurrent start reads the winner's). */
export function loadOrCreatePatientKey(dataDir: string): string {
  const file = path.join(dataDir, PATIENT_KEY_FILE);
  try {
    writeFileSync(file, `${randomBytes(32).toString('hex')}\n`, { mode: 0o600, flag: 'wx' });
  } catch (error) {
    if (!(typeof error === 'object' && error !== null && 'code' in error && error.code === 'EEXIST'))
      throw error;
  }
  if ((statSync(file).mode & 0o077) !== 0) chmodSync(file, 0o600);
  const key = readFileSync(file, 'utf8').trim();
  if (key.length < 32) throw new Error(`${file} holds no usable key: delete it to generate a new one`);
  return key;
}
