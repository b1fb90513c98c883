import { createHash } from 'node:crypto';
import type { Envelope } from './envelope.js';

/**
 * Identities are graph nodes keyed "<type>:<id>". The type never contains ':'; the id may.
 * `alias:<x>` is an internal node: an alias call's previousId, which may later turn out to
 * be a user_id or an anonymous_id. Both sides probe each other, so the outcome does not
 * depend on which arrives first.
 */
export type IdentityKey = string;

export const ALIAS = 'alias';
const TYPE_RANK: Record<string, number> = { user_id: 0, anonymous_id: 1 };
const rank = (type: string) => TYPE_RANK[type] ?? (type === ALIAS ? 9 : 5);

export function identityKey(type: string, id: string): IdentityKey {
  return `${type}:${id}`;
}

export function splitKey(key: IdentityKey): { type: string; id: string } {
  const i = key.indexOf(':');
  return { type: key.slice(0, i), id: key.slice(i + 1) };
}

/** Parses "user_id:42" as written in API paths; undefined when malformed. */
export function parseIdentityRef(ref: string): { type: string; id: string } | undefined {
  const i = ref.indexOf(':');
  if (i <= 0 || i === ref.length - 1) return undefined;
  const type = ref.slice(0, i);
  if (!/^[a-z][a-z0-9_]*$/.test(type) || type === ALIAS) return undefined;
  return { type, id: ref.slice(i + 1) };
}

export interface EventIdentities {
  /** Nodes this event attaches to its profile. */
  nodes: IdentityKey[];
  /** Extra keys whose profiles must merge with this event's profile (alias probes). */
  probes: IdentityKey[];
}

export function eventIdentities(e: Pick<Envelope, 'type' | 'userId' | 'anonymousId' | 'previousId'>): EventIdentities {
  const nodes: IdentityKey[] = [];
  const probes: IdentityKey[] = [];
  if (e.userId) {
    nodes.push(identityKey('user_id', e.userId));
    probes.push(identityKey(ALIAS, e.userId));
  }
  if (e.anonymousId) {
    nodes.push(identityKey('anonymous_id', e.anonymousId));
    probes.push(identityKey(ALIAS, e.anonymousId));
  }
  if (e.type === 'alias' && e.previousId) {
    nodes.push(identityKey(ALIAS, e.previousId));
    probes.push(identityKey('user_id', e.previousId), identityKey('anonymous_id', e.previousId));
  }
  return { nodes, probes };
}

export function compareIdentityKeys(a: IdentityKey, b: IdentityKey): number {
  const ta = splitKey(a);
  const tb = splitKey(b);
  const r = rank(ta.type) - rank(tb.type);
  if (r !== 0) return r;
  if (ta.type !== tb.type) return ta.type < tb.type ? -1 : 1;
  return ta.id < tb.id ? -1 : ta.id > tb.id ? 1 : 0;
}

/**
 * A profile's id is derived from its highest-ranked identity (a user_id when it has one), so
 * it is the same whatever order the events arrived in, and a replay rebuilds the same ids.
 */
export function canonicalProfileId(sortedKeys: readonly IdentityKey[]): string {
  const first = sortedKeys[0];
  if (first === undefined) throw new Error('a profile needs at least one identity');
  return 'p_' + createHash('sha256').update(first).digest('base64url').slice(0, 22);
}
