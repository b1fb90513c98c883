import type { ChainedRecord } from '../core/hash-chain.js';

/** The consent_log table's row, the same in every SQL dialect. */
export type ConsentRow = { seq: number | string; at: number | string; subject: string; purposes: string; source: string; message_id: string; prev_hash: string; hash: string; commitment?: string | null; salt?: string | null };

export const toChained = (r: ConsentRow): ChainedRecord => ({
  seq: Number(r.seq),
  at: Number(r.at),
  subject: r.subject,
  purposes: JSON.parse(r.purposes) as Record<string, boolean>,
  source: r.source,
  messageId: r.message_id,
  prevHash: r.prev_hash,
  hash: r.hash,
  ...(r.commitment ? { commitment: r.commitment } : {}),
  ...(r.salt ? { salt: r.salt } : {}),
});
