import { createReadStream, statSync } from 'node:fs';
import { createInterface } from 'node:readline';
import { parse } from 'csv-parse';
import pg from 'pg';
import type { Config } from '../../config.js';
import { MosaicError } from '../../errors.js';
import { field, type Row } from './mapping.js';

export type ImportDef = Config['imports'][number];

/** Where the last run stopped: the incremental field's value (and, ordered by it, the row key), or an API cursor. */
export interface Watermark {
  value?: unknown;
  key?: unknown;
  cursor?: string;
}

/** A row, or a line that is not one (with why); `done` is progress in the source's unit. */
export type SourceItem = ({ row: Row } | { reason: string }) & { done: number; mark?: Watermark };

export interface RowSource {
  /** How much there is to read, for the progress bar (undefined: unknown). */
  size(): Promise<{ total: number; unit: 'bytes' | 'rows' } | undefined>;
  items(): AsyncIterable<SourceItem>;
  close(): Promise<void>;
}

/** Incremental values compare as numbers, as times when both read as ISO times, else as text. */
export function after(v: unknown, mark: unknown): boolean {
  if (mark === undefined || mark === null) return true;
  if (v === undefined || v === null || v === '') return false;
  if (typeof v === 'number' && typeof mark === 'number') return v > mark;
  const a = v instanceof Date ? v.getTime() : Date.parse(String(v));
  const b = mark instanceof Date ? mark.getTime() : Date.parse(String(mark));
  if (!Number.isNaN(a) && !Number.isNaN(b) && /\d{4}-\d{2}-\d{2}/.test(String(v)) && /\d{4}-\d{2}-\d{2}/.test(String(mark))) return a > b;
  const x = Number(v);
  const y = Number(mark);
  if (!Number.isNaN(x) && !Number.isNaN(y) && String(v).trim() !== '' && String(mark).trim() !== '') return x > y;
  return String(v) > String(mark);
}

export function openSource(def: ImportDef, mark: Watermark): RowSource {
  const inc = def.incremental?.field;
  const keep = (row: Row) => !inc || after(field(row, inc), mark.value);
  const src = def.source;
  switch (src.kind) {
    case 'csv':
    case 'jsonl':
      return fileSource(src.file, src.kind, src.kind === 'csv' ? src.delimiter : undefined, keep, inc);
    case 'postgres':
      return postgresSource(src.url, src.table, def, mark);
    case 'http':
      return httpSource(src, mark, keep);
  }
}

function fileSource(file: string, kind: 'csv' | 'jsonl', delimiter: string | undefined, keep: (row: Row) => boolean, inc: string | undefined): RowSource {
  let size: number;
  try {
    size = statSync(file).size;
  } catch (err) {
    throw new MosaicError('MOSAIC_BAD_REQUEST', { message: `Cannot read ${file}: ${(err as Error).message}` });
  }
  const stream = createReadStream(file);
  let read = 0;
  stream.on('data', (chunk) => (read += chunk.length));
  const markOf = (row: Row): Watermark | undefined => (inc ? { value: field(row, inc) } : undefined);
  return {
    size: async () => ({ total: size, unit: 'bytes' }),
    async *items() {
      if (kind === 'csv') {
        const parser = stream.pipe(parse({ columns: true, bom: true, skip_empty_lines: true, relax_column_count: true, ...(delimiter ? { delimiter } : {}) }));
        for await (const row of parser as AsyncIterable<Row>) if (keep(row)) yield { row, done: read, ...withMark(markOf(row)) };
        return;
      }
      let line = 0;
      for await (const text of createInterface({ input: stream, crlfDelay: Infinity })) {
        line++;
        if (text.trim() === '') continue;
        let row: unknown;
        try {
          row = JSON.parse(text);
        } catch (err) {
          yield { reason: `line ${line} is not JSON (${(err as Error).message})`, done: read };
          continue;
        }
        if (row === null || typeof row !== 'object' || Array.isArray(row)) {
          yield { reason: `line ${line} is not a JSON object`, done: read };
          continue;
        }
        if (keep(row as Row)) yield { row: row as Row, done: read, ...withMark(markOf(row as Row)) };
      }
    },
    close: async () => void stream.destroy(),
  };
}

const withMark = (mark: Watermark | undefined) => (mark ? { mark } : {});

/**
 * A table read in pages ordered by (incremental field, key): an incremental run asks PostgreSQL
 * only for rows after the last run's, and ties on the field are paged by key.
 */
function postgresSource(url: string, table: string, def: ImportDef, mark: Watermark): RowSource {
  const client = new pg.Client({ connectionString: url, application_name: 'mosaic-import' });
  const keyField = def.mapping.key?.[0] ?? def.mapping.userId ?? def.mapping.anonymousId!;
  const inc = def.incremental?.field;
  let connected: Promise<void> | undefined;
  const connect = () =>
    (connected ??= client.connect().then(
      () => undefined,
      (err: unknown) => {
        throw new MosaicError('MOSAIC_BAD_REQUEST', { message: `Cannot connect to ${url.replace(/:[^:@/]*@/, ':***@')}: ${(err as Error).message}` });
      },
    ));
  const id = (s: string) => s.split('.').map((p) => client.escapeIdentifier(p)).join('.');
  const where = (m: Watermark) => {
    if (inc) return m.value === undefined ? { sql: '', args: [] as unknown[] } : m.key === undefined ? { sql: `WHERE ${id(inc)} > $1`, args: [m.value] } : { sql: `WHERE (${id(inc)}, ${id(keyField)}) > ($1, $2)`, args: [m.value, m.key] };
    return m.key === undefined ? { sql: '', args: [] as unknown[] } : { sql: `WHERE ${id(keyField)} > $1`, args: [m.key] };
  };
  const order = () => (inc ? `ORDER BY ${id(inc)}, ${id(keyField)}` : `ORDER BY ${id(keyField)}`);
  return {
    async size() {
      await connect();
      const w = where(mark);
      const { rows } = await client.query(`SELECT count(*)::bigint AS n FROM ${id(table)} ${w.sql}`, w.args);
      return { total: Number(rows[0].n), unit: 'rows' };
    },
    async *items() {
      await connect();
      let m: Watermark = { ...mark };
      let done = 0;
      for (;;) {
        const w = where(m);
        const { rows } = await client.query(`SELECT * FROM ${id(table)} ${w.sql} ${order()} LIMIT 5000`, w.args);
        if (rows.length === 0) return;
        for (const row of rows as Row[]) {
          m = inc ? { value: toJson(row[inc]), key: toJson(row[keyField]) } : { key: toJson(row[keyField]) };
          yield { row, done: ++done, mark: m };
        }
      }
    },
    close: () => (connected ? client.end() : Promise.resolve()),
  };
}

/** A value as the watermark keeps it (JSON): times as ISO text, which PostgreSQL compares as times. */
const toJson = (v: unknown) => (v instanceof Date ? v.toISOString() : typeof v === 'bigint' ? v.toString() : v);

function httpSource(src: Extract<ImportDef['source'], { kind: 'http' }>, mark: Watermark, keep: (row: Row) => boolean): RowSource {
  return {
    size: async () => undefined,
    async *items() {
      let cursor = mark.cursor;
      let done = 0;
      for (;;) {
        const url = new URL(src.url);
        if (cursor !== undefined) url.searchParams.set(src.cursorParam ?? 'cursor', cursor);
        let res: Response;
        try {
          res = await fetch(url, { headers: { accept: 'application/json', ...src.headers } });
        } catch (err) {
          throw new MosaicError('MOSAIC_BAD_REQUEST', { message: `Cannot reach ${url.origin}: ${(err as Error).message}` });
        }
        if (!res.ok) throw new MosaicError('MOSAIC_BAD_REQUEST', { message: `${url.toString()} answered ${res.status}: ${(await res.text()).slice(0, 200)}` });
        const page = (await res.json()) as unknown;
        const rows = src.items ? field(page as Row, src.items) : page;
        if (!Array.isArray(rows)) throw new MosaicError('MOSAIC_BAD_REQUEST', { message: `${url.toString()}: no array of rows at ${src.items ?? 'the top of the page'}` });
        const next = src.nextCursor ? field(page as Row, src.nextCursor) : undefined;
        for (let i = 0; i < rows.length; i++) {
          const row = rows[i] as Row;
          done++;
          // The cursor that resumes after this page: a run stopped mid-page reads the page again (its rows are deduplicated).
          const at: Watermark = i === rows.length - 1 && present(next) ? { cursor: String(next) } : cursor !== undefined ? { cursor } : {};
          if (keep(row)) yield { row, done, mark: at };
        }
        if (!present(next) || rows.length === 0) return;
        cursor = String(next);
      }
    },
    close: async () => undefined,
  };
}

const present = (v: unknown) => v !== undefined && v !== null && v !== '';
