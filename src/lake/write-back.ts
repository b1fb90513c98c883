import type { Envelope } from '../core/envelope.js';
import { BATCH_SOURCE_ID } from '../core/profile.js';

/** A profile a batch feature writes to: the identity the traits are sent to (user_id when it has one). */
export interface Addressed {
  profileId: string;
  idType: 'user_id' | 'anonymous_id';
  id: string;
}

/**
 * Reverse ETL: traits computed in batch as identify events from `mosaic:batch`, appended to
 * the log like Mosaic's audience events, so profiles, audiences and destinations see them as
 * any trait (and do not count them as the person's events). One messageId per feature, profile
 * and day: a job run twice the same day writes once.
 */
export function batchIdentifies<T extends Addressed>(feature: string, rows: readonly T[], traits: (row: T) => Record<string, unknown>, now = Date.now()): string[] {
  const at = new Date(now).toISOString();
  const day = at.slice(0, 10);
  return rows.map((row) => {
    const e: Envelope = {
      type: 'identify',
      messageId: `${feature}-${row.profileId}-${day}`,
      ...(row.idType === 'user_id' ? { userId: row.id } : { anonymousId: row.id }),
      timestamp: at,
      receivedAt: at,
      sourceId: BATCH_SOURCE_ID,
      traits: traits(row),
    };
    return JSON.stringify(e);
  });
}

/** The identity each profile is addressed by, as a SQL CTE over the warehouse's identities. */
export const ADDRESSED_SQL = `SELECT profile_id, arg_max(type, type = 'user_id') AS id_type, arg_max(id, type = 'user_id') AS id
  FROM identities WHERE type IN ('user_id', 'anonymous_id') GROUP BY profile_id`;
