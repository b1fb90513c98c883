/**
 * A read-through cache of assembled profiles in front of a shared ProfileStore. Fills are
 * conditional: a value read before an invalidation can never be stored after it, so once a
 * processor's commit and its invalidation are done no reader sees the older profile.
 */
export interface ProfileCache {
  /**
   * The cached value of `key` and the token to fill it with on a miss. Rejects when the cache
   * cannot be reached: callers then read the store.
   */
  get(key: string): Promise<{ value: string | undefined; token: string }>;
  /** Stores `value` unless `key` was invalidated (or the cache cleared) since `token` was read. */
  fill(key: string, token: string, value: string): Promise<void>;
  /** Drops these keys and refuses fills begun before. */
  invalidate(keys: Iterable<string>): Promise<void>;
  /** Drops everything (when invalidations may have been missed). */
  clear(): Promise<void>;
  close(): Promise<void>;
}
