import { test } from 'node:test';
import assert from 'node:assert/strict';
import type { Vault } from '../../src/ports/vault.js';
import { VaultCipher, type VaultKey } from '../../src/privacy/vault-cipher.js';

export const K1: VaultKey = { id: 'v1', secret: 'a-vault-secret-of-at-least-32-chars!' };
export const K2: VaultKey = { id: 'v2', secret: 'another-vault-secret-32-chars-long!!' };

/**
 * What every Vault adapter must do. `make(keys, where?)` opens a vault with these keys (the
 * first seals), on fresh storage or on `where`'s storage; `bytes(where)` reads its storage raw.
 */
export function vaultConformance<W>(name: string, make: (cipher: VaultCipher, where?: W) => Promise<{ vault: Vault; where: W }>, bytes: (where: W) => Buffer) {
  test(`${name}: keeps values under tokens, the first value wins, forgets; values are sealed at rest`, async () => {
    const { vault, where } = await make(new VaultCipher([K1]));
    try {
      await vault.keep([
        { token: 'pii:k1:aaa', value: 'ann@example.io' },
        { token: 'pii:k1:bbb', value: '+44 7700 900123' },
      ]);
      await vault.keep([{ token: 'pii:k1:aaa', value: 'ANN@EXAMPLE.IO' }]);
      await vault.keep([]);
      const ann = await vault.reveal('pii:k1:aaa');
      assert.equal(ann?.value, 'ann@example.io');
      assert.equal(ann?.keyId, 'v1');
      assert.ok(ann!.at > 0);
      assert.equal(await vault.reveal('pii:k1:zzz'), undefined);
      assert.equal(await vault.count(), 2);
      const raw = bytes(where).toString('latin1');
      assert.ok(raw.includes('pii:k1:aaa'), 'the token is the key');
      assert.ok(!raw.includes('ann@example.io') && !raw.includes('7700 900123'), 'values only sealed');

      assert.equal(await vault.forget(['pii:k1:aaa', 'pii:k1:nope']), 1);
      assert.equal(await vault.reveal('pii:k1:aaa'), undefined);
      assert.equal(await vault.count(), 1);
      assert.equal(await vault.scrub(), true);
      assert.ok(!bytes(where).toString('latin1').includes('pii:k1:aaa'), 'a forgotten token leaves no byte behind');
    } finally {
      await vault.close();
    }
  });

  test(`${name}: keys rotate: a new key seals, the old one still opens what it sealed, a missing key is an error`, async () => {
    const first = await make(new VaultCipher([K1]));
    await first.vault.keep([{ token: 'pii:k1:old', value: 'old value' }]);
    await first.vault.close();
    const rotated = await make(new VaultCipher([K2, K1]), first.where);
    try {
      await rotated.vault.keep([{ token: 'pii:k1:new', value: 'new value' }]);
      assert.deepEqual([(await rotated.vault.reveal('pii:k1:old'))?.keyId, (await rotated.vault.reveal('pii:k1:old'))?.value], ['v1', 'old value']);
      assert.deepEqual([(await rotated.vault.reveal('pii:k1:new'))?.keyId, (await rotated.vault.reveal('pii:k1:new'))?.value], ['v2', 'new value']);
    } finally {
      await rotated.vault.close();
    }
    const without = await make(new VaultCipher([K2]), first.where);
    try {
      await assert.rejects(without.vault.reveal('pii:k1:old'), /vault key "v1" is not configured/);
    } finally {
      await without.vault.close();
    }
  });
}
