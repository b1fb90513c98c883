import { MosaicError, type ErrorCode } from '../errors.js';

interface Waiter<T, R> {
  items: readonly T[];
  resolve: (r: R[]) => void;
  reject: (e: unknown) => void;
}

/**
 * Group commit: everything submitted while the previous commit ran is written by the next
 * one, so one fsync serves many concurrent requests. `commit` is synchronous (better-sqlite3)
 * and runs on a later turn of the event loop so that requests parsed in between join it.
 */
export class GroupCommit<T, R> {
  private queue: Waiter<T, R>[] = [];
  private pending = 0;
  private scheduled = false;
  private closed = false;

  constructor(
    private readonly commit: (items: T[]) => R[],
    private readonly opts: {
      maxPending: number;
      overloadCode: ErrorCode;
      onCommit?: (n: number, seconds: number) => void;
      /** Wait this long before committing (0: next turn of the event loop). For writes nobody awaits. */
      delayMs?: number;
    },
  ) {}

  get pendingItems(): number {
    return this.pending;
  }

  submit(items: readonly T[]): Promise<R[]> {
    if (this.closed) return Promise.reject(new MosaicError('MOSAIC_SHUTTING_DOWN'));
    if (items.length === 0) return Promise.resolve([]);
    if (this.pending + items.length > this.opts.maxPending) {
      return Promise.reject(new MosaicError(this.opts.overloadCode, { retryAfter: 1 }));
    }
    this.pending += items.length;
    return new Promise<R[]>((resolve, reject) => {
      this.queue.push({ items, resolve, reject });
      if (!this.scheduled) {
        this.scheduled = true;
        if (this.opts.delayMs) setTimeout(() => this.flush(), this.opts.delayMs);
        else setImmediate(() => this.flush());
      }
    });
  }

  /** Commits everything queued now. Also called on close so nothing accepted is dropped. */
  flush(): void {
    this.scheduled = false;
    const batch = this.queue;
    if (batch.length === 0) return;
    this.queue = [];
    const all: T[] = [];
    for (const w of batch) for (const it of w.items) all.push(it);
    this.pending -= all.length;
    const started = performance.now();
    let results: R[];
    try {
      results = this.commit(all);
    } catch (err) {
      for (const w of batch) w.reject(err);
      return;
    }
    this.opts.onCommit?.(all.length, (performance.now() - started) / 1000);
    let at = 0;
    for (const w of batch) {
      w.resolve(results.slice(at, at + w.items.length));
      at += w.items.length;
    }
  }

  close(): void {
    this.flush();
    this.closed = true;
  }
}
