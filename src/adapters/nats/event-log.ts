import { createHash } from 'node:crypto';
import { connect, headers, type NatsConnection } from '@nats-io/transport-node';
import { DiscardPolicy, jetstream, jetstreamManager, RetentionPolicy, StorageType, type JetStreamClient, type JetStreamManager } from '@nats-io/jetstream';
import { MosaicError } from '../../errors.js';
import type { AppendOutcome, AppendRecord, EventLog, EventLogCapabilities, LogEntry } from '../../ports/event-log.js';
import { joinPayloads, MESSAGE_BYTES, offsetAfter, RECEIVED_AT, receivedAtHeader, STRIDE } from './framing.js';
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

const STREAM_DESCRIPTION = /partitions=(\d+) stride=(\d+)/;

interface PendingCall {
  records: readonly AppendRecord[];
  resolve: (outcomes: AppendOutcome[]) => void;
  reject: (err: unknown) => void;
}

/**
 * The EventLog on a NATS JetStream stream: one subject per partition, many events per message.
 * One client publishes only some tens of thousands of messages a second, so the appends made
 * in the same turn of the event loop are coalesced, per partition, into messages of up to
 * STRIDE events. Offsets are derived from the stream's sequence numbers (see STRIDE): they
 * increase within a partition, with gaps.
 *
 * Dedup: a message's `Nats-Msg-Id` is a hash of its events' (source, messageId), so the server's
 * duplicate window drops a repeated single event and a repeated identical message; a repeated
 * event inside a differently composed message reaches the log, and the processor drops it
 * (capabilities.dedup = 'message'). An append resolves when every message holding its events
 * has its publish ack: stored by the stream (and its replicas).
 */
export class NatsEventLog implements EventLog {
  readonly capabilities: EventLogCapabilities;
  private pending = 0;
  private queue: PendingCall[] = [];
  private flushScheduled = false;
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
    this.capabilities = { dedupWindowMs: opts.dedupWindowMs, dedup: 'message', offsetStride: STRIDE };
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

  append(records: readonly AppendRecord[]): Promise<AppendOutcome[]> {
    if (this.closed) return Promise.reject(new MosaicError('MOSAIC_SHUTTING_DOWN'));
    if (this.pending + records.length > this.opts.maxPendingEvents) {
      return Promise.reject(new MosaicError('MOSAIC_OVERLOADED_LOG', { message: `${this.pending} events are waiting for JetStream's acks; retry after Retry-After.`, retryAfter: 1 }));
    }
    if (records.length === 0) return Promise.resolve([]);
    if (records.some((r) => r.payload.includes('\n'))) return Promise.reject(new Error('NatsEventLog: a payload holds a raw newline; payloads are single-line JSON'));
    this.pending += records.length;
    return new Promise<AppendOutcome[]>((resolve, reject) => {
      this.queue.push({ records, resolve, reject });
      if (!this.flushScheduled) {
        this.flushScheduled = true;
        setImmediate(() => this.flush());
      }
    }).finally(() => {
      this.pending -= records.length;
    });
  }

  /** Publishes what this turn's appends asked for, one message per partition (or more, past STRIDE or MESSAGE_BYTES). */
  private flush(): void {
    this.flushScheduled = false;
    const calls = this.queue;
    this.queue = [];
    const messages: Message[] = [];
    const open = new Map<number, Message>();
    /** The first record of each (source, messageId) in this flush, as message and place in it. */
    const first = new Map<string, { message: Message; index: number }>();
    const placed = calls.map((call) =>
      call.records.map((r) => {
        const key = `${r.sourceId}\u0000${r.messageId}`;
        const earlier = first.get(key);
        // Repeated within the flush: stored at most once, and only as durable as its first copy.
        if (earlier) return { ...earlier, repeat: true };
        let m = open.get(r.partition);
        const bytes = Buffer.byteLength(r.payload);
        if (!m || m.records.length >= STRIDE || (m.bytes + bytes + 1 > MESSAGE_BYTES && m.records.length > 0)) {
          m = { partition: r.partition, records: [], bytes: 0 };
          open.set(r.partition, m);
          messages.push(m);
        }
        m.records.push(r);
        m.bytes += bytes + 1;
        const at = { message: m, index: m.records.length - 1 };
        first.set(key, at);
        return { ...at, repeat: false };
      }),
    );
    // All published before any ack is awaited: one connection keeps them in order.
    for (const m of messages) m.ack = this.publish(m);
    calls.forEach((call, c) => {
      const where = placed[c]!;
      Promise.all(where.map((w) => w.message.ack!))
        .then((dup) => {
          call.resolve(where.map((w, i): AppendOutcome => (w.repeat || dup[i] ? 'duplicate' : 'appended')));
          this.wake();
        })
        .catch((err: unknown) => call.reject(err));
    });
  }

  /** Resolves with whether the server dropped the message as a duplicate. */
  private async publish(m: Message): Promise<boolean> {
    const h = headers();
    h.set(RECEIVED_AT, receivedAtHeader(m.records.map((r) => r.receivedAtMs)));
    const id = createHash('sha256');
    for (const r of m.records) id.update(r.sourceId).update('\u0000').update(r.messageId).update('\u0000');
    const body = joinPayloads(m.records.map((r) => r.payload));
    try {
      const ack = await this.js.publish(this.subject(m.partition), body, { msgID: id.digest('base64url'), headers: h, timeout: this.opts.ackTimeoutMs });
      return ack.duplicate;
    } catch (err) {
      // Some may be stored: the client retries and the duplicate window, or the processor, drops those.
      throw new MosaicError('MOSAIC_LOG_UNAVAILABLE', { message: `JetStream did not acknowledge the events (${(err as Error).message}); they may not be stored, retry.`, retryAfter: 1, cause: err });
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
        return last ? offsetAfter(last.seq) : 1;
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
    // Appends of this turn are published (and acknowledged, by the drain below), not dropped.
    if (this.queue.length) this.flush();
    await Promise.all([...this.readers.values()].map((r) => r.close()));
    await this.nc.drain();
  }
}

/** Creates the stream if missing; returns its partition count (fixed when it was created). */
async function ensureStream(jsm: JetStreamManager, opts: Required<NatsEventLogOptions>): Promise<number> {
  try {
    const info = await jsm.streams.info(opts.stream);
    const [, n, stride] = STREAM_DESCRIPTION.exec(info.config.description ?? '') ?? [];
    if (!n || Number(stride) !== STRIDE) {
      throw new MosaicError('MOSAIC_CONFIG_INVALID', {
        message: `JetStream stream ${opts.stream} exists but was not made by this version of Mosaic (its description "${info.config.description ?? ''}" lacks "partitions=<n> stride=${STRIDE}"); set log.nats.stream to a new name or delete the stream.`,
      });
    }
    return Number(n);
  } catch (err) {
    if ((err as { code?: unknown }).code !== 404 && !/stream not found/i.test((err as Error).message)) throw err;
  }
  await jsm.streams.add({
    name: opts.stream,
    description: `Mosaic event log; partitions=${opts.partitions} stride=${STRIDE}`,
    subjects: [`${opts.subjectPrefix}.*`],
    storage: opts.storage === 'memory' ? StorageType.Memory : StorageType.File,
    num_replicas: opts.replicas,
    retention: RetentionPolicy.Limits,
    discard: DiscardPolicy.Old,
    duplicate_window: opts.dedupWindowMs * 1_000_000,
  });
  return opts.partitions;
}

interface Message {
  partition: number;
  records: AppendRecord[];
  bytes: number;
  ack?: Promise<boolean>;
}
