import { createReadStream, statSync } from 'node:fs';
import { createInterface } from 'node:readline';
import cliProgress from 'cli-progress';
import { parse as parseCsv } from 'csv-parse';
import { openItemStore } from '../adapters/from-config.js';
import type { Config } from '../config.js';
import { parseItem, type Item } from '../core/items.js';
import { MosaicError } from '../errors.js';

const CHUNK = 1000;

export interface ItemImportSummary {
  read: number;
  imported: number;
  rejected: { line: number; problems: string[] }[];
}

/** Rows of a CSV (header line: field names) or JSONL file, with their line numbers. */
async function* rows(file: string, format: 'csv' | 'jsonl', onBytes: (n: number) => void): AsyncGenerator<{ line: number; row: unknown }> {
  const stream = createReadStream(file);
  stream.on('data', (chunk) => onBytes(chunk.length));
  if (format === 'jsonl') {
    let line = 0;
    for await (const text of createInterface({ input: stream, crlfDelay: Infinity })) {
      line++;
      if (!text.trim()) continue;
      try {
        yield { line, row: JSON.parse(text) as unknown };
      } catch {
        yield { line, row: Symbol.for('invalid json') };
      }
    }
    return;
  }
  const parser = stream.pipe(parseCsv({ columns: true, bom: true, skip_empty_lines: true, trim: true, relax_column_count: false, info: true }));
  for await (const rec of parser as AsyncIterable<{ record: Record<string, string>; info: { lines: number } }>) {
    // JSON in a CSV cell ("attributes" as {"colour":"red"}) is read as JSON.
    const r: Record<string, unknown> = { ...rec.record };
    if (typeof r.attributes === 'string' && r.attributes.startsWith('{')) {
      try {
        r.attributes = JSON.parse(r.attributes as string);
      } catch {
        // left as text: parseItem names the problem
      }
    }
    yield { line: rec.info.lines, row: r };
  }
}

/**
 * `mosaic import items <file>`: loads a catalog from CSV or JSONL straight into the item store
 * (SQLite beside a running Mosaic, or PostgreSQL), in chunks, with progress. Valid rows are
 * imported; each invalid one is reported by line and the command exits non-zero.
 */
export async function importItems(config: Config, file: string, o: { format?: string; quiet?: boolean } = {}): Promise<ItemImportSummary> {
  const format = (o.format ?? (file.toLowerCase().endsWith('.csv') ? 'csv' : file.toLowerCase().match(/\.(jsonl|ndjson)$/) ? 'jsonl' : undefined)) as 'csv' | 'jsonl' | undefined;
  if (format !== 'csv' && format !== 'jsonl') throw new MosaicError('MOSAIC_BAD_REQUEST', { message: `Cannot tell the format of ${file}: name it .csv or .jsonl, or pass --format csv|jsonl.` });
  let size: number;
  try {
    size = statSync(file).size;
  } catch {
    throw new MosaicError('MOSAIC_BAD_REQUEST', { message: `No file ${file}.` });
  }
  const store = await openItemStore(config);
  const bar = o.quiet ? undefined : new cliProgress.SingleBar({ format: 'items [{bar}] {percentage}% | {imported} imported, {rejected} rejected', stream: process.stderr, hideCursor: true }, cliProgress.Presets.shades_classic);
  const summary: ItemImportSummary = { read: 0, imported: 0, rejected: [] };
  let bytes = 0;
  bar?.start(size, 0, { imported: 0, rejected: 0 });
  let chunk: Item[] = [];
  const flush = async () => {
    if (!chunk.length) return;
    // The last row of an id wins, as in the file's order.
    await store.upsertItems(chunk);
    summary.imported += chunk.length;
    chunk = [];
    bar?.update(bytes, { imported: summary.imported, rejected: summary.rejected.length });
  };
  try {
    for await (const { line, row } of rows(file, format, (n) => (bytes += n))) {
      summary.read++;
      const parsed = typeof row === 'symbol' ? { problems: [{ path: '/', message: 'not valid JSON' }] } : parseItem(row);
      if ('problems' in parsed) summary.rejected.push({ line, problems: parsed.problems.map((p) => `${p.path.replace(/^\//, '') || 'row'}: ${p.message}`) });
      else chunk.push(parsed.item);
      if (chunk.length >= CHUNK) await flush();
    }
    await flush();
  } finally {
    bar?.update(size, { imported: summary.imported, rejected: summary.rejected.length });
    bar?.stop();
    await store.close();
  }
  return summary;
}

export async function importItemsCli(config: Config, file: string, o: { format?: string }): Promise<void> {
  const s = await importItems(config, file, o);
  const lines = [`items: ${s.read} rows read, ${s.imported} imported, ${s.rejected.length} rejected`];
  for (const r of s.rejected.slice(0, 20)) lines.push(`  line ${r.line}: ${r.problems.join('; ')}`);
  if (s.rejected.length > 20) lines.push(`  … and ${s.rejected.length - 20} more`);
  process.stderr.write(lines.join('\n') + '\n');
  if (s.rejected.length) process.exitCode = 1;
}
