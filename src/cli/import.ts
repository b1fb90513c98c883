import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import cliProgress from 'cli-progress';
import { parse as parseYaml } from 'yaml';
import { importDefinition, type Config } from '../config.js';
import { MosaicError } from '../errors.js';
import { importHistory, runImport, type ImportSummary } from '../lake/imports/run-import.js';
import type { ImportDef } from '../lake/imports/sources.js';

export interface ImportCliOptions {
  url?: string;
  writeKey?: string;
  mapping?: string;
  name?: string;
  incremental?: string;
  table?: string;
  items?: string;
  nextCursor?: string;
}

export const importStateDir = (config: Config) => join(config.dataDir, 'imports');

/** The import named in the configuration. */
export function namedImport(config: Config, name: string): ImportDef {
  const def = config.imports.find((i) => i.name === name);
  if (!def) throw new MosaicError('MOSAIC_BAD_REQUEST', { message: `No import named "${name}" in the configuration (${config.imports.map((i) => i.name).join(', ') || 'none is defined'}).` });
  return def;
}

/** An import described on the command line: `mosaic import csv users.csv --mapping users.yaml`. */
export function adHocImport(kind: string, from: string, o: ImportCliOptions): ImportDef {
  if (!o.mapping) throw new MosaicError('MOSAIC_BAD_REQUEST', { message: '--mapping <file.yaml> is required: which fields become userId, traits, event, timestamp (see docs/imports.md).' });
  const mapping = parseYaml(readFileSync(o.mapping, 'utf8')) as unknown;
  const source =
    kind === 'csv' || kind === 'jsonl' ? { kind, file: from } : kind === 'postgres' ? { kind, url: from, table: o.table } : kind === 'http' ? { kind, url: from, ...(o.items ? { items: o.items } : {}), ...(o.nextCursor ? { nextCursor: o.nextCursor } : {}) } : undefined;
  if (!source) throw new MosaicError('MOSAIC_BAD_REQUEST', { message: `Unknown source "${kind}": csv, jsonl, postgres or http.` });
  const name = o.name ?? `${kind}-${from.replace(/^.*[/\\]/, '').replace(/[^A-Za-z0-9_-]/g, '_')}`.slice(0, 60);
  return importDefinition({ name, source, mapping, ...(o.incremental ? { incremental: { field: o.incremental } } : {}) }, '');
}

/** Runs an import with a progress bar and a summary; exits non-zero when rows were rejected. */
export async function runImportCli(config: Config, def: ImportDef, o: ImportCliOptions): Promise<void> {
  const writeKey = o.writeKey ?? config.writeKey;
  if (!writeKey) throw new MosaicError('MOSAIC_BAD_REQUEST', { message: 'No write key: pass --write-key or set MOSAIC_WRITE_KEY (the key Mosaic printed at first start).' });
  const bar = new cliProgress.SingleBar({ format: `import ${def.name} [{bar}] {percentage}% | {value}/{total} {unit} | accepted {accepted}, unchanged {unchanged}, rejected {rejected}`, stream: process.stderr, hideCursor: true }, cliProgress.Presets.shades_classic);
  let started = false;
  const summary = await runImport(def, {
    url: o.url ?? `http://127.0.0.1:${config.port}`,
    writeKey,
    stateDir: importStateDir(config),
    onProgress: ({ done, total, unit, summary: s }) => {
      const payload = { unit: unit ?? 'rows', accepted: s.accepted, unchanged: s.unchanged, rejected: s.rejected };
      if (!started) {
        started = true;
        bar.start(total ?? 0, done, payload);
      }
      if (total === undefined) bar.setTotal(done);
      bar.update(done, payload);
    },
  }).finally(() => started && bar.stop());
  process.stderr.write(describe(def.name, summary));
  if (summary.rejected) process.exitCode = 1;
}

export function describe(name: string, s: ImportSummary): string {
  const lines = [`import ${name}: ${s.read} rows read, ${s.accepted} accepted, ${s.unchanged} unchanged (imported before), ${s.rejected} rejected`];
  for (const [reason, n] of Object.entries(s.reasons).sort((a, b) => b[1] - a[1]).slice(0, 20)) lines.push(`  ${n} × ${reason}`);
  if (s.watermark && Object.keys(s.watermark).length) lines.push(`  next run starts after ${JSON.stringify(s.watermark)}`);
  return lines.join('\n') + '\n';
}

export function printImportHistory(config: Config, name: string): void {
  const runs = importHistory(importStateDir(config), name);
  if (runs.length === 0) {
    process.stdout.write(`import ${name}: no run yet\n`);
    return;
  }
  for (const r of runs) process.stdout.write(`${r.started}  ${r.status.padEnd(24)}  ${r.summary ? `${r.summary.read} read, ${r.summary.accepted} accepted, ${r.summary.unchanged} unchanged, ${r.summary.rejected} rejected` : ''}\n`);
}
