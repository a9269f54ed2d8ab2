/**
 * DATA_DIR is checked once at start (issue 10): created if missing, then proved writable by
 * writing and removing a probe file, and the feedback file, when it exists, must be writable too.
 * Without this check a folder the service user cannot create or write made the service log
 * "listening" and then crash on an unhandled rejection, or answer 500 to every feedback post.
 * `access(W_OK)` alone is not enough: it answers for the real uid and ignores read-only mounts'
 * quirks on some filesystems, so a real write is the test.
 */
import { accessSync, constants, existsSync, mkdirSync, rmSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { ConfigError } from './load-config.js';

function code(error: unknown): string {
  return typeof error === 'object' && error !== null && 'code' in error ? String(error.code) : 'error';
}

function whoAmI(): string {
  return typeof process.getuid === 'function' ? ` (uid ${process.getuid()})` : '';
}

/** Throws a one-line ConfigError naming DATA_DIR unless `dir` exists (or can be made) and is writable. */
export function checkDataDir(dir: string, feedbackFile = 'feedback.jsonl'): void {
  try {
    mkdirSync(dir, { recursive: true, mode: 0o700 });
  } catch (error) {
    throw new ConfigError(
      `DATA_DIR: cannot create ${JSON.stringify(dir)} (${code(error)}): create it writable for the service user${whoAmI()} or set DATA_DIR to a writable folder`,
    );
  }
  const probe = path.join(dir, `.write-check-${process.pid}`);
  try {
    writeFileSync(probe, '', { mode: 0o600 });
    rmSync(probe, { force: true });
  } catch (error) {
    throw new ConfigError(
      `DATA_DIR: ${JSON.stringify(dir)} is not writable (${code(error)}): give the service user${whoAmI()} write access (in Docker, mount a volume owned by node) or set DATA_DIR to a writable folder`,
    );
  }
  const feedback = path.join(dir, feedbackFile);
  if (existsSync(feedback)) {
    try {
      accessSync(feedback, constants.W_OK);
    } catch (error) {
      throw new ConfigError(
        `DATA_DIR: ${JSON.stringify(feedback)} is not writable (${code(error)}): give the service user${whoAmI()} write access to it`,
      );
    }
  }
}
