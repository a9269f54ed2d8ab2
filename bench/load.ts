/**
 * The load generator: autocannon against 127.0.0.1, every run bounded in time AND in requests.
 * Latencies are collected per response as floats (autocannon's own histogram keeps whole
 * milliseconds, too coarse for a 5 ms p99 target) and summarised here.
 */
import autocannon from 'autocannon';

export const MAX_RUN_SECONDS = 10;
export const MAX_RUN_REQUESTS = 200_000;

export interface LoadOptions {
  url: string;
  body: string;
  connections: number;
  /** Seconds; capped at MAX_RUN_SECONDS. */
  seconds: number;
  /** Requests; capped at MAX_RUN_REQUESTS. */
  maxRequests?: number;
  headers?: Record<string, string>;
  /** Per request (e.g. a fresh JWT); called once per request sent. */
  authorization?: () => string;
}

export interface LatencySummary {
  count: number;
  p50: number;
  p95: number;
  p99: number;
  max: number;
  mean: number;
}

export interface LoadResult {
  connections: number;
  seconds: number;
  /** 2xx responses per second of wall time. */
  requestsPerSecond: number;
  ok: number;
  non2xx: number;
  errors: number;
  latency: LatencySummary;
  /** Every 2xx response's latency (ms), so runs can be pooled. */
  samples: number[];
  /** The status codes other than 2xx, for a failure message. */
  statusCodes: Record<string, number>;
}

/** The middle value (the mean of the two middle ones for an even count); NaN for none. */
export function median(values: readonly number[]): number {
  const sorted = [...values].sort((a, b) => a - b);
  const mid = Math.floor(sorted.length / 2);
  return sorted.length % 2 === 1
    ? (sorted[mid] ?? Number.NaN)
    : ((sorted[mid - 1] ?? Number.NaN) + (sorted[mid] ?? Number.NaN)) / 2;
}

export function summarize(samples: number[]): LatencySummary {
  const sorted = Float64Array.from(samples).sort();
  const at = (p: number): number =>
    sorted.length === 0
      ? Number.NaN
      : (sorted[Math.min(sorted.length - 1, Math.ceil(p * sorted.length) - 1)] ?? Number.NaN);
  let sum = 0;
  for (const value of sorted) sum += value;
  return {
    count: sorted.length,
    p50: at(0.5),
    p95: at(0.95),
    p99: at(0.99),
    max: sorted.length === 0 ? Number.NaN : (sorted[sorted.length - 1] ?? Number.NaN),
    mean: sorted.length === 0 ? Number.NaN : sum / sorted.length,
  };
}

export function runLoad(options: LoadOptions): Promise<LoadResult> {
  const seconds = Math.min(options.seconds, MAX_RUN_SECONDS);
  const maxRequests = Math.min(options.maxRequests ?? MAX_RUN_REQUESTS, MAX_RUN_REQUESTS);
  if (!/^http:\/\/127\.0\.0\.1:\d+\//.test(options.url)) {
    return Promise.reject(new Error(`the benchmark only targets 127.0.0.1, not ${options.url}`));
  }
  const latencies: number[] = [];
  const authorization = options.authorization;
  return new Promise<LoadResult>((resolve, reject) => {
    const started = performance.now();
    const instance = autocannon(
      {
        url: options.url,
        method: 'POST',
        headers: { 'content-type': 'application/json', ...options.headers },
        body: options.body,
        connections: options.connections,
        duration: seconds,
        maxOverallRequests: Math.max(maxRequests, options.connections),
        timeout: 10,
        ...(authorization === undefined
          ? {}
          : {
              requests: [
                {
                  setupRequest: (request) => ({
                    ...request,
                    headers: { ...request.headers, authorization: authorization() },
                  }),
                },
              ],
            }),
      },
      (error: unknown, result) => {
        const elapsed = (performance.now() - started) / 1000;
        if (error !== null && error !== undefined) {
          reject(error instanceof Error ? error : new Error('autocannon failed', { cause: error }));
          return;
        }
        const statusCodes: Record<string, number> = {};
        for (const [code, stat] of Object.entries(result.statusCodeStats ?? {})) {
          if (!code.startsWith('2')) statusCodes[code] = stat.count ?? 0;
        }
        resolve({
          connections: options.connections,
          seconds: elapsed,
          requestsPerSecond: result['2xx'] / elapsed,
          ok: result['2xx'],
          non2xx: result.non2xx,
          errors: result.errors,
          latency: summarize(latencies),
          samples: latencies,
          statusCodes,
        });
      },
    );
    instance.on('response', (_client, statusCode, _bytes, responseTime) => {
      if (statusCode >= 200 && statusCode < 300) latencies.push(responseTime);
    });
  });
}
