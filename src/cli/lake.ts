import { writeFileSync } from 'node:fs';
import { resolve } from 'node:path';
import { lockDataDir } from '../app.js';
import { backends, openEventLog, openProfileStore } from '../adapters/from-config.js';
import type { Config } from '../config.js';
import { MosaicError } from '../errors.js';
import { applyRetention, compactLake } from '../lake/compact.js';
import { Offloader } from '../lake/offload.js';
import { configuredLakeAdmission } from '../privacy/consent-gate.js';
import { snapshotProfiles } from '../lake/snapshot.js';
import { identityRules, profileModel } from '../process/profile-model.js';
import { Warehouse, type QueryResult } from '../lake/warehouse.js';
import { createLogger } from '../observe/logger.js';

export function lakeDir(config: Config): string {
  return config.lake.dir!;
}

/** `mosaic offload --once`: copies what the log holds to the lake, with progress, writes the profile snapshot, and exits. */
export async function runOffloadOnce(config: Config): Promise<void> {
  const logger = createLogger(config.logLevel);
  // The embedded log has one user per data dir: a running `mosaic up` offloads on its own.
  const unlock = backends(config).log === 'sqlite' ? lockDataDir(config.dataDir) : () => undefined;
  const unlockLake = lockDataDir(lakeDir(config));
  const log = await openEventLog(config, 'replay');
  const store = await openProfileStore(config);
  try {
    const offloader = new Offloader(log, { lakeDir: lakeDir(config), chunkEvents: config.lake.chunkEvents, logger, admission: configuredLakeAdmission(config, store, await identityRules(config, store)) });
    const behind = await offloader.lag();
    const started = performance.now();
    let last = 0;
    const copied = await offloader.run((p) => {
      const now = performance.now();
      if (now - last < 500) return;
      last = now;
      process.stderr.write(`\roffload: ${p.events}${log.capabilities.offsetStride === 1 ? `/${behind}` : ''} events, ${p.files} files (partition ${p.partition})`);
    });
    const seconds = (performance.now() - started) / 1000;
    process.stderr.write(`\roffload: ${copied} events copied to ${lakeDir(config)} in ${seconds.toFixed(1)} s${' '.repeat(20)}\n`);
    const waiting = await offloader.lag();
    if (waiting) process.stderr.write(`offload: ${waiting} events wait for the processor (the lake copies what it has applied: consent is judged on profiles); run mosaic up or mosaic process\n`);
    process.stderr.write('offload: writing the profile snapshot…');
    const { profiles } = await snapshotProfiles(store, profileModel(config), lakeDir(config));
    process.stderr.write(`\roffload: profile snapshot of ${profiles} profiles written${' '.repeat(10)}\n`);
  } finally {
    await store.close();
    await log.close();
    unlockLake();
    unlock();
  }
}

export async function runCompact(config: Config, before: string): Promise<void> {
  if (!/^\d{4}-\d{2}-\d{2}$/.test(before)) throw new MosaicError('MOSAIC_BAD_REQUEST', { message: `--before takes a date as YYYY-MM-DD (got "${before}").` });
  const unlock = lockDataDir(lakeDir(config));
  try {
    const r = await compactLake(lakeDir(config), { before });
    process.stderr.write(`compact: ${r.filesMerged} files merged into ${r.folders} (${r.rows} rows)\n`);
  } finally {
    unlock();
  }
}

export async function runRetention(config: Config): Promise<void> {
  const unlock = lockDataDir(lakeDir(config));
  try {
    const r = await applyRetention(lakeDir(config), config.lake.retentionDays);
    process.stderr.write(`retention: ${r.folders} folders (${r.rows} rows) dropped${Object.keys(config.lake.retentionDays).length ? '' : ' — lake.retentionDays is empty: events are kept forever'}\n`);
  } finally {
    unlock();
  }
}

export type SqlFormat = 'table' | 'csv' | 'json' | 'parquet';

/** `mosaic sql "<query>"`: the warehouse's answer as a table, CSV, JSON, or a Parquet file. */
export async function runSql(config: Config, sql: string, opts: { format: SqlFormat; output?: string }): Promise<void> {
  if (opts.format === 'parquet' && !opts.output) throw new MosaicError('MOSAIC_BAD_REQUEST', { message: '--format parquet needs --output <file.parquet>.' });
  const output = opts.output ? resolve(opts.output) : undefined;
  const warehouse = await Warehouse.open(lakeDir(config), opts.format === 'parquet' ? { writableFile: output! } : {});
  try {
    if (opts.format === 'parquet') {
      await warehouse.exportParquet(sql, output!);
      process.stderr.write(`wrote ${output}\n`);
      return;
    }
    const text = formatResult(await warehouse.query(sql), opts.format);
    if (output) writeFileSync(output, text);
    else process.stdout.write(text);
  } finally {
    warehouse.close();
  }
}

export function formatResult(r: QueryResult, format: Exclude<SqlFormat, 'parquet'>): string {
  if (format === 'json') return `${JSON.stringify(r.rows.map((row) => Object.fromEntries(r.columns.map((c, i) => [c, row[i]]))))}\n`;
  const cell = (v: unknown) => (v === null || v === undefined ? '' : typeof v === 'string' ? v : JSON.stringify(v));
  if (format === 'csv') {
    const quote = (s: string) => (/[",\n\r]/.test(s) ? `"${s.replaceAll('"', '""')}"` : s);
    return [r.columns, ...r.rows.map((row) => row.map(cell))].map((line) => line.map(quote).join(',')).join('\n') + '\n';
  }
  const cells = r.rows.map((row) => row.map((v) => (v === null ? 'NULL' : cell(v))));
  const widths = r.columns.map((c, i) => Math.min(60, Math.max(c.length, ...cells.map((row) => row[i]!.length))));
  const line = (vals: string[]) => vals.map((v, i) => (v.length > widths[i]! ? `${v.slice(0, widths[i]! - 1)}…` : v.padEnd(widths[i]!))).join(' | ');
  return [line(r.columns), widths.map((w) => '-'.repeat(w)).join('-+-'), ...cells.map(line), `(${r.rows.length} row${r.rows.length === 1 ? '' : 's'})`].join('\n') + '\n';
}
