import { createCipheriv, createDecipheriv, createHash } from 'node:crypto';
import { nextGcmIv } from '../core/gcm-iv.js';

export interface VaultKey {
  id: string;
  secret: string;
}

const IV_BYTES = 12;
const TAG_BYTES = 16;

/**
 * AES-256-GCM under the vault's keys (the first one seals; every one opens what it sealed).
 * The token is the additional authenticated data: a sealed value moved under another token
 * does not open.
 */
export class VaultCipher {
  private readonly keys = new Map<string, Buffer>();

  constructor(keys: readonly VaultKey[]) {
    if (!keys.length) throw new Error('the vault needs at least one key (privacy.vault.keys or MOSAIC_VAULT_KEYS)');
    // A separate derivation: the same secret used elsewhere would still give another key here.
    for (const k of keys) this.keys.set(k.id, createHash('sha256').update(`mosaic-vault\n${k.secret}`).digest());
    this.active = keys[0]!.id;
  }

  readonly active: string;

  seal(token: string, value: string): Buffer {
    const iv = nextGcmIv();
    const cipher = createCipheriv('aes-256-gcm', this.keys.get(this.active)!, iv);
    cipher.setAAD(Buffer.from(token));
    const body = Buffer.concat([cipher.update(value, 'utf8'), cipher.final()]);
    return Buffer.concat([iv, cipher.getAuthTag(), body]);
  }

  /** The value, or an error when the key is unknown or the sealed bytes were changed. */
  open(token: string, keyId: string, sealed: Buffer): string {
    const key = this.keys.get(keyId);
    if (!key) throw new Error(`vault key "${keyId}" is not configured (privacy.vault.keys): it sealed this value`);
    const decipher = createDecipheriv('aes-256-gcm', key, sealed.subarray(0, IV_BYTES));
    decipher.setAAD(Buffer.from(token));
    decipher.setAuthTag(sealed.subarray(IV_BYTES, IV_BYTES + TAG_BYTES));
    return Buffer.concat([decipher.update(sealed.subarray(IV_BYTES + TAG_BYTES)), decipher.final()]).toString('utf8');
  }
}
