import { Agent, request } from 'node:http';

export interface PacedResult {
  sent: number;
  statusCodes: Record<string, number>;
  errors: number;
  /** Milliseconds from each request being sent to its complete response. */
  latency: { p50: number; p99: number; max: number };
  requestsPerSecond: number;
}

/**
 * An open-loop load generator: request i is sent at start + i/rate (to the millisecond), whatever
 * happened to the earlier ones, so a stalled server sees requests pile up as it would in
 * production. Latency counts from the moment a request is written: the generator runs in
 * another process, so a server stall still shows in the requests in flight, while the
 * generator's own 1 ms timer granularity does not. autocannon's fixed-rate mode sends each
 * connection's quota in a burst at the top of every second, which measures its bursts instead.
 */
export async function pacedLoad(opts: {
  url: string;
  rate: number;
  seconds: number;
  method: 'GET' | 'POST';
  path: () => string;
  body?: () => string;
  headers?: Record<string, string>;
  /**
   * Seconds sent at the same rate, on the same connections, before the measured ones: a run
   * measured from a cold pool counts the connections being opened (tens of ms for the first
   * hundred requests), which no steady client pays.
   */
  warmupSeconds?: number;
}): Promise<PacedResult> {
  const target = new URL(opts.url);
  const agent = new Agent({ keepAlive: true, maxSockets: 64 });
  const skipped = Math.round(opts.rate * (opts.warmupSeconds ?? 0));
  const total = skipped + Math.round(opts.rate * opts.seconds);
  const latencies: number[] = [];
  const statusCodes: Record<string, number> = {};
  let errors = 0;
  let sent = 0;
  let done = 0;
  const start = performance.now();

  await new Promise<void>((resolve) => {
    const fire = (measured: boolean) => {
      const body = opts.body?.();
      const sentAt = performance.now();
      const req = request(
        {
          agent,
          host: target.hostname,
          port: target.port,
          method: opts.method,
          path: opts.path(),
          headers: { ...opts.headers, ...(body !== undefined ? { 'content-type': 'application/json', 'content-length': Buffer.byteLength(body) } : {}) },
        },
        (res) => {
          res.resume();
          res.on('end', () => {
            if (measured) {
              latencies.push(performance.now() - sentAt);
              statusCodes[res.statusCode ?? 0] = (statusCodes[res.statusCode ?? 0] ?? 0) + 1;
            }
            if (++done === total) resolve();
          });
        },
      );
      req.on('error', () => {
        if (measured) errors++;
        if (++done === total) resolve();
      });
      req.end(body);
    };
    const tick = () => {
      const now = performance.now();
      const due = Math.min(total, Math.floor(((now - start) * opts.rate) / 1000) + 1);
      while (sent < due) fire(++sent > skipped);
      if (sent < total) setTimeout(tick, 1);
    };
    tick();
  });
  const elapsed = (performance.now() - start) / 1000 - (opts.warmupSeconds ?? 0);
  agent.destroy();
  latencies.sort((a, b) => a - b);
  const q = (p: number) => latencies[Math.min(latencies.length - 1, Math.floor(p * latencies.length))] ?? NaN;
  return { sent: total - skipped, statusCodes, errors, latency: { p50: q(0.5), p99: q(0.99), max: latencies[latencies.length - 1] ?? NaN }, requestsPerSecond: (total - skipped) / elapsed };
}
