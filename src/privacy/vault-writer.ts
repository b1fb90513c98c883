import type { Vault } from '../ports/vault.js';

/** Tokens remembered as kept, at most (then forgotten all at once: memory stays bounded). */
const KNOWN_TOKENS = 100_000;

/**
 * The collector's side of the vault: most tokens it makes are ones it made before (the same
 * people come back), so it remembers which are kept and writes only new ones.
 */
export class VaultWriter {
  private readonly known = new Set<string>();

  constructor(readonly vault: Vault) {}

  knows(token: string): boolean {
    return this.known.has(token);
  }

  /** Durable when it resolves; then the tokens count as known. */
  async keep(values: ReadonlyMap<string, string>): Promise<void> {
    if (!values.size) return;
    await this.vault.keep([...values].map(([token, value]) => ({ token, value })));
    if (this.known.size + values.size > KNOWN_TOKENS) this.known.clear();
    for (const t of values.keys()) this.known.add(t);
  }

  /** After an erasure: these tokens are gone from the vault. */
  forgotten(tokens: Iterable<string>): void {
    for (const t of tokens) this.known.delete(t);
  }
}
