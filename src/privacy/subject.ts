import { parseIdentityRef, type IdentityKey, type IdentityRules } from '../core/identity.js';
import type { Pseudonymizer } from '../core/pseudonymize.js';
import { MosaicError } from '../errors.js';
import type { ProfileStore } from '../ports/profile-store.js';

/** A person as named in a request (`<idType>:<id>`), resolved to the graph node that holds them. */
export interface SubjectNode {
  type: string;
  id: string;
  /** The node, when the value is usable for its type. */
  key: IdentityKey | undefined;
  /** How records (audit, requests) name the person: by token where the type is pseudonymized. */
  subject: string;
}

/**
 * Normalized and pseudonymized as the collector stores it, or a 400. A type whose values are
 * pseudonymized is stored as tokens: the raw value is looked up as its token under each key
 * (the active one first; older ones hold older events).
 */
export async function resolveSubject(ref: string, rules: IdentityRules, store: Pick<ProfileStore, 'nodeClusters'>, pseudonymizer?: Pseudonymizer): Promise<SubjectNode> {
  const parsed = parseIdentityRef(ref);
  if (!parsed) throw new MosaicError('MOSAIC_IDENTITY_INVALID', { details: [{ path: '/id', rule: 'format', message: `"${ref}" is not "<idType>:<id>"` }] });
  if (!rules.typeNames.includes(parsed.type)) {
    throw new MosaicError('MOSAIC_IDENTITY_INVALID', { details: [{ path: '/id', rule: 'type', message: `"${parsed.type}" is not a configured identifier type (${rules.typeNames.join(', ')})` }] });
  }
  const rule = rules.pathsOf(parsed.type).map((p) => pseudonymizer?.ruleFor(p)).find((r) => r !== undefined);
  if (rule && pseudonymizer) {
    const keys = pseudonymizer.tokens(parsed.id, rule.normalize).map((t) => rules.keyFor(parsed.type, t)).filter((k): k is IdentityKey => k !== undefined);
    const found = keys.length > 1 ? await store.nodeClusters(keys) : undefined;
    // Records name the person by token too: they must not hold the raw value either.
    return { ...parsed, key: keys.find((k) => found?.has(k)) ?? keys[0], subject: `${parsed.type}:${pseudonymizer.token(parsed.id, rule.normalize)}` };
  }
  return { ...parsed, key: rules.keyFor(parsed.type, parsed.id), subject: `${parsed.type}:${parsed.id}` };
}
