import { createHash, randomBytes } from 'node:crypto';

/** One consent change as the consent log keeps it. */
export interface ConsentRecord {
  /** When Mosaic received it (ms). */
  at: number;
  /** The person, as an identifier the log holds: "user_id:…" or "anonymous_id:…" (pseudonymized where configured). */
  subject: string;
  /** Purpose → granted. */
  purposes: Record<string, boolean>;
  /** event (context.consent on a message) or api. */
  source: string;
  messageId: string;
}

export interface ChainedRecord extends ConsentRecord {
  seq: number;
  prevHash: string;
  hash: string;
  /**
   * SHA-256 of salt and subject: what the hash covers in place of the subject, so an erasure
   * can remove the subject and its salt (the entry can then no longer be tied to anyone) and
   * the chain still verifies. Absent on entries written before commitments existed.
   */
  commitment?: string;
  /** Random per entry; gone (with the subject) once the person is erased. */
  salt?: string;
}

/** What an erased entry's subject reads. */
export const ERASED_SUBJECT = '(erased)';

export const subjectCommitment = (salt: string, subject: string) => createHash('sha256').update(`${salt}\n${subject}`).digest('hex');

export const GENESIS = '0'.repeat(64);

/** The entry's hash: SHA-256 over the previous hash and the entry's fields in a fixed order (the subject as its commitment when it has one). */
export function chainHash(prevHash: string, seq: number, r: ConsentRecord & { commitment?: string }): string {
  const purposes = Object.keys(r.purposes).sort().map((k) => [k, r.purposes[k]]);
  return createHash('sha256').update(JSON.stringify([prevHash, seq, r.at, r.commitment ?? r.subject, purposes, r.source, r.messageId])).digest('hex');
}

/** Links records after `prev` (seq and hash of the last entry, or none). */
export function link(prev: { seq: number; hash: string } | undefined, records: readonly ConsentRecord[]): ChainedRecord[] {
  let seq = prev?.seq ?? 0;
  let prevHash = prev?.hash ?? GENESIS;
  return records.map((r) => {
    seq += 1;
    const salt = randomBytes(16).toString('base64url');
    const commitment = subjectCommitment(salt, r.subject);
    const hash = chainHash(prevHash, seq, { ...r, commitment });
    const out = { ...r, seq, prevHash, hash, commitment, salt };
    prevHash = hash;
    return out;
  });
}

/** The first entry whose hash or link does not hold, reading in seq order; undefined when the chain is whole. */
export function firstBroken(entries: Iterable<ChainedRecord>, prev: { seq: number; hash: string } | undefined = undefined): { seq: number; why: string } | undefined {
  let expectSeq = (prev?.seq ?? 0) + 1;
  let prevHash = prev?.hash ?? GENESIS;
  for (const e of entries) {
    if (e.seq !== expectSeq) return { seq: e.seq, why: `sequence jumps from ${expectSeq - 1} to ${e.seq} (an entry was removed)` };
    if (e.prevHash !== prevHash) return { seq: e.seq, why: 'its link to the previous entry does not match (an entry before it changed)' };
    if (chainHash(e.prevHash, e.seq, e) !== e.hash) return { seq: e.seq, why: 'its content does not match its hash (it was changed)' };
    if (e.commitment !== undefined && (e.salt === undefined ? e.subject !== ERASED_SUBJECT : subjectCommitment(e.salt, e.subject) !== e.commitment)) {
      return { seq: e.seq, why: 'its subject does not match its commitment (it was changed)' };
    }
    prevHash = e.hash;
    expectSeq += 1;
  }
  return undefined;
}
