import { Worker } from 'node:worker_threads';
import type { Logger } from 'pino';
import type { Config } from '../config.js';
import type { EventLog } from '../ports/event-log.js';
import type { ErasureCommit, ProfileStore } from '../ports/profile-store.js';
import type { IdentityKey } from '../core/identity.js';
import { MosaicError } from '../errors.js';
import { appendAudienceEvents } from './emit.js';
import { lagOf, Processor, type Lag, type ProcessorOptions, type Progress } from './processor.js';
import type { FromThread, MetricsJson, ToThread } from './processor-thread.js';

/** The log's end offsets, kept current from its append notifications (this process's appends). */
class LogEnds {
  ends: number[] = [];
  private unsubscribe: (() => void) | undefined;
  private refreshing = false;
  private stale = false;

  async start(log: EventLog, onAppend?: () => void): Promise<void> {
    this.ends = await log.endOffsets();
    this.unsubscribe = log.onAppend(() => {
      this.refresh(log);
      onAppend?.();
    });
  }

  /**
   * One read of the ends at a time, and one more after it if appends came meanwhile: under load
   * appends complete by the hundred per second, and a remote log answers each read with a
   * request per partition.
   */
  private refresh(log: EventLog): void {
    if (this.refreshing) {
      this.stale = true;
      return;
    }
    this.refreshing = true;
    log
      .endOffsets()
      .then(
        (e) => (this.ends = e),
        () => undefined, // the next append reads them again; until then lag reads the last ends
      )
      .finally(() => {
        this.refreshing = false;
        if (this.stale) {
          this.stale = false;
          this.refresh(log);
        }
      });
  }

  stop(): void {
    this.unsubscribe?.();
  }
}

/** Where the processor runs, seen from the process that hosts the collector and API. */
export interface ProcessorHost {
  start(): Promise<void>;
  lag(): Lag;
  /** Applies everything appended so far; resolves with the number of events applied. */
  drain(): Promise<number>;
  /** The processor's metrics when they live on another registry (a thread), for /metrics. */
  metrics(): Promise<MetricsJson | undefined>;
  /** Whether this process's processor holds partition 0: it runs the process-wide jobs (destinations). */
  leads(): boolean;
  /** Commits a person's erasure where no batch can write them back (see Processor.erase). */
  erase(commit: ErasureCommit, keys: readonly IdentityKey[]): Promise<void>;
  stop(): Promise<void>;
}

/** On the caller's thread: used by tests and tools, where determinism beats throughput. */
export class InlineProcessorHost implements ProcessorHost {
  readonly processor: Processor;
  private readonly ends = new LogEnds();
  private readonly log: EventLog;
  /** false: only drain() applies events (tests that control when processing happens). */
  private readonly run: boolean;

  constructor(log: EventLog, store: ProfileStore, opts: ProcessorOptions & { run: boolean }) {
    this.processor = new Processor(log, store, opts);
    this.run = opts.run;
    this.log = log;
  }

  async start(): Promise<void> {
    await this.processor.init();
    await this.ends.start(this.log);
    if (this.run) this.processor.start();
  }

  lag(): Lag {
    return lagOf(this.ends.ends, this.processor.progress(), Date.now(), this.log.capabilities.offsetStride);
  }

  leads(): boolean {
    return typeof this.processor.progress().positions[0] === 'number';
  }

  drain(): Promise<number> {
    return this.processor.drain();
  }

  erase(commit: ErasureCommit, keys: readonly IdentityKey[]): Promise<void> {
    return this.processor.erase(commit, keys);
  }

  async metrics(): Promise<undefined> {
    return undefined;
  }

  stop(): Promise<void> {
    this.ends.stop();
    return this.processor.stop();
  }
}

/**
 * For a process that runs no processor (`mosaic collect`, `mosaic serve`) beside processors in
 * other processes: lag is the log's ends against the offsets they committed to the shared store.
 */
export class ObservedProcessorHost implements ProcessorHost {
  private ends: number[] = [];
  private progress: Progress = { positions: [], newestAppliedMs: 0 };
  private timer: NodeJS.Timeout | undefined;

  constructor(
    private readonly log: EventLog,
    private readonly store: ProfileStore,
    private readonly intervalMs = 1000,
  ) {}

  private async refresh(): Promise<void> {
    const offsets = await this.store.readOffsets();
    this.progress = { positions: Array.from({ length: this.log.partitions }, (_, p) => offsets.get(p) ?? 1), newestAppliedMs: 0 };
    this.ends = await this.log.endOffsets();
  }

  async start(): Promise<void> {
    await this.refresh();
    this.timer = setInterval(() => void this.refresh().catch(() => undefined), this.intervalMs);
    this.timer.unref();
  }

  lag(): Lag {
    return lagOf(this.ends, this.progress, Date.now(), this.log.capabilities.offsetStride);
  }

  leads(): boolean {
    return false;
  }

  /**
   * The processors are elsewhere, on a shared store: each batch reads the suppression list in
   * its own serializable transaction, so one that raced this commit is retried and drops them.
   */
  async erase(commit: ErasureCommit): Promise<void> {
    await (this.store.transactional ? this.store.transactional((tx) => tx.commit(commit)) : this.store.commit(commit));
  }

  /** Waits until the processors elsewhere have applied everything appended so far. */
  async drain(): Promise<number> {
    for (;;) {
      await this.refresh();
      if (this.lag().events === 0) return 0;
      await new Promise((r) => setTimeout(r, 50));
    }
  }

  async metrics(): Promise<undefined> {
    return undefined;
  }

  async stop(): Promise<void> {
    if (this.timer) clearInterval(this.timer);
  }
}

/**
 * In a worker thread with its own SQLite connections: profile updates use the second core and
 * never block the event loop that answers ingest. The thread is restarted if it dies; as its
 * offsets commit with its profile writes, a restart resumes exactly where it stopped.
 */
export class ThreadProcessorHost implements ProcessorHost {
  private worker: Worker | undefined;
  /** False while the thread is starting or restarting: questions get no answer, so none is asked. */
  private alive = false;
  private progress: Progress = { positions: [], newestAppliedMs: 0 };
  private readonly ends = new LogEnds();
  private nextId = 0;
  private readonly pending = new Map<number, (v: unknown) => void>();
  private stopping = false;
  private stopped: (() => void) | undefined;

  constructor(
    private readonly config: Config,
    private readonly log: EventLog,
    private readonly logger: Logger,
  ) {}

  async start(): Promise<void> {
    // One wake-up per group commit: the thread reads the log itself.
    await this.ends.start(this.log, () => this.post({ type: 'wake' }));
    await this.spawn();
  }

  private spawn(): Promise<void> {
    return new Promise((resolve, reject) => {
      const worker = new Worker(new URL('./processor-thread.js', import.meta.url), { workerData: { config: this.config } });
      this.worker = worker;
      worker.on('message', (msg: FromThread) => {
        switch (msg.type) {
          case 'ready':
            this.progress = msg.progress;
            this.alive = true;
            resolve();
            break;
          case 'progress':
            this.progress = msg.progress;
            break;
          case 'reply':
            this.pending.get(msg.id)?.(msg.value);
            this.pending.delete(msg.id);
            break;
          case 'stopped':
            this.stopped?.();
            break;
          case 'emit':
            appendAudienceEvents(this.log, msg.pending).then(
              () => this.post({ type: 'emitted', id: msg.id }),
              (err: unknown) => this.post({ type: 'emitted', id: msg.id, error: String(err) }),
            );
            break;
        }
      });
      worker.on('error', (err) => {
        this.logger.error({ err }, 'processor thread failed');
        reject(err);
      });
      worker.on('exit', (code) => {
        this.alive = false;
        for (const settle of this.pending.values()) settle(undefined);
        this.pending.clear();
        if (this.stopping) return;
        this.logger.error({ code }, 'processor thread exited; restarting in 1 s');
        setTimeout(() => void this.spawn().catch(() => undefined), 1000).unref();
      });
    });
  }

  private post(msg: ToThread): void {
    this.worker?.postMessage(msg);
  }

  private ask<T>(type: 'drain' | 'metrics'): Promise<T | undefined> {
    if (!this.alive) return Promise.resolve(undefined);
    const id = this.nextId++;
    return new Promise<T | undefined>((resolve) => {
      this.pending.set(id, resolve as (v: unknown) => void);
      this.post({ type, id });
    });
  }

  async erase(commit: ErasureCommit, keys: readonly IdentityKey[]): Promise<void> {
    if (!this.alive) throw new MosaicError('MOSAIC_UNAVAILABLE', { message: 'The processor is restarting; try the erasure again in a few seconds.', retryAfter: 5 });
    const id = this.nextId++;
    const error = await new Promise<unknown>((resolve) => {
      this.pending.set(id, resolve);
      this.post({ type: 'erase', id, commit, keys: [...keys] });
    });
    if (error === undefined) throw new MosaicError('MOSAIC_UNAVAILABLE', { message: 'The processor stopped during the erasure; try it again.', retryAfter: 5 });
    if (typeof error === 'string') throw new MosaicError('MOSAIC_INTERNAL', { message: `The erasure could not be committed: ${error}` });
  }

  lag(): Lag {
    return lagOf(this.ends.ends, this.progress, Date.now(), this.log.capabilities.offsetStride);
  }

  leads(): boolean {
    return this.alive && typeof this.progress.positions[0] === 'number';
  }

  async drain(): Promise<number> {
    return (await this.ask<number>('drain')) ?? 0;
  }

  metrics(): Promise<MetricsJson | undefined> {
    return this.ask<MetricsJson>('metrics');
  }

  async stop(): Promise<void> {
    this.stopping = true;
    this.ends.stop();
    const worker = this.worker;
    if (!worker) return;
    // The thread finishes its current batch (which commits with its offsets), then exits.
    await new Promise<void>((resolve) => {
      this.stopped = resolve;
      worker.once('exit', () => resolve());
      this.post({ type: 'stop' });
    });
    await worker.terminate();
  }
}
