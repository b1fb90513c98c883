import type { Compatibility, JsonSchema } from '../core/schema-diff.js';

/** One registered version of a subject's schema (see core/schema-subject.ts for subjects). */
export interface SchemaVersion {
  subject: string;
  /** 1, 2, 3… per subject. */
  version: number;
  schema: JsonSchema;
  /** What the next version must keep compatible with this one. */
  compatibility: Compatibility;
  createdAt: number;
}

/**
 * The tracking plan's schemas, shared by every collector. Versions are immutable once added;
 * the compatibility check happens before `insert`, which refuses a version number that exists
 * (two registrations racing: the second one checks again against the first).
 */
export interface SchemaRegistry {
  /** Adds a version; false when this subject already has that version number. */
  insert(v: SchemaVersion): Promise<boolean>;
  /** Every version of a subject, oldest first. */
  versions(subject: string): Promise<SchemaVersion[]>;
  /** The newest version of every subject, by subject. */
  latest(): Promise<SchemaVersion[]>;
  /** A number that changes whenever a version is added: collectors poll it to reload the plan. */
  revision(): Promise<number>;
  close(): Promise<void>;
}
