import { join } from 'node:path';
import { migrate, openSqlite, type SqliteDb } from '../../adapters/sqlite/open.js';
import { MosaicError } from '../../errors.js';
import { mapRow } from './mapping.js';
import { after, openSource, type ImportDef, type Watermark } from './sources.js';

export interface ImportOptions {
  /** The Mosaic to send to: http://host:port (its tracking API). */
  url: string;
  writeKey: string;
  /** Where each import keeps its watermark and the messageIds it has had accepted. */
  stateDir: string;
  batchSize?: number;
  onProgress?: (p: { done: number; total?: number; unit?: 'bytes' | 'rows'; summary: ImportSummary }) => void;
}

export interface ImportSummary {
  read: number;
  accepted: number;
  /** Already imported, unchanged: not sent again. */
  unchanged: number;
  rejected: number;
  /** Why rows were rejected, with how many each. */
  reasons: Record<string, number>;
  watermark?: Watermark;
}

const STATE_MIGRATIONS = [
  `CREATE TABLE sent (id TEXT PRIMARY KEY) WITHOUT ROWID;
   CREATE TABLE meta (key TEXT PRIMARY KEY, value TEXT NOT NULL) WITHOUT ROWID;
   CREATE TABLE runs (id INTEGER PRIMARY KEY, started INTEGER NOT NULL, finished INTEGER, status TEXT NOT NULL, summary TEXT);`,
];

const MAX_ATTEMPTS = 10;

/**
 * Reads a source, maps its rows to Segment messages and sends them to Mosaic's tracking API in
 * batches: the same path as live events (validation, consent, pseudonymization, dedup). The
 * import's state (a SQLite file per import) remembers the messageIds Mosaic accepted and the
 * watermark, both written only after Mosaic acknowledged a batch: a re-run sends neither an
 * unchanged row nor a row before the watermark again, and a run stopped anywhere resumes.
 */
export async function runImport(def: ImportDef, opts: ImportOptions): Promise<ImportSummary> {
  const db = openSqlite(join(opts.stateDir, `${def.name}.db`), { sync: 'full', cacheMb: 8 });
  migrate(db, STATE_MIGRATIONS);
  const runId = Number(db.prepare('INSERT INTO runs (started, status) VALUES (?, ?)').run(Date.now(), 'running').lastInsertRowid);
  const summary: ImportSummary = { read: 0, accepted: 0, unchanged: 0, rejected: 0, reasons: {} };
  const reject = (reason: string, n = 1) => {
    summary.rejected += n;
    summary.reasons[reason] = (summary.reasons[reason] ?? 0) + n;
  };
  const isSent = db.prepare('SELECT 1 FROM sent WHERE id = ?').pluck();
  const markSent = db.prepare('INSERT OR IGNORE INTO sent (id) VALUES (?)');
  const setMeta = db.prepare('INSERT INTO meta (key, value) VALUES (?, ?) ON CONFLICT(key) DO UPDATE SET value = excluded.value');
  const saved = db.prepare("SELECT value FROM meta WHERE key = 'watermark'").pluck().get() as string | undefined;
  let mark: Watermark = saved ? (JSON.parse(saved) as Watermark) : {};
  const commit = db.transaction((ids: string[], next: Watermark) => {
    for (const id of ids) markSent.run(id);
    setMeta.run('watermark', JSON.stringify(next));
  });
  const versionField = def.mapping.version ?? def.incremental?.field ?? def.mapping.timestamp;
  const source = openSource(def, mark);
  let status = 'failed';
  try {
    const size = await source.size();
    let pending: { id: string; message: Record<string, unknown> }[] = [];
    const pendingIds = new Set<string>();
    let pendingBytes = 0;
    let next: Watermark = mark;
    let done = 0;
    const flush = async () => {
      const accepted = pending.length ? await send(opts, pending.map((p) => p.message), reject) : new Set<number>();
      commit(pending.filter((_, i) => accepted.has(i)).map((p) => p.id), next);
      summary.accepted += accepted.size;
      mark = next;
      pending = [];
      pendingIds.clear();
      pendingBytes = 0;
      opts.onProgress?.({ done, ...(size ? { total: size.total, unit: size.unit } : {}), summary });
    };
    for await (const item of source.items()) {
      done = item.done;
      summary.read++;
      if (item.mark) next = mergeMark(next, item.mark, def.source.kind === 'postgres' || def.source.kind === 'http');
      if ('reason' in item) {
        reject(item.reason);
        continue;
      }
      const mapped = mapRow(item.row, def.mapping, def.name, versionField);
      if ('reason' in mapped) reject(mapped.reason);
      else if (pendingIds.has(mapped.messageId) || isSent.get(mapped.messageId)) summary.unchanged++;
      else {
        pending.push({ id: mapped.messageId, message: mapped.message });
        pendingIds.add(mapped.messageId);
        pendingBytes += JSON.stringify(mapped.message).length;
      }
      // Under Mosaic's batch limit (500 KB by default) with room to spare.
      if (pending.length >= (opts.batchSize ?? 500) || pendingBytes > 300_000) await flush();
    }
    await flush();
    summary.watermark = mark;
    status = summary.rejected ? 'finished with rejections' : 'finished';
    return summary;
  } finally {
    await source.close();
    db.prepare('UPDATE runs SET finished = ?, status = ?, summary = ? WHERE id = ?').run(Date.now(), status, JSON.stringify(summary), runId);
    db.close();
  }
}

/** Ordered sources (a table by its field, an API's pages) move the mark to the latest row; files keep the greatest value. */
function mergeMark(current: Watermark, row: Watermark, ordered: boolean): Watermark {
  if (ordered) return row;
  return after(row.value, current.value) ? row : current;
}

/**
 * One batch to /v1/batch; resolves with the indexes Mosaic stored. Retries what Mosaic asks to
 * retry (429, 503, Retry-After) and network errors; rejected messages are counted with their reasons.
 */
async function send(opts: ImportOptions, batch: Record<string, unknown>[], reject: (reason: string) => void): Promise<Set<number>> {
  const auth = 'Basic ' + Buffer.from(`${opts.writeKey}:`).toString('base64');
  for (let attempt = 1; ; attempt++) {
    let res: Response;
    try {
      res = await fetch(`${opts.url.replace(/\/$/, '')}/v1/batch`, { method: 'POST', headers: { authorization: auth, 'content-type': 'application/json' }, body: JSON.stringify({ batch }) });
    } catch (err) {
      if (attempt >= MAX_ATTEMPTS) throw new MosaicError('MOSAIC_BAD_REQUEST', { message: `Mosaic at ${opts.url} cannot be reached (${(err as Error).message}); the import stopped and resumes from here next run.` });
      await sleep(Math.min(30_000, 250 * 2 ** attempt));
      continue;
    }
    const all = new Set(batch.map((_, i) => i));
    if (res.status === 200) return all;
    const body = (await res.json().catch(() => ({}))) as { error?: { code?: string; message?: string; details?: { index?: number; path?: string; rule?: string; message: string }[] } };
    if (res.status === 429 || res.status === 503) {
      if (attempt >= MAX_ATTEMPTS) throw new MosaicError('MOSAIC_BAD_REQUEST', { message: `Mosaic kept answering ${res.status} (${body.error?.code ?? ''}); the import stopped and resumes from here next run.` });
      await sleep(Number(res.headers.get('retry-after') ?? 1) * 1000);
      continue;
    }
    if (res.status === 400 && body.error?.details?.length) {
      for (const d of body.error.details) {
        if (d.index === undefined) continue;
        all.delete(d.index);
        reject(`${d.rule ?? 'invalid'}${d.path ? ` at ${d.path}` : ''}: ${d.message}`);
      }
      // A whole-request error (no index) rejects the batch.
      if (body.error.code !== 'MOSAIC_BATCH_PARTIALLY_INVALID') {
        for (const _ of batch) reject(`${body.error.code}: ${body.error.message ?? ''}`);
        return new Set();
      }
      return all;
    }
    throw new MosaicError('MOSAIC_BAD_REQUEST', { message: `Mosaic at ${opts.url} answered ${res.status} ${body.error?.code ?? ''}: ${body.error?.message ?? ''}` });
  }
}

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

/** The last runs of an import, newest first. */
export function importHistory(stateDir: string, name: string, limit = 20): { started: string; finished: string | null; status: string; summary: ImportSummary | null }[] {
  let db: SqliteDb;
  try {
    db = openSqlite(join(stateDir, `${name}.db`), { readonly: true });
  } catch {
    return [];
  }
  try {
    return (db.prepare('SELECT started, finished, status, summary FROM runs ORDER BY id DESC LIMIT ?').all(limit) as { started: number; finished: number | null; status: string; summary: string | null }[]).map((r) => ({
      started: new Date(r.started).toISOString(),
      finished: r.finished ? new Date(r.finished).toISOString() : null,
      status: r.status,
      summary: r.summary ? (JSON.parse(r.summary) as ImportSummary) : null,
    }));
  } finally {
    db.close();
  }
}

