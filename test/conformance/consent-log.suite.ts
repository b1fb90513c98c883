import { test } from 'node:test';
import assert from 'node:assert/strict';
import { ERASED_SUBJECT, firstBroken, GENESIS, type ConsentRecord } from '../../src/core/hash-chain.js';
import type { ConsentLog } from '../../src/ports/consent-log.js';

const rec = (n: number, purposes: Record<string, boolean> = { analytics: n % 2 === 0 }): ConsentRecord => ({ at: 1_700_000_000_000 + n, subject: `user_id:u${n}`, purposes, source: 'event', messageId: `src/m${n}` });

/** What every ConsentLog adapter must do. `make` returns a fresh, empty one; `second`, another process's view of it. */
export function consentLogConformance(name: string, make: () => Promise<ConsentLog>, second: (first: ConsentLog) => Promise<ConsentLog>) {
  test(`${name}: appends extend one chain from the genesis; a messageId logged once is skipped`, async () => {
    const log = await make();
    try {
      const a = await log.append([rec(1), rec(2)]);
      assert.deepEqual(a.map((x) => x.seq), [1, 2]);
      assert.equal(a[0]!.prevHash, GENESIS);
      assert.equal(a[1]!.prevHash, a[0]!.hash);
      assert.deepEqual((await log.append([rec(2), rec(3), rec(3)])).map((x) => x.seq), [3], 'm2 again and m3 twice: m3 once');
      const all = await log.read(0, 10);
      assert.deepEqual(all.map((x) => [x.seq, x.messageId]), [[1, 'src/m1'], [2, 'src/m2'], [3, 'src/m3']]);
      assert.deepEqual(all[0], a[0]);
      assert.equal(firstBroken(all), undefined);
      assert.deepEqual((await log.read(2, 10)).map((x) => x.seq), [3]);
      assert.deepEqual(await log.append([]), []);
    } finally {
      await log.close();
    }
  });

  test(`${name}: two writers appending at once still make one unbroken chain`, async () => {
    const a = await make();
    const b = await second(a);
    try {
      await Promise.all([
        ...Array.from({ length: 10 }, (_, i) => a.append([rec(100 + i)])),
        ...Array.from({ length: 10 }, (_, i) => b.append([rec(200 + i)])),
      ]);
      const all = await a.read(0, 100);
      assert.equal(all.length, 20);
      assert.equal(firstBroken(all), undefined);
    } finally {
      await b.close();
      await a.close();
    }
  });

  test(`${name}: redacting a subject removes it and its salt; the chain still holds, and a changed subject is caught`, async () => {
    const log = await make();
    try {
      await log.append([rec(1), rec(2), rec(3)]);
      assert.equal(await log.redact(['user_id:u2', 'user_id:nobody']), 1);
      const all = await log.read(0, 10);
      assert.deepEqual(all.map((x) => x.subject), ['user_id:u1', ERASED_SUBJECT, 'user_id:u3']);
      assert.equal(all[1]!.salt, undefined);
      // Salts and hashes are random text that may hold "u2" by chance: only the other fields are searched.
      const named = all.map(({ salt: _s, hash: _h, prevHash: _p, commitment: _c, ...rest }) => rest);
      assert.ok(!JSON.stringify(named).includes('u2'), 'nothing left names the erased subject');
      assert.ok(all.every((x) => x.subject === ERASED_SUBJECT || x.salt !== undefined), 'only erased entries lost their salt');
      assert.equal(firstBroken(all), undefined);
      assert.equal(firstBroken([all[0]!, { ...all[1]!, subject: 'user_id:u9' }, all[2]!])?.seq, 2, 'an erased entry given a subject again');
      assert.equal(firstBroken([{ ...all[0]!, subject: 'user_id:u9' }, all[1]!, all[2]!])?.seq, 1, 'a subject changed');
    } finally {
      await log.close();
    }
  });
}
