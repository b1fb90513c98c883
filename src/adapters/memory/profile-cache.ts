import { LRUCache } from 'lru-cache';
import type { ProfileCache } from '../../ports/profile-cache.js';

/**
 * The ProfileCache in this process's memory: the reference the conformance suite holds Redis
 * to, and a cache for a process whose processor runs beside it on the same thread.
 */
export class MemoryProfileCache implements ProfileCache {
  private epoch = 0;
  private readonly values: LRUCache<string, string>;
  private readonly generations: LRUCache<string, number>;

  constructor(opts: { max?: number; ttlMs?: number } = {}) {
    this.values = new LRUCache({ max: opts.max ?? 10_000, ttl: opts.ttlMs ?? 30_000 });
    // Bounded too (invariant 6): a generation evicted reads as 0, which no pending fill holds
    // after an invalidation (those hold the bumped value) — except one read before any
    // invalidation, so generations are kept longer than values.
    this.generations = new LRUCache({ max: 10 * (opts.max ?? 10_000) });
  }

  async get(key: string): Promise<{ value: string | undefined; token: string }> {
    return { value: this.values.get(key), token: `${this.epoch}/${this.generations.get(key) ?? 0}` };
  }

  async fill(key: string, token: string, value: string): Promise<void> {
    if (token === `${this.epoch}/${this.generations.get(key) ?? 0}`) this.values.set(key, value);
  }

  async invalidate(keys: Iterable<string>): Promise<void> {
    for (const k of keys) {
      this.generations.set(k, (this.generations.get(k) ?? 0) + 1);
      this.values.delete(k);
    }
  }

  async clear(): Promise<void> {
    this.epoch++;
    this.values.clear();
  }

  async close(): Promise<void> {}
}
