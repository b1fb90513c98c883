import { isToken } from './pseudonymize.js';
import { createHash, createHmac } from 'node:crypto';
import type { Envelope } from './envelope.js';

/** Identities are graph nodes keyed "<type>:<id>". The type never contains ':'; the id may. */
export type IdentityKey = string;

export function identityKey(type: string, id: string): IdentityKey {
  return `${type}:${id}`;
}

export function splitKey(key: IdentityKey): { type: string; id: string } {
  const i = key.indexOf(':');
  return { type: key.slice(0, i), id: key.slice(i + 1) };
}

export const typeOf = (key: IdentityKey) => key.slice(0, key.indexOf(':'));

/** Parses "user_id:42" as written in API paths; undefined when malformed. */
export function parseIdentityRef(ref: string): { type: string; id: string } | undefined {
  const i = ref.indexOf(':');
  if (i <= 0 || i === ref.length - 1) return undefined;
  const type = ref.slice(0, i);
  if (!/^[a-z][a-z0-9_]*$/.test(type)) return undefined;
  return { type, id: ref.slice(i + 1) };
}

export const NORMALIZERS = ['none', 'email', 'phone'] as const;
export type Normalizer = (typeof NORMALIZERS)[number];

/** One identifier type, as configured. The list's order is the merge priority, highest first. */
export interface IdentifierTypeDef {
  type: string;
  /** Dotted paths read from each event, e.g. "userId", "context.traits.email". */
  paths: string[];
  /** At most this many identifiers of the type in one profile. */
  limit: number;
  normalize?: Normalizer;
  /** Pseudonymize (keyed HMAC-SHA256) before the value becomes a graph node. */
  hash?: boolean;
}

/**
 * Segment Unify's defaults, roughly: one user_id per profile, user_id ranked first and the
 * anonymous_id last, so a shared device or a shared inbox cannot glue two people together.
 */
export const DEFAULT_IDENTIFIER_TYPES: IdentifierTypeDef[] = [
  { type: 'user_id', paths: ['userId'], limit: 1 },
  { type: 'email', paths: ['traits.email', 'context.traits.email'], limit: 5, normalize: 'email', hash: true },
  { type: 'phone', paths: ['traits.phone', 'context.traits.phone'], limit: 5, normalize: 'phone', hash: true },
  { type: 'device_id', paths: ['context.device.id'], limit: 10 },
  { type: 'anonymous_id', paths: ['anonymousId'], limit: 100 },
];

export class IdentityRulesError extends Error {
  constructor(readonly problems: { path: string; message: string }[]) {
    super(problems.map((p) => `${p.path}: ${p.message}`).join('; '));
    this.name = 'IdentityRulesError';
  }
}

function normalize(how: Normalizer | undefined, raw: string): string | undefined {
  // A value pseudonymized at the collector was normalized there: the token is the identifier.
  if (isToken(raw)) return raw;
  if (how === 'email') {
    const v = raw.trim().toLowerCase();
    return /^[^\s@]+@[^\s@]+$/.test(v) ? v : undefined;
  }
  if (how === 'phone') {
    const digits = raw.replace(/[^\d]/g, '');
    if (digits.length < 5 || digits.length > 15) return undefined;
    return (raw.trim().startsWith('+') ? '+' : '') + digits;
  }
  const v = raw.trim();
  return v === '' ? undefined : v;
}

function getter(path: string): (e: Envelope) => unknown {
  const parts = path.split('.');
  // A group call's traits describe the group, never the person.
  const skipForGroup = parts[0] === 'traits';
  return (e) => {
    if (skipForGroup && e.type === 'group') return undefined;
    let v: unknown = e;
    for (const p of parts) {
      if (v === null || typeof v !== 'object') return undefined;
      v = (v as Record<string, unknown>)[p];
    }
    return v;
  };
}

interface CompiledType {
  def: IdentifierTypeDef;
  rank: number;
  read: ((e: Envelope) => unknown)[];
}

/**
 * Compiled identity rules: which identifiers an event carries, in priority order, and the
 * per-type limits. The hash key pseudonymizes email/phone before they are stored anywhere.
 */
export class IdentityRules {
  private readonly types: CompiledType[];
  private readonly byType = new Map<string, CompiledType>();

  constructor(
    defs: readonly IdentifierTypeDef[],
    private readonly hashKey: string,
  ) {
    const problems: { path: string; message: string }[] = [];
    defs.forEach((d, i) => {
      if (!/^[a-z][a-z0-9_]*$/.test(d.type)) problems.push({ path: `/identity/types/${i}/type`, message: `"${d.type}" must be lower-case letters, digits and _` });
      if (this.byType.has(d.type)) problems.push({ path: `/identity/types/${i}/type`, message: `"${d.type}" is declared twice` });
      const compiled = { def: d, rank: i, read: d.paths.map(getter) };
      this.byType.set(d.type, compiled);
    });
    for (const required of ['user_id', 'anonymous_id']) {
      if (!this.byType.has(required)) problems.push({ path: '/identity/types', message: `"${required}" must be among the identifier types (Segment's spec sends every event with one)` });
    }
    if (problems.length) throw new IdentityRulesError(problems);
    this.types = [...this.byType.values()];
  }

  get typeNames(): string[] {
    return this.types.map((t) => t.def.type);
  }

  limitOf(type: string): number {
    return this.byType.get(type)?.def.limit ?? Infinity;
  }

  /** Priority order: by configured type order, then by id, so every tie is broken the same way. */
  compare = (a: IdentityKey, b: IdentityKey): number => {
    const ta = typeOf(a);
    const tb = typeOf(b);
    const r = (this.byType.get(ta)?.rank ?? 1e9) - (this.byType.get(tb)?.rank ?? 1e9);
    if (r !== 0) return r;
    return a < b ? -1 : a > b ? 1 : 0;
  };

  /** The dotted paths an identifier type is read from. */
  pathsOf(type: string): readonly string[] {
    return this.byType.get(type)?.def.paths ?? [];
  }

  /** Every dotted path any identifier type is read from. */
  get paths(): string[] {
    return [...new Set(this.types.flatMap((t) => t.def.paths))];
  }

  /** The node for an identifier as a person would write it (e.g. in an API path); undefined when the type is unknown or the value unusable. */

  keyFor(type: string, raw: string): IdentityKey | undefined {
    const t = this.byType.get(type);
    if (!t) return undefined;
    const v = normalize(t.def.normalize, raw);
    if (v === undefined) return undefined;
    return identityKey(type, t.def.hash ? this.pseudonymize(type, v) : v);
  }

  private pseudonymize(type: string, value: string): string {
    return createHmac('sha256', this.hashKey).update(`${type}\n${value}`).digest('base64url').slice(0, 32);
  }

  /**
   * Every identifier an event carries as `<type>:<value>` with the value as stored (before
   * normalization or hashing): how records such as the audit trail name a person.
   */
  storedIdentifiersOf(e: Envelope): string[] {
    const out: string[] = [];
    for (const t of this.types) {
      for (const read of t.read) {
        const raw = read(e);
        if (typeof raw === 'string' || typeof raw === 'number') out.push(`${t.def.type}:${String(raw)}`);
      }
    }
    return out;
  }

  /**
   * Every identifier an event carries, highest priority first, without duplicates. An alias
   * call's previousId is the anonymous id being linked (as analytics.js sends it); when more
   * than one user_id is allowed per profile it may also be an earlier user_id.
   */
  identifiersOf(e: Envelope): IdentityKey[] {
    const out: IdentityKey[] = [];
    for (const t of this.types) {
      for (const read of t.read) {
        const raw = read(e);
        if (typeof raw !== 'string' && typeof raw !== 'number') continue;
        const key = this.keyFor(t.def.type, String(raw));
        if (key !== undefined && !out.includes(key)) out.push(key);
      }
    }
    if (e.type === 'alias' && e.previousId) {
      for (const type of this.limitOf('user_id') > 1 ? ['anonymous_id', 'user_id'] : ['anonymous_id']) {
        const key = this.keyFor(type, e.previousId);
        if (key !== undefined && !out.includes(key)) out.push(key);
      }
    }
    return out.sort(this.compare);
  }
}

/**
 * A profile's id is derived from its highest-priority identity (its user_id when it has one),
 * so it is the same whatever order the events arrived in, and a replay rebuilds the same ids.
 */
export function canonicalProfileId(topKey: IdentityKey): string {
  return 'p_' + createHash('sha256').update(topKey).digest('base64url').slice(0, 22);
}
