import { createHash } from 'node:crypto';
import { connect, headers, type NatsConnection } from '@nats-io/transport-node';
import { DiscardPolicy, jetstream, jetstreamManager, RetentionPolicy, StorageType, type JetStreamClient, type JetStreamManager } from '@nats-io/jetstream';
import { MosaicError } from '../../errors.js';
import type { AppendOutcome, AppendRecord, EventLog, EventLogCapabilities, LogEntry } from '../../ports/event-log.js';
import { PartitionReader } from './partition-reader.js';

export interface NatsEventLogOptions {
  /** nats://host:port (comma-separated for a cluster). */
  url: string;
  /** The JetStream stream; created on first open. */
  stream?: string;
  /** Subjects are `<subjectPrefix>.<partition>`. */
  subjectPrefix?: string;
  /** Used when the stream is created; an existing stream keeps its own count. */
  partitions: number;
  /** The stream's duplicate window (Nats-Msg-Id). */
  dedupWindowMs: number;
  replicas?: number;
  storage?: 'file' | 'memory';
  /** Appends waiting for their acks beyond this are refused with MOSAIC_OVERLOADED_LOG. */
  maxPendingEvents: number;
  /** Publish ack timeout. */
  ackTimeoutMs?: number;
}

const RECEIVED_AT = 'Mosaic-Received-At';
const PARTITIONS_IN_DESCRIPTION = /partitions=(\d+)/;

/**
 * The EventLog on a NATS JetStream stream: one subject per partition, offsets are the stream's
 * sequence numbers (increasing within a partition, with gaps where other partitions' messages
 * sit), dedup by the server's duplicate window on a `Nats-Msg-Id` derived from (source,
 * messageId). An append resolves when every message has its publish ack: stored by the
 * stream (and its replicas), so it survives a crash of any Mosaic process.
 */
export class NatsEventLog implements EventLog {
  readonly capabilities: EventLogCapabilities;
  private pending = 0;
  private readonly listeners = new Set<() => void>();
  private readonly readers = new Map<number, PartitionReader>();
  private closed = false;

  private constructor(
    private readonly nc: NatsConnection,
    private readonly js: JetStreamClient,
    private readonly jsm: JetStreamManager,
    private readonly opts: Required<NatsEventLogOptions>,
    readonly partitions: number,
  ) {
    this.capabilities = { dedupWindowMs: opts.dedupWindowMs };
  }

  static async open(options: NatsEventLogOptions): Promise<NatsEventLog> {
    const opts: Required<NatsEventLogOptions> = { stream: 'MOSAIC_EVENTS', subjectPrefix: 'mosaic.events', replicas: 1, storage: 'file', ackTimeoutMs: 5000, ...options };
    let nc: NatsConnection;
    try {
      nc = await connect({ servers: opts.url.split(','), timeout: 5000, name: 'mosaic' });
    } catch (err) {
      throw new MosaicError('MOSAIC_LOG_UNAVAILABLE', { message: `Cannot connect to NATS at ${opts.url}: ${(err as Error).message}`, cause: err });
    }
    try {
      const jsm = await jetstreamManager(nc);
      const partitions = await ensureStream(jsm, opts);
      return new NatsEventLog(nc, jetstream(nc), jsm, opts, partitions);
    } catch (err) {
      await nc.close();
      throw err;
    }
  }

  private subject(partition: number): string {
    return `${this.opts.subjectPrefix}.${partition}`;
  }

  async append(records: readonly AppendRecord[]): Promise<AppendOutcome[]> {
    if (this.closed) throw new MosaicError('MOSAIC_SHUTTING_DOWN');
    if (this.pending + records.length > this.opts.maxPendingEvents) {
      throw new MosaicError('MOSAIC_OVERLOADED_LOG', { message: `${this.pending} events are waiting for JetStream's acks; retry after Retry-After.`, retryAfter: 1 });
    }
    this.pending += records.length;
    try {
      // All published before any ack is awaited: one connection keeps them in order, so a
      // messageId repeated within the call is the server's duplicate, as across calls.
      const acks = await Promise.all(
        records.map((r) => {
          const h = headers();
          h.set(RECEIVED_AT, String(r.receivedAtMs));
          return this.js.publish(this.subject(r.partition), r.payload, { msgID: dedupId(r), headers: h, timeout: this.opts.ackTimeoutMs });
        }),
      );
      const outcomes = acks.map((a): AppendOutcome => (a.duplicate ? 'duplicate' : 'appended'));
      this.wake();
      return outcomes;
    } catch (err) {
      if (err instanceof MosaicError) throw err;
      // Some may be stored: the client retries and the duplicate window drops those.
      throw new MosaicError('MOSAIC_LOG_UNAVAILABLE', { message: `JetStream did not acknowledge the events (${(err as Error).message}); they may not be stored, retry.`, retryAfter: 1, cause: err });
    } finally {
      this.pending -= records.length;
    }
  }

  async read(partition: number, from: number, max: number): Promise<LogEntry[]> {
    let reader = this.readers.get(partition);
    if (!reader) {
      reader = new PartitionReader(this.js, this.opts.stream, this.subject(partition), partition, () => this.wake());
      this.readers.set(partition, reader);
    }
    return reader.read(from, max);
  }

  async endOffsets(): Promise<number[]> {
    return Promise.all(
      Array.from({ length: this.partitions }, async (_, p) => {
        const last = await this.jsm.streams.getMessage(this.opts.stream, { last_by_subj: this.subject(p) });
        return last ? last.seq + 1 : 1;
      }),
    );
  }

  pendingAppends(): number {
    return this.pending;
  }

  private wake(): void {
    for (const l of this.listeners) l();
  }

  /** Also called when a partition this process reads receives messages appended by another process. */
  onAppend(listener: () => void): () => void {
    this.listeners.add(listener);
    return () => this.listeners.delete(listener);
  }

  async close(): Promise<void> {
    if (this.closed) return;
    this.closed = true;
    await Promise.all([...this.readers.values()].map((r) => r.close()));
    await this.nc.drain();
  }
}

/** Nats-Msg-Id for (source, messageId): fixed length and header-safe whatever the ids hold. */
function dedupId(r: AppendRecord): string {
  return createHash('sha256').update(r.sourceId).update('\u0000').update(r.messageId).digest('base64url');
}

/** Creates the stream if missing; returns its partition count (fixed when it was created). */
async function ensureStream(jsm: JetStreamManager, opts: Required<NatsEventLogOptions>): Promise<number> {
  try {
    const info = await jsm.streams.info(opts.stream);
    const n = Number(PARTITIONS_IN_DESCRIPTION.exec(info.config.description ?? '')?.[1]);
    if (!n) throw new Error(`stream ${opts.stream} exists but was not made by Mosaic (no partitions= in its description)`);
    return n;
  } catch (err) {
    if ((err as { code?: unknown }).code !== 404 && !/stream not found/i.test((err as Error).message)) throw err;
  }
  await jsm.streams.add({
    name: opts.stream,
    description: `Mosaic event log; partitions=${opts.partitions}`,
    subjects: [`${opts.subjectPrefix}.*`],
    storage: opts.storage === 'memory' ? StorageType.Memory : StorageType.File,
    num_replicas: opts.replicas,
    retention: RetentionPolicy.Limits,
    discard: DiscardPolicy.Old,
    duplicate_window: opts.dedupWindowMs * 1_000_000,
  });
  return opts.partitions;
}
