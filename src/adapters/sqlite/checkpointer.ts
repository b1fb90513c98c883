import { Worker } from 'node:worker_threads';
import type { CheckpointerOptions, FromCheckpointer, ToCheckpointer } from './checkpointer-thread.js';
import type { SqliteDb } from './open.js';

/**
 * Copies a database's WAL back into its file from a thread of its own. SQLite otherwise
 * checkpoints inside the commit that crosses `wal_autocheckpoint` pages, on the writer's
 * thread: with synchronous=NORMAL that commit also waits for two fsyncs, and the profile
 * store's writer is the processor, whose batches then stall (a fifth of its commits took
 * 8–30 ms at 5,000 events/s). A passive checkpoint on another connection blocks neither the
 * writer nor the readers, and keeps the WAL short, which readers need (a long one made
 * profile reads tens of times slower). The writer keeps a distant automatic checkpoint as a
 * backstop should this thread fall behind or fail.
 */
export class WalCheckpointer {
  /** Pages the writer's own automatic checkpoint waits for while this thread runs (SQLite's default: 1,000). */
  static readonly BACKSTOP_PAGES = 4000;
  private readonly worker: Worker;
  private readonly exited: Promise<void>;
  /** Frames copied back so far (what the tests read). */
  frames = 0;
  private warned = false;

  constructor(writer: SqliteDb, file: string, intervalMs = 50) {
    writer.pragma(`wal_autocheckpoint = ${WalCheckpointer.BACKSTOP_PAGES}`);
    this.worker = new Worker(new URL('./checkpointer-thread.js', import.meta.url), { workerData: { file, intervalMs } satisfies CheckpointerOptions });
    this.worker.on('message', (msg: FromCheckpointer) => {
      if (msg.type === 'checkpointed') this.frames += msg.frames;
      else this.warn(msg.message);
    });
    // A thread that dies leaves the writer's backstop checkpoint: slower commits, nothing lost.
    this.worker.on('error', (err) => this.warn(err.message));
    this.exited = new Promise((resolve) => this.worker.once('exit', () => resolve()));
    // A store left open must not keep the process alive for this thread's sake.
    this.worker.unref();
  }

  /**
   * Said once, on stderr (the store has no logger): commits are slower from then on, which an
   * operator should be able to trace to its cause.
   */
  private warn(message: string): void {
    if (this.warned) return;
    this.warned = true;
    process.emitWarning(`background WAL checkpoints failed (${message}); the writer checkpoints every ${WalCheckpointer.BACKSTOP_PAGES} pages itself`, { code: 'MOSAIC_CHECKPOINT_FAILED' });
  }

  async close(): Promise<void> {
    this.worker.postMessage({ type: 'close' } satisfies ToCheckpointer);
    const timeout = setTimeout(() => void this.worker.terminate(), 5000);
    await this.exited;
    clearTimeout(timeout);
  }
}
