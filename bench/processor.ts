/**
 * npm run bench:processor [-- --events N]
 *
 * The processor alone, in this process: the workload of `npm run bench` applied in batches
 * through the real batch path (identity resolution, parts, computed traits, audiences, one
 * SQLite transaction per batch) on a fresh store, without the collector, HTTP or the log.
 * Batches of 100 are what the live processor sees at moderate load; 10,000 what a replay sees.
 * The profile store as the processor opens it (synchronous=NORMAL, WAL checkpoints in a thread
 * of their own) is shown next to NORMAL with SQLite's own checkpoints inside the commits, and
 * synchronous=OFF, to size what the checkpoints' fsyncs cost and what the thread wins back.
 */
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { SqliteProfileStore } from '../src/adapters/sqlite/profile-store.js';
import { loadConfig } from '../src/config.js';
import type { Envelope } from '../src/core/envelope.js';
import { applyBatch, MembershipCache, PartCache } from '../src/process/apply-batch.js';
import { eventEnricher, identityRules, profileModel } from '../src/process/profile-model.js';
import { TEN_AUDIENCES, TEN_TRAITS, message } from './workload.js';

const argv = process.argv.slice(2);
const EVENTS = Number(argv[argv.indexOf('--events') + 1] ?? 0) || 60_000;

type StoreSetting = 'NORMAL, bg ckpt' | 'NORMAL' | 'OFF';

async function run(model: 'plain' | 'traits' | 'traits+audiences', batch: number, sync: StoreSetting): Promise<number> {
  const dir = mkdtempSync(join(tmpdir(), 'mosaic-bench-processor-'));
  try {
    const file = join(dir, 'mosaic.yaml');
    writeFileSync(file, model === 'plain' ? '' : model === 'traits' ? TEN_TRAITS : TEN_TRAITS + TEN_AUDIENCES);
    const config = loadConfig({ env: {}, file, overrides: { dataDir: dir, logLevel: 'silent' } });
    const store = new SqliteProfileStore({ dir, sync: sync === 'OFF' ? 'off' : 'normal', checkpoint: sync === 'NORMAL, bg ckpt' ? 'background' : 'inline' });
    const rules = await identityRules(config, store);
    const m = profileModel(config, eventEnricher(config));
    const cache = new PartCache(config.processor.cachedParts);
    const memberships = new MembershipCache(config.processor.cachedParts);
    const started = performance.now();
    for (let i = 0; i < EVENTS; i += batch) {
      const events: Envelope[] = [];
      for (let n = i; n < Math.min(EVENTS, i + batch); n++) {
        const e = JSON.parse(message(n, 'p')) as Envelope;
        e.receivedAt = e.timestamp;
        e.sourceId = 'src_bench';
        events.push(e);
      }
      await applyBatch(store, events, new Map([[0, i + batch]]), rules, m, { emit: true, cache, memberships, refs: events.map((_, k) => ({ partition: 0, offset: i + k + 1 })) });
    }
    const rate = EVENTS / ((performance.now() - started) / 1000);
    await store.close();
    return rate;
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

// A throwaway cell first: the first one measured otherwise pays for the JIT's warm-up.
await run('traits+audiences', 100, 'NORMAL');
const rows: string[] = ['| batch  | store           | plain        | 10 traits            | 10 traits + 10 audiences |', '| ------ | --------------- | ------------ | -------------------- | ------------------------ |'];
const n = (x: number) => Math.round(x).toLocaleString('en-US');
for (const batch of [100, 10_000]) {
  for (const sync of ['NORMAL, bg ckpt', 'NORMAL', 'OFF'] as const) {
    process.stderr.write(`batches of ${batch}, synchronous=${sync}…\n`);
    const plain = await run('plain', batch, sync);
    const traits = await run('traits', batch, sync);
    const all = await run('traits+audiences', batch, sync);
    rows.push(`| ${String(batch).padEnd(6)} | ${sync.padEnd(15)} | ${`${n(plain)} ev/s`.padEnd(12)} | ${`${n(traits)} ev/s (${Math.round((100 * traits) / plain)}%)`.padEnd(20)} | ${`${n(all)} ev/s (${Math.round((100 * all) / plain)}%)`.padEnd(24)} |`);
  }
}
process.stdout.write(`${EVENTS.toLocaleString('en-US')} events per cell, in-process\n\n${rows.join('\n')}\n`);
