import type { IdentityKey } from '../core/identity.js';
import type { ProfileDoc } from '../core/profile.js';

/** One processed batch: profile changes and the log positions they consumed, committed together. */
export interface ProfileCommit {
  upserts: Iterable<ProfileDoc>;
  deletes: Iterable<string>;
  identities: Iterable<[IdentityKey, string]>;
  /** partition -> next offset to read. */
  offsets: ReadonlyMap<number, number>;
}

export interface ProfileStore {
  /** partition -> next offset to read, as last committed. */
  readOffsets(): Promise<Map<number, number>>;
  /** Profile id for each key that has one. */
  lookupIdentities(keys: readonly IdentityKey[]): Promise<Map<IdentityKey, string>>;
  getProfiles(ids: readonly string[]): Promise<Map<string, ProfileDoc>>;
  getProfileByIdentity(key: IdentityKey): Promise<ProfileDoc | undefined>;
  /** Atomic: all of it or none of it. */
  commit(batch: ProfileCommit): Promise<void>;
  /** Drops every profile, identity and offset (before a replay). */
  reset(): Promise<void>;
  countProfiles(): Promise<number>;
  /** Small facts about how the profiles were built (e.g. the computed-trait definitions). Survive reset(). */
  getMeta(key: string): Promise<string | undefined>;
  setMeta(key: string, value: string): Promise<void>;
  close(): Promise<void>;
}
