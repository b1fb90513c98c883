import { test } from 'node:test';
import assert from 'node:assert/strict';
import type { SubjectKeys } from '../../src/ports/subject-keys.js';

/** What every SubjectKeys adapter must do. `make` returns a fresh, empty one; `second`, another process's view of it. */
export function subjectKeysConformance(name: string, make: () => Promise<SubjectKeys>, second: (first: SubjectKeys) => Promise<SubjectKeys>) {
  test(`${name}: one key per subject, created once, found by id; destroyed keys are gone`, async () => {
    const keys = await make();
    try {
      const a = await keys.keysFor(['userId:ann', 'userId:bob', 'userId:ann']);
      assert.equal(a.size, 2);
      assert.equal(a.get('userId:ann')!.key.length, 32);
      assert.notEqual(a.get('userId:ann')!.id, a.get('userId:bob')!.id);
      const again = await keys.keysFor(['userId:ann']);
      assert.deepEqual(again.get('userId:ann'), a.get('userId:ann'), 'the same key every time');
      const byId = await keys.keysById([a.get('userId:ann')!.id, 'no-such-id']);
      assert.deepEqual([...byId.keys()], [a.get('userId:ann')!.id]);
      assert.ok(byId.get(a.get('userId:ann')!.id)!.equals(a.get('userId:ann')!.key));
      assert.equal((await keys.keysFor([])).size, 0);

      assert.equal(await keys.destroy(['userId:ann', 'userId:nobody']), 1);
      assert.equal((await keys.keysById([a.get('userId:ann')!.id])).size, 0);
      assert.equal((await keys.keysById([a.get('userId:bob')!.id])).size, 1, 'others keep theirs');
      const reborn = await keys.keysFor(['userId:ann']);
      assert.notEqual(reborn.get('userId:ann')!.id, a.get('userId:ann')!.id, 'a destroyed key never comes back');
      assert.equal(await keys.scrub(), true);
    } finally {
      await keys.close();
    }
  });

  test(`${name}: two processes asking for the same new subject at once get the same key`, async () => {
    const a = await make();
    const b = await second(a);
    try {
      // Overlapping subjects in opposite orders, several rounds: what once deadlocked on PostgreSQL.
      for (let round = 0; round < 5; round++) {
        const subjects = Array.from({ length: 200 }, (_, i) => `anonymousId:r${round}-${i}`);
        const [x, y] = await Promise.all([a.keysFor(subjects), b.keysFor([...subjects].reverse())]);
        for (const s of subjects) assert.equal(x.get(s)!.id, y.get(s)!.id, s);
      }
    } finally {
      await b.close();
      await a.close();
    }
  });
}
