import type pg from 'pg';
import type { SubjectKey, SubjectKeys } from '../../ports/subject-keys.js';
import { newSubjectKey, subjectHash } from '../subject-key-rows.js';
import { openMigratedPool } from './pool.js';

/** Subject keys in the `subject_keys` table, shared by every process on the store. */
export class PostgresSubjectKeys implements SubjectKeys {
  private constructor(private readonly pool: pg.Pool) {}

  static async open(opts: { url: string; schema: string }): Promise<PostgresSubjectKeys> {
    return new PostgresSubjectKeys(await openMigratedPool(opts, 'mosaic-keys'));
  }

  async keysFor(subjects: readonly string[]): Promise<Map<string, SubjectKey>> {
    const unique = [...new Set(subjects)];
    if (!unique.length) return new Map();
    const hashes = unique.map(subjectHash);
    // Inserted in hash order: two processes inserting overlapping subjects in different orders
    // would each wait on a row the other holds (a deadlock, which the conformance test met).
    const sorted = [...hashes].sort();
    const fresh = sorted.map(() => newSubjectKey());
    // Insert what is missing (another process may insert the same subject now: its key wins), then read back.
    await this.pool.query(
      'INSERT INTO subject_keys (subject_hash, id, key, at) SELECT * FROM unnest($1::text[], $2::text[], $3::bytea[], $4::bigint[]) AS t(h, id, key, at) ORDER BY h ON CONFLICT (subject_hash) DO NOTHING',
      [sorted, fresh.map((k) => k.id), fresh.map((k) => k.key), fresh.map(() => Date.now())],
    );
    const { rows } = await this.pool.query<{ subject_hash: string; id: string; key: Buffer }>('SELECT subject_hash, id, key FROM subject_keys WHERE subject_hash = ANY($1::text[])', [hashes]);
    const byHash = new Map(rows.map((r) => [r.subject_hash, { id: r.id, key: r.key }]));
    return new Map(unique.map((s, i) => [s, byHash.get(hashes[i]!)!]));
  }

  async keysById(ids: readonly string[]): Promise<Map<string, Buffer>> {
    if (!ids.length) return new Map();
    const { rows } = await this.pool.query<{ id: string; key: Buffer }>('SELECT id, key FROM subject_keys WHERE id = ANY($1::text[])', [[...new Set(ids)]]);
    return new Map(rows.map((r) => [r.id, r.key]));
  }

  async destroy(subjects: readonly string[]): Promise<number> {
    if (!subjects.length) return 0;
    return (await this.pool.query('DELETE FROM subject_keys WHERE subject_hash = ANY($1::text[])', [subjects.map(subjectHash)])).rowCount ?? 0;
  }

  async scrub(): Promise<boolean> {
    await this.pool.query('VACUUM subject_keys');
    return true;
  }

  async close(): Promise<void> {
    await this.pool.end();
  }
}
