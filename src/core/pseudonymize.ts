import { createHash, type Hash } from 'node:crypto';

/**
 * Pseudonymization at the collector: configured paths of each message are replaced by keyed
 * HMAC-SHA256 tokens (`pii:<keyId>:<digest>`) or truncated (IP addresses to /24 and /48), before
 * anything is stored. The same value under the same key is the same token, so identity
 * resolution, audiences and joins still work on tokens; the raw value is never written.
 */

export type PseudonymizeMethod = 'hmac' | 'truncate';
export type ValueNormalizer = 'none' | 'email' | 'phone';

export interface PseudonymizeRule {
  /** Dotted path in the message, e.g. traits.email, context.traits.phone, context.ip. */
  path: string;
  method: PseudonymizeMethod;
  /** For hmac: how the value is normalized first, so "Ann@X.io " and "ann@x.io" are one token. */
  normalize?: ValueNormalizer;
}

export interface PseudonymKey {
  id: string;
  secret: string;
}

export const TOKEN_PREFIX = 'pii:';
export const isToken = (v: unknown): v is `pii:${string}` => typeof v === 'string' && v.startsWith(TOKEN_PREFIX);

/** Every token anywhere in a value (an event, a profile), added to `into`. */
export function tokensIn(value: unknown, into: Set<string>): Set<string> {
  if (isToken(value)) into.add(value);
  else if (Array.isArray(value)) for (const v of value) tokensIn(v, into);
  else if (value !== null && typeof value === 'object') for (const v of Object.values(value)) tokensIn(v, into);
  return into;
}

export function normalizeValue(how: ValueNormalizer | undefined, raw: string): string {
  if (how === 'email') return raw.trim().toLowerCase();
  if (how === 'phone') {
    const digits = raw.replace(/[^\d]/g, '');
    return (raw.trim().startsWith('+') ? '+' : '') + digits;
  }
  return raw.trim();
}

/** 203.0.113.57 → 203.0.113.0; 2001:db8:85a3:8d3:1319:8a2e:370:7348 → 2001:db8:85a3::. Anything else is dropped. */
const IPV4 = /^\d{1,3}\.\d{1,3}\.\d{1,3}\.\d{1,3}$/;

export function truncateIp(ip: string): string | undefined {
  // IPv4, every event's case: a test and a slice, no match arrays.
  const trimmed = ip.trim();
  if (IPV4.test(trimmed)) return `${trimmed.slice(0, trimmed.lastIndexOf('.'))}.0`;
  const mapped = /^::ffff:(\d{1,3}\.\d{1,3}\.\d{1,3}\.\d{1,3})$/i.exec(ip.trim());
  if (mapped) return truncateIp(mapped[1]!);
  if (ip.includes(':')) {
    const [head] = ip.trim().toLowerCase().split('::');
    const groups = (head ?? '').split(':').filter(Boolean);
    // "2001:db8::1" has fewer than three groups before "::": the rest are zeros.
    while (groups.length < 3) groups.push('0');
    return `${groups.slice(0, 3).join(':')}::`;
  }
  return undefined;
}

function defaultNormalizer(path: string): ValueNormalizer {
  const leaf = path.slice(path.lastIndexOf('.') + 1).toLowerCase();
  return leaf === 'email' ? 'email' : leaf === 'phone' ? 'phone' : 'none';
}

/** A rule ready to apply, with the tokens it made by raw value (under the active key, which a Pseudonymizer never changes). */
type Compiled = { parts: string[]; rule: PseudonymizeRule; made: Map<string, string> };

/**
 * HMAC-SHA256 (RFC 2104) from two hashes pre-fed with the padded key: copying them is several
 * times cheaper than createHmac, which imports the key on every call (5.7 µs per workload event
 * with createHmac, measured by npm run bench -- --privacy).
 */
class KeyedHash {
  private readonly inner: Hash;
  private readonly outer: Hash;
  constructor(secret: string) {
    let key = Buffer.from(secret, 'utf8');
    if (key.length > 64) key = createHash('sha256').update(key).digest();
    const pad = (byte: number) => Buffer.from(Array.from({ length: 64 }, (_, i) => (key[i] ?? 0) ^ byte));
    this.inner = createHash('sha256').update(pad(0x36));
    this.outer = createHash('sha256').update(pad(0x5c));
  }
  digest(message: string): string {
    const inner = this.inner.copy().update(message).digest();
    return this.outer.copy().update(inner).digest('base64url');
  }
}

/** Tokens remembered per key, and per rule by raw value: identifiers repeat (a person's events come in bursts). */
const CACHED_TOKENS = 50_000;

export class Pseudonymizer {
  private readonly compiled: Compiled[];
  private readonly hashes = new Map<string, KeyedHash>();
  private readonly cache = new Map<string, string>();
  /** The first key is the active one; the others still read tokens made before a rotation. */
  constructor(
    rules: readonly PseudonymizeRule[],
    private readonly keys: readonly PseudonymKey[],
  ) {
    if (rules.some((r) => r.method === 'hmac') && keys.length === 0) throw new Error('hmac pseudonymization needs at least one key (privacy.keys or MOSAIC_PRIVACY_KEYS)');
    // An email or phone path is normalized as one unless told otherwise: "Ann@X.io" and
    // "ann@x.io" must be one token, or identity resolution would split the person.
    this.compiled = rules.map((rule) => ({ parts: rule.path.split('.'), rule: { ...rule, normalize: rule.normalize ?? defaultNormalizer(rule.path) }, made: new Map() }));
    for (const k of keys) this.hashes.set(k.id, new KeyedHash(k.secret));
  }

  get active(): string | undefined {
    return this.keys[0]?.id;
  }

  /** The token of a value under one key (the active one by default). */
  token(raw: string, normalize?: ValueNormalizer, keyId = this.keys[0]?.id): string {
    if (isToken(raw)) return raw;
    const hash = keyId === undefined ? undefined : this.hashes.get(keyId);
    if (!hash) throw new Error(`no pseudonymization key "${keyId}"`);
    const value = normalizeValue(normalize, raw);
    const cacheKey = `${keyId}\n${value}`;
    let token = this.cache.get(cacheKey);
    if (token === undefined) {
      token = `${TOKEN_PREFIX}${keyId}:${hash.digest(value).slice(0, 32)}`;
      if (this.cache.size >= CACHED_TOKENS) this.cache.clear(); // bounded: a crude but allocation-free eviction
      this.cache.set(cacheKey, token);
    }
    return token;
  }

  /** The value's token under every key, active first: what a lookup by the raw value must try. */
  tokens(raw: string, normalize?: ValueNormalizer): string[] {
    return this.keys.map((k) => this.token(raw, normalize, k.id));
  }

  /** The hmac rule that covers a path, if any (for lookups by identifier). */
  ruleFor(path: string): PseudonymizeRule | undefined {
    return this.compiled.find((c) => c.rule.path === path && c.rule.method === 'hmac')?.rule;
  }

  /** A value as it would be stored at this dotted path (for copies of it elsewhere, e.g. in a violation report). */
  storedValue(path: string, value: unknown): unknown {
    const c = this.compiled.find((x) => x.rule.path === path);
    if (!c || (typeof value !== 'string' && typeof value !== 'number')) return value;
    return c.rule.method === 'hmac' ? this.token(String(value), c.rule.normalize) : truncateIp(String(value));
  }

  /**
   * Replaces the configured paths of a message in place. Strings and numbers only; tokens are
   * left as they are. `onToken` hears each value replaced by a token (for the vault).
   */
  apply(msg: Record<string, unknown>, onToken?: (token: string, value: string) => void): void {
    for (const { parts, rule, made } of this.compiled) {
      let parent: Record<string, unknown> | undefined = msg;
      for (let i = 0; i < parts.length - 1 && parent; i++) {
        const next: unknown = parent[parts[i]!];
        parent = next !== null && typeof next === 'object' && !Array.isArray(next) ? (next as Record<string, unknown>) : undefined;
      }
      if (!parent) continue;
      const leaf = parts[parts.length - 1]!;
      const v = parent[leaf];
      if (typeof v !== 'string' && typeof v !== 'number') continue;
      if (rule.method === 'hmac') {
        const raw = String(v);
        // By raw value, per rule: a hit costs one lookup, with no normalizing and no key string to build.
        let token = made.get(raw);
        if (token === undefined) {
          token = this.token(raw, rule.normalize);
          if (made.size >= CACHED_TOKENS) made.clear();
          made.set(raw, token);
        }
        parent[leaf] = token;
        if (onToken && token !== raw) onToken(token, raw);
      } else {
        const t = truncateIp(String(v));
        if (t === undefined) delete parent[leaf];
        else parent[leaf] = t;
      }
    }
  }
}
