import { DeliverPolicy, type ConsumerMessages, type JetStreamClient, type JsMsg } from '@nats-io/jetstream';
import type { LogEntry } from '../../ports/event-log.js';
import { firstOffset, RECEIVED_AT, receivedAtOf, sequenceOf, splitPayloads } from './framing.js';

/** Events a reader holds ahead of the caller; the consumer's pulls stop while it is full. */
const BUFFER = 2000;
/** Bytes each pull asks for: more than a message holds (event-log.ts MESSAGE_BYTES). */
const PULL_BYTES = 4 * 1024 * 1024;
/** How long a read waits for the next of the messages the stream holds but that are still on their way. */
const IN_FLIGHT_WAIT_MS = 100;

/**
 * Reads one partition's subject through an ordered consumer that streams into a bounded
 * buffer, so `read` answers at once with what has arrived. JetStream's pull requests wait
 * for a full batch or their expiry (at least 1 s); a log read must not. The consumer is
 * recreated only when a read asks for an offset before what it has already handed out.
 */
export class PartitionReader {
  private buffer: LogEntry[] = [];
  /** The offset the next read is expected to ask for (or more). */
  private position = 0;
  /** Messages the stream held after the last one delivered, when it was delivered (num_pending). */
  private behind = 1;
  private messages: ConsumerMessages | undefined;
  private pump: Promise<void> | undefined;
  private arrived: (() => void) | undefined;
  private drained: (() => void) | undefined;
  private failure: Error | undefined;

  constructor(
    private readonly js: JetStreamClient,
    private readonly stream: string,
    private readonly subject: string,
    private readonly partition: number,
    /** New messages reached the buffer: a wake-up hint for a processor in another process than the writer. */
    private readonly onArrival: () => void = () => undefined,
  ) {}

  /** Reads run one at a time: two readers of a partition at different offsets (a processor and a
   * destination in one process) would otherwise drop entries from under each other's wait. */
  private turn: Promise<unknown> = Promise.resolve();

  read(from: number, max: number): Promise<LogEntry[]> {
    const run = this.turn.then(() => this.readNow(from, max));
    this.turn = run.catch(() => undefined);
    return run;
  }

  private async readNow(from: number, max: number): Promise<LogEntry[]> {
    if (!this.messages || from < this.position) await this.restart(from);
    if (this.failure) {
      const err = this.failure;
      await this.stop();
      throw err;
    }
    this.position = Math.max(this.position, from);
    this.dropBefore(from);
    // Callers read a partition when its end offset says there is something to read, so an empty
    // buffer waits (briefly) for it; and what the stream holds is answered whole (up to max): a
    // message still on its way would otherwise split a batch in two.
    // The wait restarts with every arrival: a slow but moving stream is read to its end. A full
    // buffer answers at once (its consumer waits for room).
    let until = Date.now() + IN_FLIGHT_WAIT_MS;
    while (this.buffer.length < Math.min(max, BUFFER) && (this.buffer.length === 0 || this.behind > 0) && !this.failure) {
      const left = until - Date.now();
      if (left <= 0) break;
      const before = this.buffer.length;
      await new Promise<void>((resolve) => {
        const t = setTimeout(done, left);
        function done() {
          clearTimeout(t);
          resolve();
        }
        this.arrived = done;
      });
      this.arrived = undefined;
      this.dropBefore(from);
      if (this.buffer.length > before) until = Date.now() + IN_FLIGHT_WAIT_MS;
    }
    const out = this.buffer.splice(0, max);
    if (out.length) this.position = out[out.length - 1]!.offset + 1;
    if (this.buffer.length < BUFFER / 2) this.drained?.();
    return out;
  }

  private dropBefore(from: number): void {
    let i = 0;
    while (i < this.buffer.length && this.buffer[i]!.offset < from) i++;
    if (i) this.buffer.splice(0, i);
  }

  private async restart(from: number): Promise<void> {
    await this.stop();
    this.buffer = [];
    this.position = from;
    this.behind = 1;
    this.failure = undefined;
    const consumer = await this.js.consumers.get(this.stream, {
      filter_subjects: this.subject,
      deliver_policy: DeliverPolicy.StartSequence,
      opt_start_seq: Math.max(1, sequenceOf(from)),
    });
    const messages = await consumer.consume({ max_bytes: PULL_BYTES });
    this.messages = messages;
    this.pump = (async () => {
      try {
        for await (const m of messages) {
          if (this.messages !== messages) break; // superseded by a restart: its buffer is not ours
          this.unpack(m);
          this.behind = m.info.pending;
          this.arrived?.();
          if (this.behind === 0) this.onArrival();
          // Not iterating stops the consumer's next pulls: memory stays bounded.
          if (this.buffer.length >= BUFFER) await new Promise<void>((resolve) => (this.drained = resolve));
          this.drained = undefined;
        }
      } catch (err) {
        this.failure = err as Error;
      }
    })();
  }

  /** One message's events, with the offsets event-log.ts gives them (see STRIDE). */
  private unpack(m: JsMsg): void {
    const payloads = splitPayloads(m.string());
    const n = payloads.length;
    const receivedAt = receivedAtOf(m.headers?.get(RECEIVED_AT), n, Math.floor(Number(m.info.timestampNanos) / 1e6));
    const base = firstOffset(m.info.streamSequence, n);
    for (let i = 0; i < n; i++) this.buffer.push({ partition: this.partition, offset: base + i, receivedAtMs: receivedAt(i), payload: payloads[i]! });
  }

  async stop(): Promise<void> {
    const messages = this.messages;
    this.messages = undefined;
    if (!messages) return;
    // A pump waiting for room must see the end first: close() waits for it.
    this.drained?.();
    await messages.close();
    await this.pump;
  }

  async close(): Promise<void> {
    await this.stop();
  }
}
