/** A person's encryption key for a log that cannot remove single events (crypto-shredding). */
export interface SubjectKey {
  /** Random: what an encrypted entry names, linking it to no one once the key is gone. */
  id: string;
  /** 32 bytes, AES-256. */
  key: Buffer;
}

/**
 * Per-subject keys. Subjects are kept only as hashes; destroying a subject's key makes every
 * entry encrypted under it unreadable for good.
 */
export interface SubjectKeys {
  /** Each subject's key, created where missing (concurrent callers get the same one). */
  keysFor(subjects: readonly string[]): Promise<Map<string, SubjectKey>>;
  /** Keys by id; destroyed ones are absent. */
  keysById(ids: readonly string[]): Promise<Map<string, Buffer>>;
  /** Destroys the subjects' keys; resolves with how many existed. */
  destroy(subjects: readonly string[]): Promise<number>;
  /** Leaves no byte of destroyed keys in the storage's files (where it has files). */
  scrub(): Promise<boolean>;
  close(): Promise<void>;
}
