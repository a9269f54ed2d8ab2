/**
 * Replay protection for client JWTs (CDS Hooks 2.0 "Trusting CDS Clients": `jti` is "A nonce string
 * value that uniquely identifies this authentication JWT (used to protect against replay attacks)";
 * CDS Hooks best practices, "JWT" step 6: the `jti` must not already be in the short-term store of
 * processed JWTs, which "only need[s] to be kept for the maximum duration of all JWTs").
 *
 * The interface lets a deployment with several instances put a shared store (Redis SET NX PX, a
 * database unique key) behind it; the in-memory implementation suits one instance.
 */

export interface ReplayCache {
  /**
   * Atomically records `key` as used until `expiresAt`. Resolves true when `key` was not recorded
   * (or its record had expired), false when it is a replay. Only called for JWTs whose signature
   * has been verified, so an attacker cannot fill it with forged tokens.
   */
  checkAndRemember(key: string, expiresAt: Date): Promise<boolean>;
}

export interface InMemoryReplayCacheOptions {
  /** Upper bound on entries kept (default 100 000). */
  readonly maxEntries?: number;
  /** Clock in epoch milliseconds (tests). */
  readonly now?: () => number;
}

/**
 * In-memory replay cache: a Map from key to expiry, swept of expired entries as it goes and bounded
 * in size. When it is full of unexpired entries (only trusted, correctly signed traffic can do
 * that), the entries inserted first are dropped: they are the closest to expiry when clients use
 * similar lifetimes. Dropping them, rather than refusing every new JWT, keeps the service available;
 * the bound should be sized above the expected signed request rate times the maximum lifetime.
 */
export class InMemoryReplayCache implements ReplayCache {
  readonly #entries = new Map<string, number>();
  readonly #maxEntries: number;
  readonly #now: () => number;

  constructor(options: InMemoryReplayCacheOptions = {}) {
    const maxEntries = options.maxEntries ?? 100_000;
    if (!Number.isInteger(maxEntries) || maxEntries < 1) {
      throw new RangeError('maxEntries must be a positive integer');
    }
    this.#maxEntries = maxEntries;
    this.#now = options.now ?? Date.now;
  }

  get size(): number {
    return this.#entries.size;
  }

  checkAndRemember(key: string, expiresAt: Date): Promise<boolean> {
    // Synchronous body: check-and-set is atomic within one event-loop turn.
    const now = this.#now();
    this.#sweepOldest(now);
    const existing = this.#entries.get(key);
    if (existing !== undefined && existing > now) return Promise.resolve(false);
    if (existing !== undefined) this.#entries.delete(key);
    const expiry = expiresAt.getTime();
    if (!(expiry > now)) return Promise.resolve(true); // already expired: nothing to remember
    if (this.#entries.size >= this.#maxEntries) this.#makeRoom(now);
    this.#entries.set(key, expiry);
    return Promise.resolve(true);
  }

  /** Cheap incremental sweep: drops expired entries at the insertion-order head. */
  #sweepOldest(now: number): void {
    let budget = 16;
    for (const [key, expiry] of this.#entries) {
      if (budget-- === 0 || expiry > now) return;
      this.#entries.delete(key);
    }
  }

  #makeRoom(now: number): void {
    for (const [key, expiry] of this.#entries) {
      if (expiry <= now) this.#entries.delete(key);
    }
    if (this.#entries.size < this.#maxEntries) return;
    // Still full: drop the oldest tenth (at least one) in insertion order.
    let excess = this.#entries.size - this.#maxEntries + Math.max(1, Math.floor(this.#maxEntries / 10));
    for (const key of this.#entries.keys()) {
      if (excess-- <= 0) break;
      this.#entries.delete(key);
    }
  }
}
