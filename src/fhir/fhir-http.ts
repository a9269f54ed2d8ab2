/**
 * The HTTP of one hook call's FHIR reads, bounded in time and in bytes.
 *
 * Why not fhir-kit-client for reads: its HttpClient (2.0.3, dist/http-client.js) calls the global
 * `fetch` and then `response.text()`, which buffers a body of any size (a 50 MB Bundle, an endless
 * stream, a gzip bomb inflating to 2 GiB) before anything can stop it, and it takes no custom
 * fetch or reader. So reads use Node's own fetch (undici) here, and the body is read as a stream:
 *
 * - one deadline for the whole call, bodies included: a `setTimeout` the call owns (referenced, so
 *   it cannot be lost) aborts one AbortController whose signal every request and body read uses.
 *   Not `AbortSignal.any([AbortSignal.timeout()])`: in Node 20 / undici a signal that fetch
 *   follows can be disconnected from its source by a GC, so the abort never reaches the request
 *   (https://github.com/nodejs/undici/issues/4068, https://github.com/nodejs/node/issues/55428).
 *   For the same reason every await on the network is also raced against the call's own abort
 *   event, so the call ends at its deadline even if undici lost the signal;
 * - one byte budget for the whole call, counted on DECOMPRESSED bytes as they arrive (fetch
 *   inflates gzip, deflate and br itself), so a compressed bomb is cut off after the budget;
 * - redirects are refused (`redirect: 'error'`): a FHIR server must not bounce the bearer token to
 *   another host.
 *
 * Every failure here is a FhirHttpError whose message is safe for a client (no URL: it holds the
 * patient id; no token; no body).
 */

/** Why the call's FHIR work was stopped (the AbortController's reason). */
export type StopReason = 'deadline' | 'too-many-bytes' | 'busy' | 'cancelled';

export class FhirHttpError extends Error {
  constructor(
    message: string,
    /** The HTTP status when the server answered with one (for batch fallback decisions). */
    readonly status?: number,
  ) {
    super(message);
    this.name = 'FhirHttpError';
  }
}

class Stop extends Error {
  constructor(readonly reason: StopReason) {
    super(reason);
    this.name = 'FhirStop';
  }
}

export interface FhirCallLimits {
  timeoutMs: number;
  maxResponseBytes: number;
  /** The process's budget for FHIR answers being read by all calls at once (optional). */
  pool?: FhirBytePool;
}

/**
 * Decompressed bytes of FHIR answers all hook calls of the process may hold at once
 * (FHIR_MAX_INFLIGHT_BYTES). Each call's own budget bounds one call; this bounds them together,
 * so a few concurrent calls to a server answering huge pages cannot take the process's memory
 * (a 31 MB answer costs about 260 MB of RSS once parsed). A call that finds it spent is stopped.
 */
export class FhirBytePool {
  private used = 0;

  constructor(readonly capacity: number) {}

  get inUse(): number {
    return this.used;
  }

  /** Takes `n` bytes; false (nothing taken) when they would not fit. */
  take(n: number): boolean {
    if (this.used + n > this.capacity) return false;
    this.used += n;
    return true;
  }

  release(n: number): void {
    this.used = Math.max(0, this.used - n);
  }
}

/**
 * The deadline, byte budget and abort switch shared by every request of one hook call. Must be
 * closed (in a `finally`) so the timer does not outlive the call.
 */
export class FhirCall {
  private readonly controller = new AbortController();
  private readonly timer: NodeJS.Timeout;
  private bytesLeft: number;
  /** Bytes this call holds of the process pool, given back on close. */
  private pooled = 0;

  constructor(readonly limits: FhirCallLimits) {
    this.bytesLeft = limits.maxResponseBytes;
    // Referenced on purpose: this timer is what keeps the deadline alive (see the module comment).
    this.timer = setTimeout(() => this.stop('deadline'), limits.timeoutMs);
  }

  get signal(): AbortSignal {
    return this.controller.signal;
  }

  get stopReason(): StopReason | undefined {
    const reason: unknown = this.controller.signal.reason;
    return reason instanceof Stop ? reason.reason : undefined;
  }

  /** Stops every request and body read of the call (the first reason given wins). */
  stop(reason: StopReason): void {
    if (!this.controller.signal.aborted) this.controller.abort(new Stop(reason));
  }

  /** Ends the call: the timer is cleared and anything still in flight is cancelled. */
  close(): void {
    clearTimeout(this.timer);
    this.stop('cancelled');
    this.limits.pool?.release(this.pooled);
    this.pooled = 0;
  }

  /**
   * `work`, or a rejection as soon as the call is stopped: the deadline holds even if fetch lost
   * track of the signal (see the module comment).
   */
  race<T>(work: Promise<T>): Promise<T> {
    const signal = this.controller.signal;
    if (signal.aborted) {
      work.catch(() => undefined);
      return Promise.reject(new Stop(this.stopReason ?? 'cancelled'));
    }
    let onAbort: () => void = () => undefined;
    const stopped = new Promise<never>((_, reject) => {
      onAbort = () => reject(new Stop(this.stopReason ?? 'cancelled'));
      signal.addEventListener('abort', onAbort, { once: true });
    });
    work.catch(() => undefined); // a rejection after the stop is expected, not unhandled
    return Promise.race([work, stopped]).finally(() => signal.removeEventListener('abort', onAbort));
  }

  /** True when `n` more bytes would not fit in what is left of the budget. */
  wouldExceed(n: number): boolean {
    return n > this.bytesLeft;
  }

  /** Takes `n` bytes from the budget; false (and the call stopped) when the budget is spent. */
  take(n: number): boolean {
    this.bytesLeft -= n;
    if (this.bytesLeft < 0) {
      this.stop('too-many-bytes');
      return false;
    }
    const pool = this.limits.pool;
    if (pool && !pool.take(n)) {
      this.stop('busy');
      return false;
    }
    if (pool) this.pooled += n;
    return true;
  }

  /** The client-safe message for a stopped call. */
  describeStop(): string {
    switch (this.stopReason) {
      case 'deadline':
        return `the FHIR server did not answer within ${this.limits.timeoutMs} ms`;
      case 'too-many-bytes':
        return `the FHIR server's answers exceeded ${this.limits.maxResponseBytes} bytes`;
      case 'busy':
        return `the service is already reading ${this.limits.pool?.capacity ?? 0} bytes of FHIR answers for other calls (FHIR_MAX_INFLIGHT_BYTES): try again shortly`;
      default:
        return 'cancelled after another FHIR query failed';
    }
  }
}

export interface FhirHttpRequest {
  url: string;
  method: 'GET' | 'POST';
  accessToken: string | undefined;
  body?: string;
}

/**
 * One request; resolves to the parsed JSON of a 2xx answer (undefined for an empty body). Non-2xx
 * answers reject with their status and their body unread.
 */
export async function fetchFhirJson(call: FhirCall, request: FhirHttpRequest): Promise<unknown> {
  const headers: Record<string, string> = { accept: 'application/fhir+json' };
  if (request.accessToken) headers.authorization = `Bearer ${request.accessToken}`;
  if (request.body !== undefined) headers['content-type'] = 'application/fhir+json';
  let response: Response;
  try {
    response = await call.race(
      fetch(request.url, {
        method: request.method,
        headers,
        redirect: 'error',
        signal: call.signal,
        ...(request.body === undefined ? {} : { body: request.body }),
      }),
    );
  } catch (error) {
    throw new FhirHttpError(describeFetchFailure(call, error));
  }
  if (response.status < 200 || response.status >= 300) {
    await response.body?.cancel().catch(() => undefined);
    throw new FhirHttpError(describeStatus(response.status), response.status);
  }
  const text = await readBoundedText(call, response);
  if (text.trim() === '') return undefined;
  try {
    return JSON.parse(text) as unknown;
  } catch {
    throw new FhirHttpError('the FHIR server did not answer with FHIR JSON');
  }
}

/** The body as text, chunk by chunk against the call's byte budget and deadline. */
async function readBoundedText(call: FhirCall, response: Response): Promise<string> {
  const body = response.body;
  if (body === null) return '';
  // A declared length over the budget needs no reading (a compressed body's length says nothing).
  const declared = Number(response.headers.get('content-length'));
  if (!response.headers.has('content-encoding') && declared > 0 && call.wouldExceed(declared)) {
    call.stop('too-many-bytes');
    await body.cancel().catch(() => undefined);
    throw new FhirHttpError(call.describeStop());
  }
  const reader = (body as ReadableStream<Uint8Array>).getReader();
  const chunks: Uint8Array[] = [];
  try {
    for (;;) {
      const { done, value } = await call.race(reader.read());
      if (done) break;
      if (!call.take(value.byteLength)) throw new FhirHttpError(call.describeStop());
      chunks.push(value);
    }
  } catch (error) {
    reader.cancel().catch(() => undefined);
    if (error instanceof FhirHttpError) throw error;
    throw new FhirHttpError(
      call.signal.aborted ? call.describeStop() : 'the FHIR server broke off its answer',
    );
  }
  return Buffer.concat(chunks).toString('utf8');
}

function describeFetchFailure(call: FhirCall, error: unknown): string {
  if (call.signal.aborted) return call.describeStop();
  if (error instanceof TypeError && /redirect/i.test(causeMessage(error))) {
    return 'the FHIR server answered with a redirect, which is not followed';
  }
  return 'the FHIR server could not be reached';
}

function describeStatus(status: number): string {
  if (status === 401 || status === 403) return `the FHIR server refused access (HTTP ${status})`;
  if (status >= 300 && status < 400)
    return `the FHIR server answered with a redirect (HTTP ${status}), which is not followed`;
  return `the FHIR server answered HTTP ${status}`;
}

function causeMessage(error: Error): string {
  return error.cause instanceof Error ? error.cause.message : '';
}
