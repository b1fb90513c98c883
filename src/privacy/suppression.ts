import { createHash } from 'node:crypto';
import type { IdentityKey } from '../core/identity.js';
import type { ProfileStore } from '../ports/profile-store.js';

/**
 * An erased identifier as the suppression list keeps it: hashed, so the list that keeps a
 * person out does not itself name them.
 */
export function suppressionHash(key: IdentityKey): string {
  return createHash('sha256').update(`mosaic:suppressed\n${key}`).digest('base64url');
}

/**
 * The erased identifiers, held in memory and read again from the store when its count moves.
 * An event carrying any of them is dropped: at the collector (so an import or a client's retry
 * does not store it again) and at the processor (so a replay does not rebuild the profile).
 */
export class SuppressionList {
  private hashes = new Set<string>();
  private count = 0;

  /** One count query; the list itself only when it changed. */
  async refresh(store: Pick<ProfileStore, 'suppressionCount' | 'suppressions'>): Promise<void> {
    const n = await store.suppressionCount();
    if (n === this.count) return;
    this.hashes = new Set(await store.suppressions());
    this.count = n;
  }

  get size(): number {
    return this.hashes.size;
  }

  /** Free while nobody was erased: no hashing at all. */
  suppresses(keys: readonly IdentityKey[]): boolean {
    if (this.hashes.size === 0) return false;
    for (const k of keys) if (this.hashes.has(suppressionHash(k))) return true;
    return false;
  }
}
