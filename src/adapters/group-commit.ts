import { MosaicError, type ErrorCode } from '../errors.js';

interface Waiter<T, R> {
  items: readonly T[];
  resolve: (r: R[]) => void;
  reject: (e: unknown) => void;
}

export interface GroupCommitOptions {
  maxPending: number;
  overloadCode: ErrorCode;
  onCommit?: (n: number, seconds: number) => void;
  /** Wait this long before committing (0: next turn of the event loop). For writes nobody awaits. */
  delayMs?: number;
}

/**
 * Group commit: everything submitted while the previous commit ran is written by the next
 * one, so one fsync serves many concurrent requests. A commit starts on a later turn of the
 * event loop, so requests parsed in between join it; at most one commit is in flight (it may
 * be synchronous, or run on another thread), and what arrives meanwhile forms the next group.
 */
export class GroupCommit<T, R> {
  private queue: Waiter<T, R>[] = [];
  private pending = 0;
  private scheduled = false;
  private inFlight: Promise<void> | undefined;
  private closed = false;

  constructor(
    private readonly commit: (items: T[]) => R[] | Promise<R[]>,
    private readonly opts: GroupCommitOptions,
  ) {}

  /** Items accepted and not yet committed (queued or in flight). */
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
      this.schedule();
    });
  }

  private schedule(): void {
    if (this.scheduled || this.inFlight) return;
    this.scheduled = true;
    if (this.opts.delayMs) setTimeout(() => void this.flush(), this.opts.delayMs);
    else setImmediate(() => void this.flush());
  }

  /** Commits what is queued now (after the commit in flight, if any). */
  async flush(): Promise<void> {
    this.scheduled = false;
    if (this.inFlight) return this.inFlight.then(() => this.flush());
    const batch = this.queue;
    if (batch.length === 0) return;
    this.queue = [];
    const all: T[] = [];
    for (const w of batch) for (const it of w.items) all.push(it);
    const started = performance.now();
    const settle = (results: R[] | undefined, err?: unknown) => {
      this.pending -= all.length;
      if (results === undefined) {
        for (const w of batch) w.reject(err);
        return;
      }
      this.opts.onCommit?.(all.length, (performance.now() - started) / 1000);
      let at = 0;
      for (const w of batch) {
        w.resolve(results.slice(at, at + w.items.length));
        at += w.items.length;
      }
    };
    let out: R[] | Promise<R[]>;
    try {
      out = this.commit(all);
    } catch (err) {
      settle(undefined, err);
      return;
    }
    if (!(out instanceof Promise)) {
      settle(out);
      if (this.queue.length) this.schedule();
      return;
    }
    this.inFlight = out.then(
      (r) => settle(r),
      (err: unknown) => settle(undefined, err),
    ).finally(() => {
      this.inFlight = undefined;
      if (this.queue.length) this.schedule();
    });
    return this.inFlight;
  }

  /** Commits everything accepted so far, then refuses new work. */
  async close(): Promise<void> {
    this.closed = true;
    while (this.queue.length || this.inFlight) await this.flush();
  }
}
