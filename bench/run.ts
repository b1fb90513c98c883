/**
 * npm run bench [-- --json] [-- --quick] [-- --decide] [-- --freshness <events/s> [--rounds N]] [-- --backend nats,postgres,redis] [-- --lake] [-- --plan] [-- --duplicates] [-- --privacy [--typical | --vault | --shred]]
 *
 * Measures Mosaic on this machine in one run, next to the limits it is compared with:
 * a bare node:http server under the same load generator, and raw batched SQLite inserts.
 * The server runs as a child process (as in production); autocannon loads it from here.
 */
import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createInterface } from 'node:readline';
import autocannon from 'autocannon';
import Database from 'better-sqlite3';
import { lakeBench } from './lake.js';
import { TrackingPlan } from '../src/quality/tracking-plan.js';
import { Pseudonymizer } from '../src/core/pseudonymize.js';
import { findDuplicates } from '../src/quality/duplicates.js';
import { plantedPeople, scoreDuplicates } from './people.js';
import type { MessageType } from '../src/core/envelope.js';
import { pacedLoad, type PacedResult } from './paced-load.js';
import { decideBodies, type ChildLoad } from './paced-load-child.js';
import { quantileBetween } from '../src/core/metrics-summary.js';
import { TEN_AUDIENCES, TEN_TRAITS, message as workloadMessage, userOf, USERS } from './workload.js';

const args = new Set(process.argv.slice(2));
const JSON_OUT = args.has('--json');
const QUICK = args.has('--quick');
const SECONDS = QUICK ? 4 : 10;
const MEMORY_STEPS = QUICK ? [200_000, 1_000_000] : [1_000_000, 5_000_000];
const CONNECTIONS = 32;
const BATCH = 100;
const WRITE_KEY = 'wk_bench_writekey';
const TOKEN = 'mt_bench_token_0123456789';
const CLI = join(import.meta.dirname, '../src/cli/main.js');
/**
 * Node's flags from `npm start` (the V8 thread pool's size): the bench measures Mosaic as it is
 * started. dist/bench/run.js is two folders below package.json.
 */
const START_FLAGS = [
  ...(JSON.parse(readFileSync(join(import.meta.dirname, '../../package.json'), 'utf8')) as { scripts: { start: string } }).scripts.start.split(' ').filter((a) => a.startsWith('--')),
  // More for a diagnosis (--trace-gc, --cpu-prof), which NODE_OPTIONS would not pass on.
  ...(process.env.MOSAIC_BENCH_NODE_FLAGS ?? '').split(' ').filter(Boolean),
];
const RUN = Date.now().toString(36);

const say = (s: string) => {
  if (!JSON_OUT) process.stderr.write(s + '\n');
};

// ---- workload: see workload.ts ----

const message = (n: number) => workloadMessage(n, RUN);

let seq = 0;
const nextBatch = () => {
  const parts: string[] = [];
  for (let i = 0; i < BATCH; i++) parts.push(message(seq++));
  return `{"batch":[${parts.join(',')}],"sentAt":"${new Date().toISOString()}"}`;
};
const typeOf = (n: number) => (n % 10 === 0 ? 'identify' : n % 10 < 3 ? 'page' : 'track');
let singleType = 'track';
/** One message, for a single-message endpoint; `singlePath` is its route. */
const nextSingle = () => {
  singleType = typeOf(seq);
  return message(seq++);
};
const singlePath = () => `/v1/${singleType}`;

// ---- helpers ----

interface LoadResult {
  requestsPerSecond: number;
  statusCodes: Record<string, number>;
  non2xx: number;
  errors: number;
  latency: { p50: number; p99: number };
  total: number;
}

async function load(opts: { url: string; seconds: number; method?: 'GET' | 'POST'; body?: () => string; path?: () => string; headers?: Record<string, string>; rate?: number; amount?: number; connections?: number }): Promise<LoadResult> {
  const result = await autocannon({
    url: opts.url,
    // autocannon refuses more connections than requests (the last top-up step can be small).
    connections: Math.min(opts.connections ?? CONNECTIONS, opts.amount ?? Infinity),
    ...(opts.amount ? { amount: opts.amount } : { duration: opts.seconds }),
    ...(opts.rate ? { overallRate: opts.rate } : {}),
    method: opts.method ?? 'POST',
    headers: { 'content-type': 'application/json', ...opts.headers },
    requests: [
      {
        setupRequest: (req: Record<string, unknown>) => {
          if (opts.body) req.body = opts.body();
          if (opts.path) req.path = opts.path();
          return req;
        },
      },
    ],
  } as unknown as autocannon.Options);
  const statusCodes = Object.fromEntries(Object.entries((result as unknown as { statusCodeStats: Record<string, { count: number }> }).statusCodeStats).map(([k, v]) => [k, v.count]));
  if (result.non2xx) say(`  non-2xx answers: ${JSON.stringify(statusCodes)}`);
  if (result.errors || result.timeouts) say(`  client-side errors: ${result.errors}, timeouts: ${result.timeouts}`);
  return {
    statusCodes,
    requestsPerSecond: result.requests.total / (result.duration || opts.seconds),
    total: result.requests.total,
    non2xx: result.non2xx,
    errors: result.errors + result.timeouts,
    latency: { p50: result.latency.p50, p99: result.latency.p99 },
  };
}

function start(dir: string, port: number, env: Record<string, string> = {}, role: 'up' | 'collect' | 'process' | 'serve' = 'up'): ChildProcess {
  return spawn(process.execPath, [...START_FLAGS, CLI, role], {
    env: { ...process.env, PORT: String(port), HOST: '127.0.0.1', MOSAIC_DATA_DIR: dir, MOSAIC_WRITE_KEY: WRITE_KEY, MOSAIC_API_TOKEN: TOKEN, MOSAIC_LOG_LEVEL: 'warn', ...env },
    stdio: ['ignore', 'ignore', 'inherit'],
  });
}

async function waitFor(fn: () => Promise<boolean>, timeoutMs: number, what: string): Promise<void> {
  const until = Date.now() + timeoutMs;
  while (Date.now() < until) {
    try {
      if (await fn()) return;
    } catch {
      /* not yet */
    }
    await new Promise((r) => setTimeout(r, 50));
  }
  throw new Error(`timed out waiting for ${what}`);
}

const health = async (base: string) => (await (await fetch(`${base}/health`)).json()) as { processor: { lagEvents: number } };

function rssMb(pid: number): { rss: number; peak: number } {
  const status = readFileSync(`/proc/${pid}/status`, 'utf8');
  const kb = (k: string) => Number(new RegExp(`^${k}:\\s+(\\d+)`, 'm').exec(status)?.[1] ?? 0);
  return { rss: kb('VmRSS') / 1024, peak: kb('VmHWM') / 1024 };
}

/** Quantile from a Prometheus histogram delta, interpolating within a bucket as histogram_quantile does. */
async function histogram(base: string, name: string, label = ''): Promise<Map<number, number>> {
  const text = await (await fetch(`${base}/metrics`)).text();
  const out = new Map<number, number>();
  for (const m of text.matchAll(new RegExp(`^${name}_bucket\\{([^}]*)\\} (\\d+)`, 'gm'))) {
    const labels = m[1]!;
    if (label && !labels.includes(label)) continue;
    const le = /le="([^"]+)"/.exec(labels)![1]!;
    out.set(le === '+Inf' ? Infinity : Number(le), Number(m[2]));
  }
  return out;
}
const quantile = quantileBetween;

// ---- limits ----

function rawSqliteInsertRate(dir: string): number {
  const db = new Database(join(dir, 'raw.db'));
  db.pragma('journal_mode = WAL');
  db.pragma('synchronous = FULL');
  db.exec('CREATE TABLE t (offset INTEGER PRIMARY KEY, received_at INTEGER NOT NULL, payload TEXT NOT NULL)');
  const ins = db.prepare('INSERT INTO t (offset, received_at, payload) VALUES (?, ?, ?)');
  const payloads = Array.from({ length: 1000 }, (_, i) => message(i));
  const tx = db.transaction((from: number) => {
    for (let i = 0; i < BATCH; i++) ins.run(from + i, Date.now(), payloads[(from + i) % payloads.length]);
  });
  let rows = 0;
  const started = performance.now();
  while (performance.now() - started < SECONDS * 300) {
    tx(rows + 1);
    rows += BATCH;
  }
  const rate = rows / ((performance.now() - started) / 1000);
  db.close();
  return rate;
}

/**
 * The bare server under the same two loads as Mosaic: flat out with single events, and paced
 * at 2,000 req/s (that p99 is the floor of what this machine and generator can measure).
 */
async function bareHttp(): Promise<{ flatOut: LoadResult; paced: PacedResult }> {
  const child = spawn(process.execPath, [join(import.meta.dirname, 'bare-http.js')], { stdio: ['ignore', 'pipe', 'inherit'] });
  const port = await new Promise<number>((resolve) => createInterface({ input: child.stdout! }).once('line', (l) => resolve(Number(l))));
  try {
    const flatOut = await load({ url: `http://127.0.0.1:${port}`, seconds: SECONDS, body: nextSingle, path: singlePath });
    const paced = await pacedLoad({ url: `http://127.0.0.1:${port}`, method: 'POST', rate: 2000, seconds: SECONDS, warmupSeconds: 1, path: () => '/read', body: () => '{}' });
    return { flatOut, paced };
  } finally {
    child.kill();
  }
}

/** Ten computed traits over the bench's events: every op, filters and windows. */
function replay(dataDir: string, configFile?: string): { events: number; eventsPerSecond: number; seconds: number } {
  const r = spawnSync(process.execPath, [CLI, ...(configFile ? ['--config', configFile] : []), 'replay'], {
    env: { ...process.env, MOSAIC_DATA_DIR: dataDir, MOSAIC_LOG_LEVEL: 'info' },
    encoding: 'utf8',
  });
  if (r.status !== 0) throw new Error(`replay failed: ${r.stderr}`);
  const line = r.stdout.split('\n').find((l) => l.includes('replay done'));
  return JSON.parse(line ?? '{}') as { events: number; eventsPerSecond: number; seconds: number };
}

/**
 * Rounds of the full run's quarter-rate comparison. Medians of three moved from 1.3× to 2.3×
 * with the same code within an hour on a shared 2-core machine (measured); five tolerate two
 * rounds disturbed by the host.
 */
const QUARTER_ROUNDS = QUICK ? 3 : 5;

/** Seconds of load a fresh server gets, and time to catch up, before its freshness is measured. */
const FRESHNESS_WARMUP_SECONDS = QUICK ? 2 : 3;

/**
 * Event-to-profile freshness (p50, p99 in ms) of a fresh Mosaic on `dataDir` under batches of
 * 100 paced at `rate` requests/s, read from its own histogram once the processor has caught up.
 * The server is warmed up first at the same rate: a just-started processor runs unoptimised
 * code for its first second or two, and the backlog that builds then (0.5–0.8 s at 10k
 * events/s, measured) was the p99 of a 10 s run, plain and with a model alike.
 */
interface Freshness {
  p50: number;
  p99: number;
  /** The server's CPU time (every thread) per 1,000 events of the measured run: the headroom a p99 depends on. */
  cpuMsPer1k: number;
  /** Bytes the server had the disk write (every file, checkpoints included) per 1,000 events of the measured run, in MB. */
  writtenMbPer1k: number;
}

/** Bytes a process has caused to be written to storage so far (`write_bytes` of /proc/<pid>/io). */
function writtenBytes(pid: number): number {
  const io = readFileSync(`/proc/${pid}/io`, 'utf8');
  return Number(/^write_bytes: (\d+)$/m.exec(io)?.[1] ?? NaN);
}

/** CPU time a process has used so far (user + system, every thread), in ms. */
function cpuMs(pid: number): number {
  const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
  const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
  return ((Number(fields[11]) + Number(fields[12])) * 1000) / CLOCK_TICKS;
}
/** Linux's USER_HZ, which /proc reports CPU times in. */
const CLOCK_TICKS = 100;

async function freshnessOn(dataDir: string, port: number, rate: number, env: Record<string, string>): Promise<Freshness> {
  const base = `http://127.0.0.1:${port}`;
  const auth = { authorization: 'Basic ' + Buffer.from(`${WRITE_KEY}:`).toString('base64') };
  const server = start(dataDir, port, env);
  try {
    await waitFor(async () => (await fetch(`${base}/health`)).ok, 20_000, 'mosaic to start');
    await pacedLoad({ url: base, method: 'POST', path: () => '/v1/batch', seconds: FRESHNESS_WARMUP_SECONDS, body: nextBatch, headers: auth, rate });
    await waitFor(async () => (await health(base)).processor.lagEvents === 0, 600_000, 'processor to catch up after the warm-up');
    const b = await histogram(base, 'mosaic_event_to_profile_seconds');
    const cpuBefore = cpuMs(server.pid!);
    const writtenBefore = writtenBytes(server.pid!);
    const sent = await pacedLoad({ url: base, method: 'POST', path: () => '/v1/batch', seconds: SECONDS, body: nextBatch, headers: auth, rate });
    await waitFor(async () => (await health(base)).processor.lagEvents === 0, 600_000, 'processor to catch up');
    const cpu = cpuMs(server.pid!) - cpuBefore;
    const written = writtenBytes(server.pid!) - writtenBefore;
    const a = await histogram(base, 'mosaic_event_to_profile_seconds');
    const thousands = (sent.sent * BATCH) / 1000;
    return { p50: quantile(b, a, 0.5) * 1000, p99: quantile(b, a, 0.99) * 1000, cpuMsPer1k: cpu / thousands, writtenMbPer1k: written / 1e6 / thousands };
  } finally {
    server.kill('SIGTERM');
    await new Promise((r) => server.once('exit', r));
  }
}

interface FreshnessRounds {
  rounds: { plain: Freshness; model: Freshness }[];
  /** Median of the rounds' p99s, without and with the model, and their ratio. */
  plainP99: number;
  modelP99: number;
  ratio: number;
  /** Medians of the rounds' server CPU per 1,000 events, without and with the model. */
  plainCpuMsPer1k: number;
  modelCpuMsPer1k: number;
  /** Medians of the rounds' bytes written per 1,000 events, without and with the model (MB). */
  plainWrittenMbPer1k: number;
  modelWrittenMbPer1k: number;
}

const median = (xs: readonly number[]) => {
  const s = [...xs].sort((a, b) => a - b);
  return s.length % 2 ? s[(s.length - 1) / 2]! : (s[s.length / 2 - 1]! + s[s.length / 2]!) / 2;
};

/**
 * Freshness without and with 10 computed traits and 10 audiences, `rounds` times interleaved
 * on fresh data dirs. One pair of 10 s runs on a shared machine gave ratios from 1.05× to 2.5×
 * at the same rate (measured): a p99 is the worst 1% of batches, which one stall of the host
 * moves. The medians of the rounds' p99s are what is compared.
 */
async function freshnessRounds(dir: string, port: number, eventsPerSecond: number, rounds: number, modelConfig: string): Promise<FreshnessRounds> {
  const out: FreshnessRounds['rounds'] = [];
  for (let round = 1; round <= rounds; round++) {
    // The order alternates, so neither side always runs on the machine the other just warmed.
    const plainFirst = round % 2 === 1;
    say(`  round ${round} of ${rounds} at ${Math.round(eventsPerSecond)} events/s: ${plainFirst ? 'plain, then 10 traits + 10 audiences' : '10 traits + 10 audiences, then plain'}…`);
    const run = (kind: 'plain' | 'model') =>
      freshnessOn(join(dir, `fresh-${Math.round(eventsPerSecond)}-${kind}-${round}`), port, eventsPerSecond / BATCH, kind === 'model' ? { MOSAIC_CONFIG: modelConfig } : {});
    const first = await run(plainFirst ? 'plain' : 'model');
    const second = await run(plainFirst ? 'model' : 'plain');
    out.push(plainFirst ? { plain: first, model: second } : { plain: second, model: first });
  }
  const plainP99 = median(out.map((r) => r.plain.p99));
  const modelP99 = median(out.map((r) => r.model.p99));
  const plainCpuMsPer1k = median(out.map((r) => r.plain.cpuMsPer1k));
  const modelCpuMsPer1k = median(out.map((r) => r.model.cpuMsPer1k));
  const plainWrittenMbPer1k = median(out.map((r) => r.plain.writtenMbPer1k));
  const modelWrittenMbPer1k = median(out.map((r) => r.model.writtenMbPer1k));
  return { rounds: out, plainP99, modelP99, ratio: modelP99 / plainP99, plainCpuMsPer1k, modelCpuMsPer1k, plainWrittenMbPer1k, modelWrittenMbPer1k };
}

/** The rounds as a markdown table, with the medians' row. */
function roundsTable(f: FreshnessRounds): string {
  const ms = (x: number) => `${x.toFixed(1)} ms`;
  const cpu = (x: number) => x.toFixed(0);
  const mb = (x: number) => x.toFixed(1);
  const rows = f.rounds.map(
    (r, i) => `| ${i + 1} | ${ms(r.plain.p50)} | ${ms(r.plain.p99)} | ${ms(r.model.p50)} | ${ms(r.model.p99)} | ${(r.model.p99 / r.plain.p99).toFixed(2)}× | ${cpu(r.plain.cpuMsPer1k)} / ${cpu(r.model.cpuMsPer1k)} | ${mb(r.plain.writtenMbPer1k)} / ${mb(r.model.writtenMbPer1k)} |`,
  );
  rows.push(
    `| median | | ${ms(f.plainP99)} | | ${ms(f.modelP99)} | **${f.ratio.toFixed(2)}×** | ${cpu(f.plainCpuMsPer1k)} / ${cpu(f.modelCpuMsPer1k)} (${(f.modelCpuMsPer1k / f.plainCpuMsPer1k).toFixed(2)}×) | ${mb(f.plainWrittenMbPer1k)} / ${mb(f.modelWrittenMbPer1k)} (${(f.modelWrittenMbPer1k / f.plainWrittenMbPer1k).toFixed(2)}×) |`,
  );
  return `| round | plain p50 | plain p99 | model p50 | model p99 | p99 ratio | server CPU-ms per 1k events, plain / model | MB written per 1k events, plain / model |\n| - | - | - | - | - | - | - | - |\n${rows.join('\n')}\n`;
}

// ---- the run ----

async function main() {
  const dir = mkdtempSync(join(tmpdir(), 'mosaic-bench-'));
  const port = 18000 + Math.floor(Math.random() * 2000);
  const base = `http://127.0.0.1:${port}`;
  const auth = { authorization: 'Basic ' + Buffer.from(`${WRITE_KEY}:`).toString('base64') };
  const results: Record<string, unknown> = { machine: { cpus: (await import('node:os')).cpus().length, node: process.version }, quick: QUICK };
  let server: ChildProcess | undefined;
  try {
    say('limit: raw batched SQLite inserts (WAL, synchronous=FULL, 100 rows per transaction)…');
    const rawRows = rawSqliteInsertRate(dir);
    say('limit: bare node:http server, single-event bodies…');
    const { flatOut: bare, paced: barePaced } = await bareHttp();

    const firstSession = Math.ceil(seq / 5); // events before this went to the bare server
    server = start(join(dir, 'data'), port);
    await waitFor(async () => (await fetch(`${base}/health`)).ok, 20_000, 'mosaic to start');
    const pid = server.pid!;
    let peakRss = 0;
    const sampler = setInterval(() => {
      try {
        peakRss = Math.max(peakRss, rssMb(pid).rss);
      } catch {
        /* exited */
      }
    }, 200);

    say('mosaic: batched ingest (100 events per request)…');
    const batched = await load({ url: `${base}/v1/batch`, seconds: SECONDS, body: nextBatch, headers: auth });
    const batchedEvents = batched.requestsPerSecond * BATCH;
    await waitFor(async () => (await health(base)).processor.lagEvents === 0, 600_000, 'processor to catch up');

    say('mosaic: single-event ingest…');
    const single = await load({ url: base, seconds: SECONDS, body: nextSingle, path: singlePath, headers: auth });
    await waitFor(async () => (await health(base)).processor.lagEvents === 0, 600_000, 'processor to catch up');

    say(`mosaic: event-to-profile freshness at half the max batched rate (${Math.round(batchedEvents / 2)} events/s)…`);
    const before = await histogram(base, 'mosaic_event_to_profile_seconds');
    const half = await pacedLoad({ url: base, method: 'POST', path: () => '/v1/batch', seconds: SECONDS, body: nextBatch, headers: auth, rate: Math.max(1, batched.requestsPerSecond / 2) });
    await waitFor(async () => (await health(base)).processor.lagEvents === 0, 600_000, 'processor to catch up');
    const after = await histogram(base, 'mosaic_event_to_profile_seconds');
    const fresh = { p50: quantile(before, after, 0.5) * 1000, p99: quantile(before, after, 0.99) * 1000 };
    // The comparisons below send to servers of their own: the profile reads pick among the
    // sessions sent to this one (picked among all, two reads in three were of people it never saw).
    const sessions = Math.floor(seq / 5) - firstSession;

    // Freshness with and without 10 computed traits and 10 audiences, back to back on fresh data
    // directories at the same rate, so the ratio compares like with like on this noisy machine.
    const modelConfig = join(dir, 'model.yaml');
    writeFileSync(modelConfig, TEN_TRAITS + TEN_AUDIENCES);
    const rate = Math.max(1, batched.requestsPerSecond / 2);
    say('mosaic: freshness without, then with, 10 computed traits and 10 audiences…');
    const freshPlain = await freshnessOn(join(dir, 'data-plain'), port + 1, rate, {});
    const freshModel = await freshnessOn(join(dir, 'data-model'), port + 1, rate, { MOSAIC_CONFIG: modelConfig });
    // Half the batched rate can be more than the processor sustains beside the collector on a small
    // machine, plain or not; the p99s are then backlogs that grow with the run. So the same
    // comparison at half that rate as well, where the plain processor keeps up.
    say(`mosaic: the same at a quarter of the max batched rate, ${QUARTER_ROUNDS} rounds…`);
    const quarter = await freshnessRounds(dir, port + 1, (rate * BATCH) / 2, QUARTER_ROUNDS, modelConfig);

    say('mosaic: profile reads at 2,000 requests/s…');
    const readsBefore = await histogram(base, 'mosaic_http_request_duration_seconds', 'route="/v1/profiles/:ref"');
    let reader = 0;
    const reads = await pacedLoad({
      url: base,
      method: 'GET',
      seconds: SECONDS,
      warmupSeconds: 1,
      rate: 2000,
      path: () => `/v1/profiles/anonymous_id:anon-${userOf(5 * (firstSession + ((reader++ * 7) % sessions)))}`,
      headers: { authorization: `Bearer ${TOKEN}` },
    });

    if (Object.keys(reads.statusCodes).some((c) => c !== '200') || reads.errors) say(`  non-200 answers: ${JSON.stringify(reads.statusCodes)}, errors ${reads.errors}`);
    const readsAfter = await histogram(base, 'mosaic_http_request_duration_seconds', 'route="/v1/profiles/:ref"');
    const readsServerP99 = quantile(readsBefore, readsAfter, 0.99) * 1000;
    say(`mosaic: memory as the log grows to ${MEMORY_STEPS.map((n) => n / 1e6 + 'M').join(' and ')} events…`);
    const memory: { events: number; rssMb: number }[] = [];
    for (const target of MEMORY_STEPS) {
      for (;;) {
        const sent = seq;
        if (sent >= target) break;
        const amount = Math.min(2000, Math.ceil((target - sent) / BATCH));
        await load({ url: `${base}/v1/batch`, seconds: 60, amount, body: nextBatch, headers: auth });
        say(`  ${Math.min(seq, target).toLocaleString()} events sent, RSS ${rssMb(pid).rss.toFixed(0)} MB`);
      }
      await waitFor(async () => (await health(base)).processor.lagEvents === 0, 900_000, 'processor to catch up');
      memory.push({ events: seq, rssMb: rssMb(pid).rss });
    }
    clearInterval(sampler);
    peakRss = Math.max(peakRss, rssMb(pid).peak);

    server.kill('SIGTERM');
    await new Promise((r) => server!.once('exit', r));
    server = undefined;
    say('mosaic: replay of the whole log…');
    const replayStats = replay(join(dir, 'data'));
    say('mosaic: replay again with 10 computed traits…');
    const tracedConfig = join(dir, 'traits.yaml');
    writeFileSync(tracedConfig, TEN_TRAITS);
    const replayTraits = replay(join(dir, 'data'), tracedConfig);
    say('mosaic: replay again with 10 computed traits and 10 audiences…');
    const replayModel = replay(join(dir, 'data'), modelConfig);

    // The durability trade-off, measured: sync=normal acknowledges after the write reaches the
    // OS (survives kill -9, not power loss), as Kafka and JetStream do by default.
    say('mosaic: ingest again with MOSAIC_LOG_SYNC=normal…');
    server = start(join(dir, 'data-normal'), port, { MOSAIC_LOG_SYNC: 'normal' });
    await waitFor(async () => (await fetch(`${base}/health`)).ok, 20_000, 'mosaic to start');
    const batchedNormal = await load({ url: `${base}/v1/batch`, seconds: SECONDS, body: nextBatch, headers: auth });
    const singleNormal = await load({ url: base, seconds: SECONDS, body: nextSingle, path: singlePath, headers: auth });
    server.kill('SIGTERM');
    await new Promise((r) => server!.once('exit', r));
    server = undefined;

    const firstMem = memory[0]!;
    const lastMem = memory[memory.length - 1]!;
    Object.assign(results, {
      limits: { rawSqliteInsertRowsPerSecond: Math.round(rawRows), bareHttpRequestsPerSecond: Math.round(bare.requestsPerSecond), bareHttpP99MsAt2000: barePaced.latency.p99 },
      ingestBatched: { eventsPerSecond: Math.round(batchedEvents), requestsPerSecond: Math.round(batched.requestsPerSecond), non2xx: batched.non2xx, errors: batched.errors, ofRawSqlite: batchedEvents / rawRows },
      ingestSingle: { eventsPerSecond: Math.round(single.requestsPerSecond), non2xx: single.non2xx, errors: single.errors, latencyMs: single.latency, ofBareHttp: single.requestsPerSecond / bare.requestsPerSecond },
      freshness: { atEventsPerSecond: Math.round(half.requestsPerSecond * BATCH), p50Ms: fresh.p50, p99Ms: fresh.p99, statusCodes: half.statusCodes },
      profileRead: { requestsPerSecond: Math.round(reads.requestsPerSecond), p50Ms: reads.latency.p50, p99Ms: reads.latency.p99, serverP99Ms: readsServerP99, maxMs: reads.latency.max, statusCodes: reads.statusCodes, p99OverBareHttp: reads.latency.p99 / barePaced.latency.p99 },
      ingestSyncNormal: {
        batchedEventsPerSecond: Math.round(batchedNormal.requestsPerSecond * BATCH),
        singleEventsPerSecond: Math.round(singleNormal.requestsPerSecond),
        non2xx: batchedNormal.non2xx + singleNormal.non2xx,
      },
      replay: { events: replayStats.events, eventsPerSecond: replayStats.eventsPerSecond, seconds: replayStats.seconds },
      replayWith10ComputedTraits: { eventsPerSecond: replayTraits.eventsPerSecond, ofReplayWithout: replayTraits.eventsPerSecond / replayStats.eventsPerSecond },
      replayWith10TraitsAnd10Audiences: { eventsPerSecond: replayModel.eventsPerSecond, ofReplayWithout: replayModel.eventsPerSecond / replayStats.eventsPerSecond },
      freshnessWith10TraitsAnd10Audiences: { atEventsPerSecond: Math.round(half.requestsPerSecond * BATCH), withoutP99Ms: freshPlain.p99, withP99Ms: freshModel.p99, ratio: freshModel.p99 / freshPlain.p99 },
      freshnessWith10TraitsAnd10AudiencesAtAQuarter: { atEventsPerSecond: Math.round(rate * BATCH / 2), rounds: quarter.rounds, withoutP99Ms: quarter.plainP99, withP99Ms: quarter.modelP99, ratio: quarter.ratio, withoutCpuMsPer1k: quarter.plainCpuMsPer1k, withCpuMsPer1k: quarter.modelCpuMsPer1k, withoutWrittenMbPer1k: quarter.plainWrittenMbPer1k, withWrittenMbPer1k: quarter.modelWrittenMbPer1k },
      memory: { steps: memory.map((m) => ({ events: m.events, rssMb: Math.round(m.rssMb) })), growth: lastMem.rssMb / firstMem.rssMb, peakRssMb: Math.round(peakRss) },
    });

    if (JSON_OUT) {
      process.stdout.write(JSON.stringify(results) + '\n');
    } else {
      const r = results as Record<string, Record<string, number>>;
      const row = (what: string, value: string, ratio: string, target: string) => `| ${what.padEnd(44)} | ${value.padStart(16)} | ${ratio.padStart(22)} | ${target.padEnd(26)} |`;
      const n = (x: number, d = 0) => x.toLocaleString('en-US', { maximumFractionDigits: d, minimumFractionDigits: d });
      const lines = [
        row('measure', 'value', 'ratio to its limit', 'target'),
        row('-'.repeat(44), '-'.repeat(16), '-'.repeat(22), '-'.repeat(26)),
        row('limit: raw batched SQLite insert', `${n(rawRows)} rows/s`, '', ''),
        row('limit: bare node:http', `${n(bare.requestsPerSecond)} req/s`, '', ''),
        row('limit: bare node:http p99 at 2,000 req/s', `${n(barePaced.latency.p99, 2)} ms`, '', ''),
        row('ingest, batches of 100', `${n(batchedEvents)} ev/s`, `${n(100 * r.ingestBatched!.ofRawSqlite!, 1)}% of raw SQLite`, '≥ 50,000 ev/s and ≥ 35%'),
        row('ingest, one event per request', `${n(single.requestsPerSecond)} ev/s`, `${n(100 * r.ingestSingle!.ofBareHttp!, 1)}% of bare node:http`, '≥ 40%'),
        row('ingest, batches, sync=normal', `${n(batchedNormal.requestsPerSecond * BATCH)} ev/s`, `${n((100 * batchedNormal.requestsPerSecond * BATCH) / rawRows, 1)}% of raw SQLite`, '(no fsync per commit)'),
        row('ingest, single, sync=normal', `${n(singleNormal.requestsPerSecond)} ev/s`, `${n((100 * singleNormal.requestsPerSecond) / bare.requestsPerSecond, 1)}% of bare node:http`, '(no fsync per commit)'),
        row(`freshness p50 at ${n(half.requestsPerSecond * BATCH)} ev/s`, `${n(fresh.p50, 1)} ms`, '', ''),
        row(`freshness p99 at ${n(half.requestsPerSecond * BATCH)} ev/s`, `${n(fresh.p99, 1)} ms`, '', '≤ 100 ms'),
        row(`profile read p50 at ${n(reads.requestsPerSecond)} req/s`, `${n(reads.latency.p50, 2)} ms`, '', ''),
        row(`profile read p99 at ${n(reads.requestsPerSecond)} req/s`, `${n(reads.latency.p99, 2)} ms`, `${n(reads.latency.p99 / barePaced.latency.p99, 2)}× bare node:http`, '≤ 5 ms at 2,000 req/s'),
        row('profile read p99 inside the server', `${n(readsServerP99, 2)} ms`, '', '(arrival → response sent)'),
        row(`replay (${n(replayStats.events)} events)`, `${n(replayStats.eventsPerSecond)} ev/s`, `${n(replayStats.eventsPerSecond / batchedEvents, 2)}× batched ingest`, ''),
        row('replay with 10 computed traits', `${n(replayTraits.eventsPerSecond)} ev/s`, `${n((100 * replayTraits.eventsPerSecond) / replayStats.eventsPerSecond, 1)}% of replay without`, ''),
        row('replay with 10 traits + 10 audiences', `${n(replayModel.eventsPerSecond)} ev/s`, `${n((100 * replayModel.eventsPerSecond) / replayStats.eventsPerSecond, 1)}% of replay without`, '≥ 50% (issue 3)'),
        row('freshness p99, fresh dir, plain', `${n(freshPlain.p99, 1)} ms`, '', ''),
        row('freshness p99, 10 traits + 10 audiences', `${n(freshModel.p99, 1)} ms`, `${n(freshModel.p99 / freshPlain.p99, 2)}× plain`, '≤ 1.5× (issue 3)'),
        row(`freshness p99 at ${n((rate * BATCH) / 2)} ev/s, plain (median of ${QUARTER_ROUNDS})`, `${n(quarter.plainP99, 1)} ms`, '', ''),
        row(`freshness p99 at ${n((rate * BATCH) / 2)} ev/s, 10 traits + 10 audiences (median of ${QUARTER_ROUNDS})`, `${n(quarter.modelP99, 1)} ms`, `${n(quarter.ratio, 2)}× plain`, '≤ 1.5× (issue 3)'),
        row(`server CPU per 1k events at ${n((rate * BATCH) / 2)} ev/s, plain / model`, `${n(quarter.plainCpuMsPer1k, 0)} / ${n(quarter.modelCpuMsPer1k, 0)} ms`, `${n(quarter.modelCpuMsPer1k / quarter.plainCpuMsPer1k, 2)}× plain`, ''),
        row(`server writes per 1k events at ${n((rate * BATCH) / 2)} ev/s, plain / model`, `${n(quarter.plainWrittenMbPer1k, 1)} / ${n(quarter.modelWrittenMbPer1k, 1)} MB`, `${n(quarter.modelWrittenMbPer1k / quarter.plainWrittenMbPer1k, 2)}× plain`, ''),
        ...memory.map((m) => row(`RSS after ${n(m.events)} events`, `${n(m.rssMb)} MB`, '', '')),
        row('RSS growth across those steps', `${n(lastMem.rssMb / firstMem.rssMb, 2)}×`, '', 'flat'),
        row('peak RSS', `${n(peakRss)} MB`, '', ''),
      ];
      const notOk = (x: PacedResult) => x.errors + Object.entries(x.statusCodes).filter(([c]) => c !== '200').reduce((a, [, n]) => a + n, 0);
      const byPhase: [string, number][] = [
        ['batched ingest', batched.non2xx + batched.errors],
        ['single-event ingest', single.non2xx + single.errors],
        ['batched ingest, sync=normal', batchedNormal.non2xx + batchedNormal.errors],
        ['single-event ingest, sync=normal', singleNormal.non2xx + singleNormal.errors],
        ['freshness at half the rate', notOk(half)],
        ['profile reads', notOk(reads)],
        ['bare node:http, paced', barePaced.errors],
      ];
      const failures = byPhase.reduce((a, [, x]) => a + x, 0);
      const where = byPhase.filter(([, x]) => x > 0).map(([phase, x]) => `${phase}: ${n(x)}`);
      process.stdout.write(lines.join('\n') + `\n\nnon-2xx or errors during the run: ${failures}${where.length ? ` (${where.join('; ')})` : ''}\n`);
      // A median of p99s hides how far apart the rounds were, which is most of what it means here.
      process.stdout.write(`\nfreshness at ${n((rate * BATCH) / 2)} ev/s by round:\n\n${roundsTable(quarter)}`);
    }
  } finally {
    server?.kill('SIGKILL');
    rmSync(dir, { recursive: true, force: true });
  }
}

/**
 * `--freshness <events/s>`: only the freshness comparison (plain, then 10 traits + 10 audiences)
 * at a chosen rate, three times each (`--rounds N`), interleaved, with the medians, to size the issue-3 ratio without a full run.
 */
async function freshnessOnly(eventsPerSecond: number): Promise<void> {
  const dir = mkdtempSync(join(tmpdir(), 'mosaic-bench-'));
  const port = 18000 + Math.floor(Math.random() * 2000);
  try {
    const modelConfig = join(dir, 'model.yaml');
    writeFileSync(modelConfig, TEN_TRAITS + TEN_AUDIENCES);
    const f = await freshnessRounds(dir, port, eventsPerSecond, ROUNDS, modelConfig);
    if (JSON_OUT) process.stdout.write(JSON.stringify({ eventsPerSecond, seconds: SECONDS, ...f }, null, 2) + '\n');
    else process.stdout.write(`freshness at ${eventsPerSecond} events/s (batches of 100, ${SECONDS} s per run, fresh data dirs)\n\n${roundsTable(f)}`);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

/** The workload's tracking plan: every event it sends has a schema, and every schema passes. */
const WORKLOAD_PLAN: Record<string, unknown> = {
  identify: { type: 'object', properties: { plan: { enum: ['free', 'pro'] }, visits: { type: 'integer', minimum: 0 } }, required: ['plan'], additionalProperties: false },
  'page:Product': { type: 'object', properties: { path: { type: 'string', pattern: '^/products/' } }, required: ['path'] },
  'track:Product Viewed': { type: 'object', properties: { sku: { type: 'string', minLength: 1 }, price: { type: 'number', minimum: 0 }, currency: { type: 'string', enum: ['EUR', 'USD', 'GBP'] } }, required: ['sku', 'price'] },
  'track:Order Completed': { type: 'object', properties: { sku: { type: 'string' }, price: { type: 'number', minimum: 0 }, currency: { type: 'string', minLength: 3, maxLength: 3 } }, required: ['price', 'currency'] },
};

/**
 * Batched ingest without, then with, one feature (`withConfig`), five rounds interleaved with the
 * order alternating (the machine drifts within a round), each on a fresh data directory with
 * the processor off: the feature's cost is the collector's, and a processor sharing the two
 * cores would blur it. `prepare` runs against the started server before the load; `verify`
 * after it, to prove the feature was applied. Returns the table and the median ratio.
 */
async function ingestAB(withConfig: string, hooks: { prepare?: (base: string) => Promise<void>; verify?: (base: string, dataDir: string) => Promise<void>; body?: () => string } = {}): Promise<{ table: string; median: number }> {
  const dir = mkdtempSync(join(tmpdir(), 'mosaic-bench-'));
  const port = 18000 + Math.floor(Math.random() * 2000);
  const base = `http://127.0.0.1:${port}`;
  const auth = { authorization: 'Basic ' + Buffer.from(`${WRITE_KEY}:`).toString('base64') };
  const configs = { without: join(dir, 'without.yaml'), with: join(dir, 'with.yaml') };
  writeFileSync(configs.without, 'processor: { enabled: false }\n');
  writeFileSync(configs.with, `processor: { enabled: false }\n${withConfig}`);
  const ingest = async (which: 'without' | 'with', round: number) => {
    const dataDir = join(dir, `${which}-${round}`);
    const server = start(dataDir, port, { MOSAIC_CONFIG: configs[which] });
    try {
      await waitFor(async () => (await fetch(`${base}/health`)).ok, 20_000, 'mosaic to start');
      if (which === 'with') await hooks.prepare?.(base);
      const r = await load({ url: `${base}/v1/batch`, seconds: SECONDS, body: hooks.body ?? nextBatch, headers: auth });
      if (which === 'with') await hooks.verify?.(base, dataDir);
      return r.requestsPerSecond * BATCH;
    } finally {
      server.kill('SIGTERM');
      await new Promise((res) => server.once('exit', res));
    }
  };
  try {
    const rows: string[] = [];
    const ratios: number[] = [];
    const n = (x: number) => Math.round(x).toLocaleString('en-US');
    for (let round = 1; round <= 5; round++) {
      say(`round ${round}: batched ingest without, then with…`);
      const first = round % 2 ? await ingest('without', round) : await ingest('with', round);
      const second = round % 2 ? await ingest('with', round) : await ingest('without', round);
      const [without, withIt] = round % 2 ? [first, second] : [second, first];
      ratios.push(withIt / without);
      rows.push(`| ${round} | ${n(without)} ev/s | ${n(withIt)} ev/s | ${(withIt / without).toFixed(2)}× |`);
    }
    return { table: `| round | without | with | ratio |\n| - | - | - | - |\n${rows.join('\n')}\n`, median: median(ratios) };
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

/** Best of five passes over 100,000 workload messages: ns per message. `make` gives each pass its function (fresh state, or shared). */
function perMessageNs(make: () => (m: Record<string, unknown>) => void): number {
  let best = Infinity;
  for (let rep = 0; rep < 5; rep++) {
    const msgs = Array.from({ length: 100_000 }, (_, i) => JSON.parse(message(i)) as Record<string, unknown>);
    const fn = make();
    const t = process.hrtime.bigint();
    for (const m of msgs) fn(m);
    best = Math.min(best, Number(process.hrtime.bigint() - t) / msgs.length);
  }
  return best;
}

/**
 * `--plan`: with the workload's tracking plan (every event checked by its compiled schema;
 * unplanned events would break it, so none is skipped).
 */
async function planOnly(): Promise<void> {
  const auth = { authorization: 'Basic ' + Buffer.from(`${WRITE_KEY}:`).toString('base64') };
  const plan = new TrackingPlan(Object.entries(WORKLOAD_PLAN).map(([subject, schema]) => ({ subject, version: 1, schema: schema as Record<string, unknown>, compatibility: 'backward' as const, createdAt: 0 })), 'violation');
  const checkNs = perMessageNs(() => (m) => {
    if (plan.check(m, m.type as MessageType, ['src_bench', 'default'])) throw new Error('a workload event broke the bench plan');
  });
  const quarantined = async (base: string) => Number(/^mosaic_events_quarantined_total (\d+)/m.exec(await (await fetch(`${base}/metrics`)).text())?.[1] ?? 0);
  const r = await ingestAB('quality: { violations: quarantine, unplanned: violation }\n', {
    prepare: async (base) => {
      for (const [subject, schema] of Object.entries(WORKLOAD_PLAN)) {
        const res = await fetch(`${base}/v1/schemas/${encodeURIComponent(subject)}`, { method: 'POST', headers: { authorization: `Bearer ${TOKEN}`, 'content-type': 'application/json' }, body: JSON.stringify({ schema }) });
        if (res.status !== 201) throw new Error(`registering ${subject}: ${res.status} ${await res.text()}`);
      }
    },
    verify: async (base) => {
      if (await quarantined(base)) throw new Error(`${await quarantined(base)} workload events broke the plan: the bench plan must describe them`);
      // Proof that the plan was checked: an event breaking it is held back.
      await fetch(`${base}/v1/track`, { method: 'POST', headers: { ...auth, 'content-type': 'application/json' }, body: JSON.stringify({ userId: 'u', event: 'Order Completed', properties: { price: 'free' } }) });
      if ((await quarantined(base)) !== 1) throw new Error('the tracking plan was not applied');
    },
  });
  process.stdout.write(
    `batched ingest (100 events per request, ${SECONDS} s per run, processor off) without and with a tracking plan of 4 schemas covering every event\n\n${r.table}\n` +
      `median ratio ${r.median.toFixed(2)}× (the issue allows ≥ 0.80×)\nthe check alone, in-process: ${checkNs.toFixed(0)} ns per event (best of 5 × 100,000 workload events)\n`,
  );
}

/**
 * `--privacy`: with pseudonymization of every workload event — anonymousId and userId as HMAC
 * tokens (at least one HMAC per event, two for a third of them), identify traits too, and the
 * IP truncated: more than a typical configuration does, so an upper bound.
 */
/** `--privacy --shred`: batched ingest without and with crypto-shredding (each entry encrypted under its person's key), on the embedded log. */
async function shredOnly(): Promise<void> {
  const r = await ingestAB('log: { shred: always }\n', {
    verify: async (_base, dataDir) => {
      const db = new Database(join(dataDir, 'log.db'), { readonly: true });
      try {
        const payload = db.prepare('SELECT payload FROM log_p0 ORDER BY offset DESC LIMIT 1').pluck().get() as string;
        if (!payload.startsWith('enc1:')) throw new Error(`entries are not encrypted: ${payload.slice(0, 80)}`);
      } finally {
        db.close();
      }
    },
  });
  process.stdout.write(`batched ingest (100 events per request, ${SECONDS} s per run, processor off) without and with crypto-shredding (AES-256-GCM per entry, a key per person in keys.db)\n\n${r.table}\nmedian ratio ${r.median.toFixed(2)}×\n`);
}

/**
 * `--privacy --typical`: the configuration most deployments would use, on the workload with an
 * email and a phone on each identify (in both arms): those two as HMAC tokens, the IP truncated.
 */
async function typicalPrivacyOnly(): Promise<void> {
  const withContact = () => nextBatch().replaceAll(/"traits":\{/g, () => {
    const u = seq % USERS;
    return `"traits":{"email":"Person.${u}@Example.com","phone":"+44 7700 ${String(u).padStart(6, '0')}",`;
  });
  const yaml = 'privacy:\n  keys: [{ id: k1, secret: bench-secret-0123456789 }]\n  pseudonymize:\n    - { path: traits.email, method: hmac }\n    - { path: traits.phone, method: hmac }\n    - { path: context.traits.email, method: hmac }\n    - { path: context.ip, method: truncate }\n';
  const r = await ingestAB(yaml, {
    body: withContact,
    verify: async (_base, dataDir) => {
      const db = new Database(join(dataDir, 'log.db'), { readonly: true });
      try {
        const e = db.prepare(`SELECT payload FROM log_p0 WHERE payload LIKE '%"type":"identify"%' ORDER BY offset DESC LIMIT 1`).pluck().get() as string;
        if (!e.includes('"email":"pii:k1:') || e.includes('@Example.com')) throw new Error(`pseudonymization was not applied: ${e.slice(0, 200)}`);
      } finally {
        db.close();
      }
    },
  });
  process.stdout.write(`batched ingest (100 events per request, ${SECONDS} s per run, processor off) without and with a typical pseudonymization (email and phone on identify as HMAC tokens, every IP truncated)\n\n${r.table}\nmedian ratio ${r.median.toFixed(2)}× (the issue allows ≥ 0.90×)\n`);
}

async function privacyOnly(): Promise<void> {
  if (args.has('--shred')) return shredOnly();
  if (args.has('--typical')) return typicalPrivacyOnly();
  const rules = [
    { path: 'anonymousId', method: 'hmac' as const },
    { path: 'userId', method: 'hmac' as const },
    { path: 'traits.plan', method: 'hmac' as const },
    { path: 'context.ip', method: 'truncate' as const },
  ];
  const keys = [{ id: 'k1', secret: 'bench-secret-0123456789' }];
  const warm = new Pseudonymizer(rules, keys);
  const warmNs = perMessageNs(() => (m) => warm.apply(m));
  // A fresh pseudonymizer per pass: every identifier's first token is computed, none remembered.
  const coldNs = perMessageNs(() => {
    const p = new Pseudonymizer(rules, keys);
    return (m) => p.apply(m);
  });
  // --vault: every value behind a token is also kept, sealed, in the re-identification vault.
  const vault = args.has('--vault') ? '  vault: { enabled: true, keys: [{ id: v1, secret: bench-vault-secret-0123456789abcdef }] }\n' : '';
  const yaml = `privacy:\n  keys: [{ id: k1, secret: bench-secret-0123456789 }]\n${vault}  pseudonymize:\n${rules.map((r) => `    - { path: ${r.path}, method: ${r.method} }`).join('\n')}\n`;
  const r = await ingestAB(yaml, {
    verify: async (_base, dataDir) => {
      // Proof that it was applied: the newest event in the log carries tokens, not raw values.
      const db = new Database(join(dataDir, 'log.db'), { readonly: true });
      try {
        const e = JSON.parse(db.prepare('SELECT payload FROM log_p0 ORDER BY offset DESC LIMIT 1').pluck().get() as string) as { anonymousId: string; context: { ip: string } };
        if (!e.anonymousId.startsWith('pii:k1:') || e.context.ip !== '203.0.113.0') throw new Error(`pseudonymization was not applied: ${JSON.stringify(e).slice(0, 200)}`);
      } finally {
        db.close();
      }
    },
  });
  process.stdout.write(
    `batched ingest (100 events per request, ${SECONDS} s per run, processor off) without and with pseudonymization (anonymousId, userId, traits.plan as HMAC tokens; IP truncated${vault ? '; values kept in the vault' : ''})\n\n${r.table}\n` +
      `median ratio ${r.median.toFixed(2)}× (the issue allows ≥ 0.90×)\npseudonymizing alone, in-process (best of 5 × 100,000 workload events): ${coldNs.toFixed(0)} ns per event with no token remembered, ${warmNs.toFixed(0)} ns once they are\n`,
  );
}

/**
 * `--duplicates`: 20,000 synthetic people plus 1,000 planted duplicates (2–3 slips each: typo,
 * reversed name, other or tagged email, abbreviated street, missing phone, a move; bench/people.ts),
 * through findDuplicates: LSH candidate recall, and the reported list's recall and false
 * positives at a few thresholds, with the time taken.
 */
function duplicatesOnly(): void {
  const people = QUICK ? 5000 : 20_000;
  const planted = people / 20;
  const data = plantedPeople(people, planted);
  const t = performance.now();
  const all = findDuplicates(data.profiles, { threshold: 0, bands: 32, rows: 4 });
  const ms = performance.now() - t;
  const lsh = scoreDuplicates(all.pairs, data.planted);
  const pct = (x: number) => `${(100 * x).toFixed(1)}%`;
  const rows = [0.5, 0.55, 0.6, 0.7].map((thr) => {
    const s = scoreDuplicates(all.pairs.filter((p) => p.score >= thr), data.planted);
    return `| ${thr} | ${s.reported} | ${pct(s.recall)} | ${s.falsePositives} (${pct(s.falsePositiveRate)}) |`;
  });
  process.stdout.write(
    `${data.profiles.length.toLocaleString('en-US')} profiles, ${planted} planted duplicate pairs; 32 bands × 4 rows + a name pass + email/phone blocking\n\n` +
      `LSH candidates: ${all.candidates.toLocaleString('en-US')} pairs (of ${((data.profiles.length * (data.profiles.length - 1)) / 2).toLocaleString('en-US')}), holding ${pct(lsh.recall)} of the planted pairs; ${Math.round(ms).toLocaleString('en-US')} ms in all\n\n` +
      `| threshold | pairs reported | planted pairs found | false positives (share of reported) |\n| - | - | - | - |\n${rows.join('\n')}\n`,
  );
}

/** A fresh PostgreSQL database, NATS stream and Redis prefix for one bench phase, and how to drop them. */
async function engines(tag: string): Promise<{ env: Record<string, string>; drop: () => Promise<void> }> {
  const admin = process.env.MOSAIC_BENCH_POSTGRES_URL ?? 'postgres://postgres@127.0.0.1:5432/postgres';
  const nats = process.env.MOSAIC_BENCH_NATS_URL ?? 'nats://127.0.0.1:4222';
  const redis = process.env.MOSAIC_BENCH_REDIS_URL ?? 'redis://127.0.0.1:6379';
  const name = `mosaic_bench_${RUN}_${tag}`;
  const pg = (await import('pg')).default;
  const c = new pg.Client({ connectionString: admin });
  await c.connect();
  await c.query(`CREATE DATABASE ${name}`);
  await c.end();
  const url = new URL(admin);
  url.pathname = `/${name}`;
  const dir = mkdtempSync(join(tmpdir(), 'mosaic-bench-engines-'));
  const config = join(dir, 'mosaic.yaml');
  writeFileSync(config, `log:\n  nats: { stream: ${name.toUpperCase()}, subjectPrefix: ${name} }\ncache:\n  prefix: ${name}\n`);
  return {
    env: { MOSAIC_LOG: nats, MOSAIC_STORE: url.toString(), MOSAIC_CACHE: redis, MOSAIC_CONFIG: config },
    drop: async () => {
      const { connect } = await import('@nats-io/transport-node');
      const { jetstreamManager } = await import('@nats-io/jetstream');
      const nc = await connect({ servers: nats });
      await (await jetstreamManager(nc)).streams.delete(name.toUpperCase()).catch(() => undefined);
      await nc.close();
      const d = new pg.Client({ connectionString: admin });
      await d.connect();
      await d.query(`DROP DATABASE IF EXISTS ${name} WITH (FORCE)`);
      await d.end();
      rmSync(dir, { recursive: true, force: true });
    },
  };
}

/**
 * `--backend nats,postgres,redis`: the same ingest, freshness and profile-read figures on the
 * embedded engines and on NATS JetStream + PostgreSQL + Redis, back to back in one run, then
 * processor throughput with 1 and with 2 processor processes on the real engines.
 */
async function backendBench(): Promise<void> {
  const dir = mkdtempSync(join(tmpdir(), 'mosaic-bench-'));
  const port = 18000 + Math.floor(Math.random() * 2000);
  const base = `http://127.0.0.1:${port}`;
  const auth = { authorization: 'Basic ' + Buffer.from(`${WRITE_KEY}:`).toString('base64') };
  const rows: string[] = [];
  const n = (x: number, d = 0) => x.toLocaleString('en-US', { maximumFractionDigits: d, minimumFractionDigits: d });
  const FRESH_RATE = 20; // requests/s of 100 events: 2,000 events/s
  const figures: Record<string, { ingest: number; freshP50: number; freshP99: number; readP99: number; readServerP99: number }> = {};
  try {
    for (const which of ['embedded', 'nats,postgres,redis'] as const) {
      const e = which === 'embedded' ? undefined : await engines('serve');
      const server = start(join(dir, `data-${which === 'embedded' ? 'embedded' : 'engines'}`), port, e?.env ?? {});
      try {
        await waitFor(async () => (await fetch(`${base}/health`)).ok, 30_000, 'mosaic to start');
        say(`${which}: batched ingest…`);
        const firstSession = Math.ceil(seq / 5);
        const batched = await load({ url: `${base}/v1/batch`, seconds: SECONDS, body: nextBatch, headers: auth });
        await waitFor(async () => (await health(base)).processor.lagEvents === 0, 900_000, 'processor to catch up');
        say(`${which}: freshness at ${FRESH_RATE * BATCH} events/s…`);
        const b = await histogram(base, 'mosaic_event_to_profile_seconds');
        await pacedLoad({ url: base, method: 'POST', path: () => '/v1/batch', seconds: SECONDS, body: nextBatch, headers: auth, rate: FRESH_RATE });
        await waitFor(async () => (await health(base)).processor.lagEvents === 0, 900_000, 'processor to catch up');
        const a = await histogram(base, 'mosaic_event_to_profile_seconds');
        say(`${which}: profile reads at 2,000 requests/s…`);
        const sessions = Math.floor(seq / 5) - firstSession;
        let reader = 0;
        const rb = await histogram(base, 'mosaic_http_request_duration_seconds', 'route="/v1/profiles/:ref"');
        const reads = await pacedLoad({ url: base, method: 'GET', seconds: SECONDS, warmupSeconds: 1, rate: 2000, path: () => `/v1/profiles/anonymous_id:anon-${userOf(5 * (firstSession + ((reader++ * 7) % sessions)))}`, headers: { authorization: `Bearer ${TOKEN}` } });
        const ra = await histogram(base, 'mosaic_http_request_duration_seconds', 'route="/v1/profiles/:ref"');
        figures[which] = { ingest: batched.requestsPerSecond * BATCH, freshP50: quantile(b, a, 0.5) * 1000, freshP99: quantile(b, a, 0.99) * 1000, readP99: reads.latency.p99, readServerP99: quantile(rb, ra, 0.99) * 1000 };
      } finally {
        server.kill('SIGTERM');
        await new Promise((r) => server.once('exit', r));
        await e?.drop();
      }
    }
    const em = figures.embedded!;
    const en = figures['nats,postgres,redis']!;
    const row = (what: string, x: string, y: string, ratio: string) => rows.push(`| ${what.padEnd(36)} | ${x.padStart(14)} | ${y.padStart(20)} | ${ratio.padStart(8)} |`);
    rows.push(`| ${'measure'.padEnd(36)} | ${'embedded'.padStart(14)} | ${'nats+postgres+redis'.padStart(20)} | ${'ratio'.padStart(8)} |`, `| ${'-'.repeat(36)} | ${'-'.repeat(14)} | ${'-'.repeat(20)} | ${'-'.repeat(8)} |`);
    row('ingest, batches of 100', `${n(em.ingest)} ev/s`, `${n(en.ingest)} ev/s`, `${n(en.ingest / em.ingest, 2)}×`);
    row(`freshness p50 at ${n(FRESH_RATE * BATCH)} ev/s`, `${n(em.freshP50, 1)} ms`, `${n(en.freshP50, 1)} ms`, `${n(en.freshP50 / em.freshP50, 2)}×`);
    row(`freshness p99 at ${n(FRESH_RATE * BATCH)} ev/s`, `${n(em.freshP99, 1)} ms`, `${n(en.freshP99, 1)} ms`, `${n(en.freshP99 / em.freshP99, 2)}×`);
    row('profile read p99 at 2,000 req/s', `${n(em.readP99, 2)} ms`, `${n(en.readP99, 2)} ms`, `${n(en.readP99 / em.readP99, 2)}×`);
    row('profile read p99 inside the server', `${n(em.readServerP99, 2)} ms`, `${n(en.readServerP99, 2)} ms`, `${n(en.readServerP99 / em.readServerP99, 2)}×`);

    // Processor scaling: the same backlog applied by 1, then 2, processor processes.
    const EVENTS = QUICK ? 30_000 : 100_000;
    const rates: number[] = [];
    for (const processors of [1, 2]) {
      const e = await engines(`p${processors}`);
      const collector = start(join(dir, `collect-${processors}`), port, e.env, 'collect');
      const procs: ChildProcess[] = [];
      try {
        await waitFor(async () => (await fetch(`${base}/health`)).ok, 30_000, 'collector to start');
        say(`processors: ${n(EVENTS)} events into the log, then ${processors} processor process(es)…`);
        await load({ url: `${base}/v1/batch`, seconds: 600, amount: EVENTS / BATCH, body: nextBatch, headers: auth });
        const started = performance.now();
        for (let i = 0; i < processors; i++) procs.push(start(join(dir, `process-${processors}-${i}`), port + 10 + i, e.env, 'process'));
        await waitFor(async () => (await health(base)).processor.lagEvents === 0, 1_800_000, 'processors to catch up');
        rates.push(EVENTS / ((performance.now() - started) / 1000));
      } finally {
        for (const c of [collector, ...procs]) c.kill('SIGTERM');
        await Promise.all([collector, ...procs].map((c) => new Promise((r) => (c.exitCode !== null ? r(null) : c.once('exit', r)))));
        await e.drop();
      }
    }
    row(`processing ${n(EVENTS)} events, 1 processor`, '', `${n(rates[0]!)} ev/s`, '');
    row(`processing ${n(EVENTS)} events, 2 processors`, '', `${n(rates[1]!)} ev/s`, `${n(rates[1]! / rates[0]!, 2)}×`);
    process.stdout.write(`${rows.join('\n')}\n\n(processing includes process start-up; 8 partitions; the 2-processor ratio is against 1 processor in the same run)\n`);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

/** `--lake`: offload and a GROUP BY over 10M lake rows (1M with --quick), each against DuckDB alone on the same data. */
async function lakeOnly(): Promise<void> {
  const f = await lakeBench(QUICK ? 1_000_000 : 10_000_000, say);
  if (JSON_OUT) {
    process.stdout.write(JSON.stringify(f) + '\n');
    return;
  }
  const n = (x: number, d = 0) => x.toLocaleString('en-US', { maximumFractionDigits: d, minimumFractionDigits: d });
  process.stdout.write(
    [
      `| measure (${n(f.events)} events) | Mosaic | DuckDB alone | ratio |`,
      '| --- | --- | --- | --- |',
      `| offload to Parquet | ${n(f.offloadRowsPerSecond)} rows/s (${n(f.files)} files) | ${n(f.rawCopyRowsPerSecond)} rows/s (COPY from NDJSON to one file) | ${n(f.offloadRowsPerSecond / f.rawCopyRowsPerSecond, 2)}× |`,
      `| offload with consent checks (${n(f.consentKept)} of the events kept) | ${n(f.consentOffloadRowsPerSecond)} rows/s | ${n(f.offloadRowsPerSecond)} rows/s (without) | ${n(f.consentOffloadRowsPerSecond / f.offloadRowsPerSecond, 2)}× |`,
      `| GROUP BY type, event over the rows | ${n(f.groupByLakeMs, 1)} ms (events view) | ${n(f.groupByRawMs, 1)} ms (the one file) | ${n(f.groupByLakeMs / f.groupByRawMs, 2)}× |`,
    ].join('\n') + '\n',
  );
}

/** pacedLoad in a process of its own (see paced-load-child.ts). */
async function pacedLoadInChild(o: ChildLoad): Promise<PacedResult> {
  const child = spawn(process.execPath, [join(import.meta.dirname, 'paced-load-child.js'), JSON.stringify(o)], { stdio: ['ignore', 'pipe', 'inherit'] });
  let out = '';
  child.stdout!.on('data', (d: Buffer) => (out += d.toString()));
  const code = await new Promise<number | null>((r) => child.once('exit', r));
  if (code !== 0) throw new Error(`the generator process exited with ${code}`);
  return JSON.parse(out) as PacedResult;
}

/**
 * `--decide`: the decision API on the embedded default. A generated shop (2,000 items, 10,000
 * people, ~130k interactions) is sent through the tracking API and processed; then POST
 * /v1/decide for the default blend (co-occurrence, content, affinity, popularity) at 1,000
 * requests/s (paced, open loop, from a generator process of its own) and at the most the
 * server answers (32 connections), 4 in 5 for known people, 1 in 5 for unknown visitors. Then
 * the offline metrics of each strategy.
 */
async function decideOnly(): Promise<void> {
  const { syntheticShop, SHOP_SIGNAL_SETTINGS } = await import('../src/personalize/synthetic.js');
  const { evaluateRecommendations, BASELINES } = await import('../src/personalize/evaluate.js');
  const { HashingEmbedder } = await import('../src/adapters/hashing/embedder.js');
  const dir = mkdtempSync(join(tmpdir(), 'mosaic-bench-'));
  const port = 18000 + Math.floor(Math.random() * 2000);
  const base = `http://127.0.0.1:${port}`;
  const users = QUICK ? 2000 : 10_000;
  const shop = syntheticShop({ users, itemsPerCategory: 250, seed: 1, start: Date.now() - 30 * 86_400_000 });
  const configFile = join(dir, 'decide.yaml');
  // The lake copy runs every 5 s, so it has caught up before the measurement instead of starting in it.
  writeFileSync(configFile, 'lake: { offloadIntervalSeconds: 5 }\npersonalization:\n  placements:\n    home: { strategy: { cooccurrence: 3, content: 1, affinity: 1, popular: 1 } }\n    popular: { strategy: { popular: 1 } }\n');
  const server = start(join(dir, 'data'), port, { MOSAIC_CONFIG: configFile });
  const admin = { authorization: `Bearer ${TOKEN}`, 'content-type': 'application/json' };
  try {
    await waitFor(async () => (await fetch(`${base}/health`)).ok, 20_000, 'mosaic to start');
    say(`decide: loading ${shop.items.length} items and ${shop.events.length} interactions of ${users} people…`);
    for (let i = 0; i < shop.items.length; i += 1000) {
      const r = await fetch(`${base}/v1/items`, { method: 'PUT', headers: admin, body: JSON.stringify({ items: shop.items.slice(i, i + 1000) }) });
      if (!r.ok) throw new Error(`items: ${r.status} ${await r.text()}`);
    }
    const auth = { authorization: 'Basic ' + Buffer.from(`${WRITE_KEY}:`).toString('base64'), 'content-type': 'application/json' };
    for (let i = 0; i < shop.events.length; i += 500) {
      const batch = shop.events.slice(i, i + 500).map(({ type, event, userId, messageId, timestamp, properties }) => ({ type, event, userId, messageId, timestamp, properties }));
      const r = await fetch(`${base}/v1/batch`, { method: 'POST', headers: auth, body: JSON.stringify({ batch }) });
      if (!r.ok) throw new Error(`batch: ${r.status} ${await r.text()}`);
    }
    // Sent: the generator lets go of them. Its own collections of a large heap (tens of ms at a
    // time) held up its requests, which then reached the server in a burst.
    const itemCount = shop.items.length;
    shop.events.length = 0;
    const gauge = async (name: string) => Number(new RegExp(`^${name} (\\S+)`, 'm').exec(await (await fetch(`${base}/metrics`)).text())?.[1] ?? NaN);
    await waitFor(async () => (await health(base)).processor.lagEvents === 0 && (await gauge('mosaic_personalization_lag_events')) === 0 && (await gauge('mosaic_item_index_items')) === itemCount, 600_000, 'profiles, signals and the item index to catch up');
    await new Promise((r) => setTimeout(r, 6000));
    await waitFor(async () => (await gauge('mosaic_lake_offload_lag_events')) === 0, 600_000, 'the lake copy to catch up');

    const body = decideBodies(users, 'home');
    say('decide: warming up…');
    await pacedLoad({ url: base, method: 'POST', path: () => '/v1/decide', body, headers: admin, rate: 500, seconds: 3 });
    const rows: string[] = [];
    const before = await histogram(base, 'mosaic_decide_seconds');
    say('decide: 1,000 requests/s…');
    const paced = await pacedLoadInChild({ url: base, path: '/v1/decide', decide: { users, placement: 'home' }, headers: admin, rate: 1000, seconds: SECONDS * 2, warmupSeconds: 1 });
    const after = await histogram(base, 'mosaic_decide_seconds');
    const bad = Object.entries(paced.statusCodes).filter(([c]) => c !== '200');
    if (bad.length || paced.errors) say(`  non-200 answers: ${JSON.stringify(paced.statusCodes)}, errors ${paced.errors}`);
    say('decide: as fast as it answers (32 connections)…');
    const flat = await load({ url: `${base}/v1/decide`, seconds: SECONDS, body, headers: admin });
    // The same requests for popular items only: the floor set by HTTP, the profile read and the answer.
    const popular = await load({ url: `${base}/v1/decide`, seconds: SECONDS, body: () => body().replace('"placement":"home"', '"placement":"popular"'), headers: admin });
    const n = (x: number, d = 1) => x.toLocaleString('en-US', { maximumFractionDigits: d, minimumFractionDigits: d });
    rows.push('| load | answered | p50 | p99 | server p50 / p99 (decision only) |', '| --- | --- | --- | --- | --- |');
    rows.push(`| paced 1,000 req/s, ${SECONDS * 2} s | ${n(paced.requestsPerSecond, 0)} req/s | ${n(paced.latency.p50, 2)} ms | ${n(paced.latency.p99, 2)} ms | ${n(quantile(before, after, 0.5) * 1000, 2)} / ${n(quantile(before, after, 0.99) * 1000, 2)} ms |`);
    rows.push(`| flat out, 32 connections, ${SECONDS} s | ${n(flat.requestsPerSecond, 0)} req/s | ${n(flat.latency.p50, 2)} ms | ${n(flat.latency.p99, 2)} ms | |`);
    rows.push(`| flat out, popular items only (the floor) | ${n(popular.requestsPerSecond, 0)} req/s | ${n(popular.latency.p50, 2)} ms | ${n(popular.latency.p99, 2)} ms | |`);

    say('offline: leave-last-out on a generated shop (1,000 people)…');
    const ev = syntheticShop({ users: 1000, seed: 42 });
    const e = await evaluateRecommendations(ev.events, ev.items, SHOP_SIGNAL_SETTINGS, { ...BASELINES, 'default blend': { cooccurrence: 3, content: 1, affinity: 1, popular: 1 } }, { embedder: new HashingEmbedder(256) });
    const pop = e.results.find((r) => r.name === 'popular')!;
    rows.push('', `| strategy (${e.people} people, leave-last-out) | HR@10 | NDCG@10 | NDCG vs popular |`, '| --- | --- | --- | --- |');
    for (const r of [...e.results].sort((a, b) => b.ndcg - a.ndcg)) rows.push(`| ${r.name} | ${n(r.hitRate, 3)} | ${n(r.ndcg, 3)} | ${n(r.ndcg / pop.ndcg, 2)}× |`);
    if (JSON_OUT) process.stdout.write(JSON.stringify({ paced, flat, serverP50: quantile(before, after, 0.5), serverP99: quantile(before, after, 0.99), offline: e }) + '\n');
    else process.stdout.write(rows.join('\n') + '\n');
  } finally {
    server.kill('SIGTERM');
    await new Promise((r) => server.once('exit', r));
    rmSync(dir, { recursive: true, force: true });
  }
}

const freshnessRate = process.argv.indexOf('--freshness');
const roundsAt = process.argv.indexOf('--rounds');
const ROUNDS = roundsAt >= 0 ? Math.max(1, Number(process.argv[roundsAt + 1]) || 3) : 3;
const backend = process.argv.indexOf('--backend');
if (backend >= 0 && process.argv[backend + 1] !== 'nats,postgres,redis') throw new Error('--backend takes nats,postgres,redis (the engines are tested together)');
(args.has('--decide') ? decideOnly() : args.has('--privacy') ? privacyOnly() : args.has('--duplicates') ? Promise.resolve(duplicatesOnly()) : args.has('--plan') ? planOnly() : args.has('--lake') ? lakeOnly() : backend >= 0 ? backendBench() : freshnessRate >= 0 ? freshnessOnly(Number(process.argv[freshnessRate + 1]) || 10_000) : main()).catch((err: unknown) => {
  process.stderr.write(`bench failed: ${(err as Error).stack ?? String(err)}\n`);
  process.exit(1);
});
