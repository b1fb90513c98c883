import { createCipheriv, createDecipheriv } from 'node:crypto';
import { nextGcmIv } from '../core/gcm-iv.js';
import { logSubjectOf } from '../core/envelope.js';
import type { AppendOutcome, AppendRecord, EventLog, EventLogCapabilities, LogEntry } from '../ports/event-log.js';
import type { SubjectKey, SubjectKeys } from '../ports/subject-keys.js';

/** An encrypted payload: `enc1:<key id>:<base64 of iv, tag, ciphertext>`. A JSON payload starts with `{`. */
const PREFIX = 'enc1:';
const IV_BYTES = 12;
const TAG_BYTES = 16;
/** How long keys are reused before the key store is asked again: a key destroyed by another process stops working within this. */
const CACHE_MS = 60_000;
const CACHE_ENTRIES = 100_000;

interface Cached<T> {
  value: T;
  at: number;
}

/**
 * Crypto-shredding over any EventLog: each entry is encrypted (AES-256-GCM) under its
 * subject's key, so erasing a person from a log that cannot remove single entries (JetStream,
 * whose messages each hold many people's events) is destroying their keys. Readers never see a
 * shredded entry: a read skips them, and reads on until it has something or the partition ends,
 * so consumers move past them. Entries without a subject, and those written before shredding
 * was turned on, are kept and read as they are.
 */
export class ShreddingEventLog implements EventLog {
  readonly partitions: number;
  readonly capabilities: EventLogCapabilities;
  readonly erase?: EventLog['erase'];
  private readonly bySubject = new Map<string, Cached<SubjectKey>>();
  private readonly byId = new Map<string, Cached<Buffer | undefined>>();

  constructor(
    private readonly inner: EventLog,
    private readonly keys: SubjectKeys,
    private readonly now: () => number = Date.now,
  ) {
    this.partitions = inner.partitions;
    this.capabilities = inner.capabilities;
    if (inner.erase) this.erase = (positions) => inner.erase!(positions);
  }

  async append(records: readonly AppendRecord[]): Promise<AppendOutcome[]> {
    const subjects = records.map((r) => r.subject ?? logSubjectOf(JSON.parse(r.payload) as object));
    const keys = await this.keysFor(subjects);
    return this.inner.append(
      records.map((r, i) => {
        const k = subjects[i] === undefined ? undefined : keys.get(subjects[i]!);
        return k ? { ...r, payload: seal(k, r.payload) } : r;
      }),
    );
  }

  async read(partition: number, from: number, max: number): Promise<LogEntry[]> {
    let at = from;
    for (;;) {
      const entries = await this.inner.read(partition, at, max);
      if (!entries.length) return entries;
      const keys = await this.keysById(entries.filter((e) => e.payload.startsWith(PREFIX)).map((e) => keyIdOf(e.payload)));
      const out: LogEntry[] = [];
      for (const e of entries) {
        if (!e.payload.startsWith(PREFIX)) out.push(e);
        else {
          const key = keys.get(keyIdOf(e.payload));
          if (key) out.push({ ...e, payload: open(key, e.payload) });
        }
      }
      if (out.length) return out;
      at = entries[entries.length - 1]!.offset + 1; // all shredded: read on
    }
  }

  async shred(subjects: readonly string[]): Promise<number> {
    const destroyed = await this.keys.destroy(subjects);
    for (const s of subjects) {
      const k = this.bySubject.get(s);
      if (k) this.byId.delete(k.value.id);
      this.bySubject.delete(s);
    }
    // Ids of keys this process only read (never wrote with) may still be cached: forget them all.
    this.byId.clear();
    if (destroyed) await this.keys.scrub();
    return destroyed;
  }

  endOffsets(): Promise<number[]> {
    return this.inner.endOffsets();
  }

  pendingAppends(): number {
    return this.inner.pendingAppends();
  }

  onAppend(listener: () => void): () => void {
    return this.inner.onAppend(listener);
  }

  async close(): Promise<void> {
    await this.inner.close();
    await this.keys.close();
  }

  private fresh<T>(c: Cached<T> | undefined): c is Cached<T> {
    return c !== undefined && this.now() - c.at < CACHE_MS;
  }

  private async keysFor(subjects: readonly (string | undefined)[]): Promise<Map<string, SubjectKey>> {
    const out = new Map<string, SubjectKey>();
    const missing: string[] = [];
    for (const s of subjects) {
      if (s === undefined || out.has(s)) continue;
      const c = this.bySubject.get(s);
      if (this.fresh(c)) out.set(s, c.value);
      else missing.push(s);
    }
    if (missing.length) {
      const got = await this.keys.keysFor(missing);
      if (this.bySubject.size > CACHE_ENTRIES) this.bySubject.clear();
      const at = this.now();
      for (const [s, k] of got) {
        out.set(s, k);
        this.bySubject.set(s, { value: k, at });
      }
    }
    return out;
  }

  private async keysById(ids: readonly string[]): Promise<Map<string, Buffer | undefined>> {
    const out = new Map<string, Buffer | undefined>();
    const missing = new Set<string>();
    for (const id of ids) {
      const c = this.byId.get(id);
      if (this.fresh(c)) out.set(id, c.value);
      else missing.add(id);
    }
    if (missing.size) {
      const got = await this.keys.keysById([...missing]);
      if (this.byId.size > CACHE_ENTRIES) this.byId.clear();
      const at = this.now();
      // A destroyed key is remembered as gone too, so a shredded range costs one lookup.
      for (const id of missing) {
        out.set(id, got.get(id));
        this.byId.set(id, { value: got.get(id), at });
      }
    }
    return out;
  }
}

const keyIdOf = (payload: string): string => payload.slice(PREFIX.length, payload.indexOf(':', PREFIX.length));

function seal(k: SubjectKey, payload: string): string {
  const iv = nextGcmIv();
  const cipher = createCipheriv('aes-256-gcm', k.key, iv);
  cipher.setAAD(Buffer.from(k.id));
  const body = Buffer.concat([cipher.update(payload, 'utf8'), cipher.final()]);
  return `${PREFIX}${k.id}:${Buffer.concat([iv, cipher.getAuthTag(), body]).toString('base64')}`;
}

function open(key: Buffer, payload: string): string {
  const id = keyIdOf(payload);
  const bytes = Buffer.from(payload.slice(PREFIX.length + id.length + 1), 'base64');
  const decipher = createDecipheriv('aes-256-gcm', key, bytes.subarray(0, IV_BYTES));
  decipher.setAAD(Buffer.from(id));
  decipher.setAuthTag(bytes.subarray(IV_BYTES, IV_BYTES + TAG_BYTES));
  return Buffer.concat([decipher.update(bytes.subarray(IV_BYTES + TAG_BYTES)), decipher.final()]).toString('utf8');
}
