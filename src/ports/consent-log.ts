import type { ChainedRecord, ConsentRecord } from '../core/hash-chain.js';

/**
 * The consent log: append-only and hash-chained (each entry carries the previous entry's hash),
 * so any change, insertion or removal is detected by `mosaic privacy verify`. Appends are
 * serialized per store: one chain, whichever collector writes.
 */
export interface ConsentLog {
  /** Links and appends the records after the current head; a messageId already logged is skipped. */
  append(records: readonly ConsentRecord[]): Promise<ChainedRecord[]>;
  /** In seq order, from after `afterSeq`. */
  read(afterSeq: number, limit: number): Promise<ChainedRecord[]>;
  /** Erasure: these subjects' entries lose their subject and salt; their commitments keep the chain whole. */
  redact(subjects: readonly string[]): Promise<number>;
  close(): Promise<void>;
}
