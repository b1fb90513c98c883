import { createHash, randomFillSync } from 'node:crypto';
import type { SubjectKey } from '../ports/subject-keys.js';

/** How a subject is stored: hashed, so the key table names no one. */
export const subjectHash = (subject: string): string => createHash('sha256').update(`mosaic-subject\n${subject}`).digest('base64url');

/** Random bytes drawn in blocks: one system call per 1,489 keys, not two per key. */
const POOL = Buffer.alloc(44 * 1489);
let used = POOL.length;

/** A fresh key with a random id. */
export function newSubjectKey(): SubjectKey {
  if (used === POOL.length) {
    randomFillSync(POOL);
    used = 0;
  }
  const id = POOL.toString('base64url', used, used + 12);
  const key = Buffer.from(POOL.subarray(used + 12, used + 44)); // a copy: the pool is refilled
  POOL.fill(0, used, used + 44); // no copy of the key left behind in the pool
  used += 44;
  return { id, key };
}
