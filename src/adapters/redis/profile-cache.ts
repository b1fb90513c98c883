import { Redis } from 'ioredis';
import type { ProfileCache } from '../../ports/profile-cache.js';

export interface RedisProfileCacheOptions {
  /** redis://host:6379/0 */
  url: string;
  /** Every key starts with it: several Mosaics (or tests) can share one Redis. */
  prefix?: string;
  /** A value lives at most this long, whatever happens to invalidations. */
  ttlMs?: number;
  /** A request that takes longer is a miss: the store answers instead. */
  timeoutMs?: number;
}

/*
 * Keys: <prefix>:epoch, and per cached key <prefix>:<epoch>:g:<key> (its generation, bumped by
 * every invalidation) and <prefix>:<epoch>:v:<key> (the value). A fill names the epoch and
 * generation it read and is a no-op if either moved. Clearing bumps the epoch: old keys are
 * unreachable at once and expire on their own.
 */
const READ = `
local e = redis.call('GET', KEYS[1]) or '0'
local base = ARGV[1] .. ':' .. e
local g = redis.call('GET', base .. ':g:' .. ARGV[2]) or '0'
return {e .. '/' .. g, redis.call('GET', base .. ':v:' .. ARGV[2])}`;
const FILL = `
local e = redis.call('GET', KEYS[1]) or '0'
local base = ARGV[1] .. ':' .. e
local g = redis.call('GET', base .. ':g:' .. ARGV[2]) or '0'
if e .. '/' .. g == ARGV[3] then redis.call('SET', base .. ':v:' .. ARGV[2], ARGV[4], 'PX', ARGV[5]) return 1 end
return 0`;
const INVALIDATE = `
local e = redis.call('GET', KEYS[1]) or '0'
local base = ARGV[1] .. ':' .. e
for i = 3, #ARGV do
  local g = base .. ':g:' .. ARGV[i]
  redis.call('INCR', g)
  redis.call('PEXPIRE', g, ARGV[2])
  redis.call('DEL', base .. ':v:' .. ARGV[i])
end
return 0`;

/** The scripts above, as commands (defineCommand). */
interface Scripts {
  mosaicRead(epochKey: string, ...args: string[]): Promise<unknown>;
  mosaicFill(epochKey: string, ...args: string[]): Promise<unknown>;
  mosaicInvalidate(epochKey: string, ...args: string[]): Promise<unknown>;
}

/**
 * The ProfileCache on Redis. Commands fail fast while Redis is away (no offline queue), so
 * profile reads fall back to the store instead of waiting for it.
 */
export class RedisProfileCache implements ProfileCache {
  private readonly redis: Redis & Scripts;
  private readonly prefix: string;
  private readonly ttlMs: number;
  private readonly epochKey: string;

  constructor(opts: RedisProfileCacheOptions) {
    this.prefix = opts.prefix ?? 'mosaic:profiles';
    this.ttlMs = opts.ttlMs ?? 30_000;
    this.epochKey = `${this.prefix}:epoch`;
    const redis = new Redis(opts.url, {
      enableOfflineQueue: false,
      maxRetriesPerRequest: 0,
      commandTimeout: opts.timeoutMs ?? 200,
      lazyConnect: false,
      // Keep trying to come back, at most every 2 s.
      retryStrategy: (times) => Math.min(times * 100, 2000),
    });
    // Errors surface on each call; the connection's own events would otherwise be unhandled.
    redis.on('error', () => undefined);
    // EVALSHA, falling back to EVAL once: the scripts are not sent with every call.
    redis.defineCommand('mosaicRead', { numberOfKeys: 1, lua: READ });
    redis.defineCommand('mosaicFill', { numberOfKeys: 1, lua: FILL });
    redis.defineCommand('mosaicInvalidate', { numberOfKeys: 1, lua: INVALIDATE });
    this.redis = redis as Redis & Scripts;
  }

  /** Waits (up to `ms`) for the first connection; an unreachable Redis only means misses. */
  async connected(ms = 2000): Promise<boolean> {
    if (this.redis.status === 'ready') return true;
    return new Promise((resolve) => {
      const t = setTimeout(() => resolve(false), ms);
      this.redis.once('ready', () => {
        clearTimeout(t);
        resolve(true);
      });
    });
  }

  async get(key: string): Promise<{ value: string | undefined; token: string }> {
    const [token, value] = (await this.redis.mosaicRead(this.epochKey, this.prefix, key)) as [string, string | null];
    return { token, value: value ?? undefined };
  }

  async fill(key: string, token: string, value: string): Promise<void> {
    await this.redis.mosaicFill(this.epochKey, this.prefix, key, token, value, String(this.ttlMs));
  }

  async invalidate(keys: Iterable<string>): Promise<void> {
    const all = [...keys];
    // Generations outlive values: a fill that read one can only be refused while it exists.
    for (let i = 0; i < all.length; i += 500) await this.redis.mosaicInvalidate(this.epochKey, this.prefix, String(2 * this.ttlMs + 60_000), ...all.slice(i, i + 500));
  }

  async clear(): Promise<void> {
    await this.redis.incr(this.epochKey);
  }

  async close(): Promise<void> {
    this.redis.disconnect();
  }
}
