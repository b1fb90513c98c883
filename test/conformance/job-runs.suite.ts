import { test } from 'node:test';
import assert from 'node:assert/strict';
import type { JobRuns } from '../../src/ports/job-runs.js';

/** What every JobRuns adapter must do. `make` returns a fresh, empty one; `second`, another scheduler's view of the same (where the engine has one). */
export function jobRunsConformance(name: string, make: () => Promise<JobRuns>, second?: (first: JobRuns) => Promise<JobRuns>) {
  test(`${name}: a job runs once at a time; others may run meanwhile; it runs again once finished`, async () => {
    const runs = await make();
    try {
      let release!: () => void;
      const first = runs.exclusive('a', () => new Promise<string>((r) => (release = () => r('done'))));
      await new Promise((r) => setTimeout(r, 20));
      assert.deepEqual(await runs.exclusive('a', async () => 'again'), { ran: false });
      assert.deepEqual(await runs.exclusive('b', async () => 'other'), { ran: true, value: 'other' });
      release();
      assert.deepEqual(await first, { ran: true, value: 'done' });
      assert.deepEqual(await runs.exclusive('a', async () => 'later'), { ran: true, value: 'later' });
      await assert.rejects(runs.exclusive('a', async () => Promise.reject(new Error('boom'))), /boom/);
      assert.deepEqual(await runs.exclusive('a', async () => 'after a failure'), { ran: true, value: 'after a failure' });
    } finally {
      await runs.close();
    }
  });

  test(`${name}: history, newest first, per job or all`, async () => {
    const runs = await make();
    try {
      await runs.record({ job: 'a', startedAt: 1000, finishedAt: 2000, status: 'succeeded', rows: 5 });
      await runs.record({ job: 'b', startedAt: 3000, finishedAt: 3500, status: 'failed', message: 'no route' });
      await runs.record({ job: 'a', startedAt: 4000, finishedAt: 4100, status: 'succeeded' });
      assert.deepEqual(await runs.history('a', 10), [
        { job: 'a', startedAt: 4000, finishedAt: 4100, status: 'succeeded' },
        { job: 'a', startedAt: 1000, finishedAt: 2000, status: 'succeeded', rows: 5 },
      ]);
      assert.deepEqual((await runs.history(undefined, 2)).map((r) => r.job), ['a', 'b']);
      assert.deepEqual(await runs.history('b', 1), [{ job: 'b', startedAt: 3000, finishedAt: 3500, status: 'failed', message: 'no route' }]);
    } finally {
      await runs.close();
    }
  });

  if (second) {
    test(`${name}: two schedulers firing the same job: one runs it, the other skips`, async () => {
      const a = await make();
      const b = await second(a);
      try {
        let release!: () => void;
        const running = a.exclusive('nightly', () => new Promise<void>((r) => (release = r)));
        await new Promise((r) => setTimeout(r, 50));
        assert.deepEqual(await b.exclusive('nightly', async () => 'twice'), { ran: false });
        release();
        await running;
        assert.deepEqual(await b.exclusive('nightly', async () => 'next'), { ran: true, value: 'next' });
      } finally {
        await b.close();
        await a.close();
      }
    });
  }
}
