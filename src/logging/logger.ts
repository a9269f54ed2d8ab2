/**
 * Structured JSON logs (pino) without PHI: no names, clinical values, tokens or raw patient ids.
 * Patient ids appear only as a keyed hash, so one patient's calls can be correlated within a
 * deployment without the log revealing who it was.
 */
import { createHmac, randomBytes } from 'node:crypto';
import { pino, type Logger } from 'pino';

export type { Logger };

export function createLogger(level: string): Logger {
  return pino({
    level,
    base: { service: 'crs-sentinel' },
    timestamp: pino.stdTimeFunctions.isoTime,
    // Belt and braces: should any code path log a request or a token, these are removed.
    redact: {
      paths: ['req.headers.authorization', 'authorization', 'access_token', 'fhirAuthorization', 'token'],
      remove: true,
    },
  });
}

/** HMAC-SHA-256 of a patient id under a per-deployment key; 16 hex characters. */
export function createPatientIdHasher(key: string | undefined): (patientId: string) => string {
  const secret = key ?? randomBytes(32).toString('hex');
  return (patientId) => createHmac('sha256', secret).update(patientId).digest('hex').slice(0, 16);
}
