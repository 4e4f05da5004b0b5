/**
 * The one HTTP load generator of the benchmark (autocannon), with the same settings for
 * the pipeline's trigger endpoint and for the bare Fastify ceiling.
 */
import autocannon from 'autocannon';

export interface LoadOptions {
  url: string;
  connections: number;
  durationS: number;
  headers: Record<string, string>;
  /** Body of request number n (a fresh body per request: distinct contacts, distinct partitions). */
  body: (n: number) => unknown;
  /** Requests per second over all connections (default: as fast as the server answers). */
  overallRate?: number;
  /** Progress line every few seconds. */
  log?: (line: string) => void;
  title: string;
}

export interface LoadResult {
  title: string;
  durationS: number;
  requests: number;
  requestsPerSec: number;
  ok2xx: number;
  non2xx: number;
  errors: number;
  timeouts: number;
  statusCodes: Record<string, number>;
  latencyMs: { p50: number; p90: number; p99: number; max: number; mean: number };
}

/** The instance running now, so an interrupted benchmark can stop it. */
let running: autocannon.Instance | undefined;

export function stopLoad(): void {
  running?.stop();
}

export function runLoad(o: LoadOptions): Promise<LoadResult> {
  let n = 0;
  const first = JSON.stringify(o.body(n++));
  return new Promise<LoadResult>((resolve, reject) => {
    const instance = autocannon(
      {
        url: o.url,
        method: 'POST',
        connections: o.connections,
        duration: o.durationS,
        headers: { 'content-type': 'application/json', ...o.headers },
        body: first,
        ...(o.overallRate ? { overallRate: o.overallRate } : {}),
        requests: [{ setupRequest: (request) => ({ ...request, body: JSON.stringify(o.body(n++)) }) }],
      },
      (error, r) => {
        running = undefined;
        clearInterval(progress);
        if (error) return reject(error instanceof Error ? error : new Error(String(error)));
        const statusCodes: Record<string, number> = {};
        for (const [code, stat] of Object.entries(r.statusCodeStats ?? {})) statusCodes[code] = Number(stat.count ?? 0);
        resolve({
          title: o.title,
          durationS: r.duration,
          requests: r.requests.total,
          requestsPerSec: r.requests.total / r.duration,
          ok2xx: r['2xx'],
          non2xx: r.non2xx,
          errors: r.errors,
          timeouts: r.timeouts,
          statusCodes,
          latencyMs: { p50: r.latency.p50, p90: r.latency.p90, p99: r.latency.p99, max: r.latency.max, mean: r.latency.mean },
        });
      },
    );
    running = instance;
    let responses = 0;
    let lastResponses = 0;
    const started = Date.now();
    instance.on('response', () => responses++);
    const every = 5000;
    const progress = setInterval(() => {
      const s = Math.round((Date.now() - started) / 1000);
      o.log?.(`  ${o.title}: ${s} s, ${responses} responses (${Math.round(((responses - lastResponses) * 1000) / every)} req/s)`);
      lastResponses = responses;
    }, every);
  });
}
