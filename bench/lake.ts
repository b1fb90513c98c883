/**
 * The lake's figures, each next to DuckDB doing the same work on the same data in the same run:
 * offload rows/s against DuckDB's own COPY of the same events from newline-delimited JSON to one
 * Parquet file (and against itself with the consent checks), and a GROUP BY over the lake's `events` view against the same query over that
 * one file.
 */
import { createWriteStream, mkdtempSync, rmSync, statSync } from 'node:fs';
import { once } from 'node:events';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { SqliteEventLog } from '../src/adapters/sqlite/event-log.js';
import { openDuckDb, sqlString } from '../src/adapters/duckdb/duckdb.js';
import { COLUMNS, Offloader } from '../src/lake/offload.js';
import { readManifest } from '../src/lake/manifest.js';
import { Warehouse } from '../src/lake/warehouse.js';
import { message, USERS } from './workload.js';
import { SqliteProfileStore } from '../src/adapters/sqlite/profile-store.js';
import { ALWAYS_PERSONAL_PATHS } from '../src/core/consent.js';
import type { Envelope } from '../src/core/envelope.js';
import { DEFAULT_IDENTIFIER_TYPES, IdentityRules } from '../src/core/identity.js';
import { applyBatch } from '../src/process/apply-batch.js';
import { ConsentGate, lakeAdmission } from '../src/privacy/consent-gate.js';

export interface LakeFigures {
  events: number;
  files: number;
  offloadRowsPerSecond: number;
  /** The same offload with the lake's consent checks (events read per second), and how many it kept. */
  consentOffloadRowsPerSecond: number;
  consentKept: number;
  rawCopyRowsPerSecond: number;
  groupByLakeMs: number;
  groupByRawMs: number;
}

const QUERY = (from: string) => `SELECT type, event, count(*) AS n, sum((properties->>'price')::DOUBLE) AS revenue FROM ${from} GROUP BY ALL ORDER BY ALL`;

export async function lakeBench(events: number, say: (s: string) => void): Promise<LakeFigures> {
  const dir = mkdtempSync(join(tmpdir(), 'mosaic-bench-lake-'));
  const run = Date.now().toString(36);
  try {
    const log = await SqliteEventLog.open({ dir, partitions: 8, dedupWindowMs: 3_600_000, sync: 'normal', maxPendingEvents: 100_000, writer: 'inline' });
    const ndjson = join(dir, 'events.ndjson');
    const out = createWriteStream(ndjson);
    try {
      for (let n = 0; n < events; n += 5000) {
        const batch = Array.from({ length: Math.min(5000, events - n) }, (_, k) => ({ partition: (n + k) % 8, sourceId: 'bench', messageId: `${run}-${n + k}`, receivedAtMs: Date.UTC(2026, 10, 1), payload: message(n + k, run) }));
        await log.append(batch);
        if (!out.write(batch.map((r) => r.payload).join('\n') + '\n')) await once(out, 'drain');
        if (n % 1_000_000 === 0) say(`lake: ${n.toLocaleString('en-US')} of ${events.toLocaleString('en-US')} events in the log…`);
      }
      out.end();
      await once(out, 'finish');

      say('lake: offload…');
      const lakeDir = join(dir, 'lake');
      let started = performance.now();
      const copied = await new Offloader(log, { lakeDir, chunkEvents: 250_000 }).run();
      const offloadSeconds = (performance.now() - started) / 1000;
      if (copied !== events) throw new Error(`offloaded ${copied} of ${events} events`);

      say(`lake: ${USERS.toLocaleString('en-US')} profiles, one in ten without analytics consent…`);
      const store = new SqliteProfileStore({ dir: join(dir, 'profiles') });
      let consentOffloadSeconds: number;
      let kept: number;
      try {
        const rules = new IdentityRules(DEFAULT_IDENTIFIER_TYPES, 'bench-hash-key');
        for (let u = 0; u < USERS; u += 2000) {
          const batch = Array.from({ length: Math.min(2000, USERS - u) }, (_, k) => {
            const id = u + k;
            return { type: 'identify', anonymousId: `anon-${id}`, messageId: `${run}-c${id}`, timestamp: '2026-10-31T00:00:00.000Z', receivedAt: '2026-10-31T00:00:00.000Z', sourceId: 'bench', context: { consent: { categoryPreferences: { analytics: id % 10 !== 0 } } } } as Envelope;
          });
          await applyBatch(store, batch, new Map(), rules, {});
        }
        // As if the processor had applied the whole log: the lake copies only what it has.
        await store.commit({ offsets: new Map((await log.endOffsets()).map((end, p) => [p, end])) });
        say('lake: offload with consent checks…');
        const gate = new ConsentGate(store, rules, {});
        started = performance.now();
        kept = await new Offloader(log, { lakeDir: join(dir, 'lake-consent'), chunkEvents: 250_000, admission: lakeAdmission(gate, { mode: 'drop', personalPaths: ALWAYS_PERSONAL_PATHS }) }).run();
        consentOffloadSeconds = (performance.now() - started) / 1000;
      } finally {
        await store.close();
      }

      say("lake: DuckDB's own COPY of the same events…");
      const duck = await openDuckDb({ tempDirectory: join(dir, 'tmp') });
      const raw = join(dir, 'raw.parquet');
      let rawSeconds: number;
      try {
        started = performance.now();
        await duck.connection.run(`COPY (SELECT ${COLUMNS} FROM (SELECT json AS j, 0 AS p, 0::BIGINT AS o FROM read_ndjson_objects(${sqlString(ndjson)}))) TO ${sqlString(raw)} (FORMAT parquet, COMPRESSION zstd)`);
        rawSeconds = (performance.now() - started) / 1000;
      } finally {
        duck.close();
      }
      say(`lake: GROUP BY over ${events.toLocaleString('en-US')} rows, the lake and the one file…`);
      /** Best of three, on a warehouse opened over `root` (which must hold what the query reads). */
      const best = async (root: string, sql: string) => {
        const w = await Warehouse.open(root);
        try {
          let ms = Infinity;
          for (let i = 0; i < 3; i++) {
            const t = performance.now();
            await w.query(sql);
            ms = Math.min(ms, performance.now() - t);
          }
          return ms;
        } finally {
          w.close();
        }
      };
      const groupByRawMs = await best(dir, QUERY(`read_parquet(${sqlString(raw)})`));
      const groupByLakeMs = await best(lakeDir, QUERY('events'));
      say(`lake: ${readManifest(lakeDir).files.length} files, raw file ${(statSync(raw).size / 1e6).toFixed(0)} MB`);
      return { events, files: readManifest(lakeDir).files.length, offloadRowsPerSecond: events / offloadSeconds, consentOffloadRowsPerSecond: events / consentOffloadSeconds, consentKept: kept, rawCopyRowsPerSecond: events / rawSeconds, groupByLakeMs, groupByRawMs };
    } finally {
      await log.close();
    }
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}
