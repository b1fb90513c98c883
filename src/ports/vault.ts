/** A value kept under its pseudonymization token, as the vault gives it back. */
export interface VaultEntry {
  token: string;
  value: string;
  /** The vault key it was encrypted with. */
  keyId: string;
  /** When it was first kept. */
  at: number;
}

/**
 * The re-identification vault: raw values encrypted under their tokens. Only an audited
 * reveal reads them; an erasure forgets them.
 */
export interface Vault {
  /** Keeps each value under its token; a token already kept keeps its first value. Durable when it resolves. */
  keep(entries: readonly { token: string; value: string }[]): Promise<void>;
  reveal(token: string): Promise<VaultEntry | undefined>;
  /** Forgets these tokens; resolves with how many were kept. */
  forget(tokens: readonly string[]): Promise<number>;
  count(): Promise<number>;
  /** Leaves no trace of forgotten values in the storage's files. */
  scrub(): Promise<boolean>;
  close(): Promise<void>;
}
