import { openJobRuns, openProfileStore } from '../adapters/from-config.js';
import type { Config } from '../config.js';
import { MosaicError } from '../errors.js';
import { jobAction } from '../jobs/actions.js';
import { Scheduler } from '../jobs/scheduler.js';
import type { JobRun } from '../ports/job-runs.js';
import { profileModel } from '../process/profile-model.js';

const when = (ms: number) => new Date(ms).toISOString().replace('.000Z', 'Z');
const line = (r: JobRun) => `${when(r.startedAt)}  ${r.job.padEnd(20)} ${r.status.padEnd(9)} ${((r.finishedAt - r.startedAt) / 1000).toFixed(1).padStart(7)} s  ${r.rows !== undefined ? `${r.rows} rows` : ''}${r.message ? `  ${r.message}` : ''}`;

export async function listJobs(config: Config): Promise<void> {
  if (config.schedules.length === 0) {
    process.stdout.write('no scheduled jobs (add them under schedules: in mosaic.yaml; see docs/scheduler.md)\n');
    return;
  }
  const runs = openJobRuns(config);
  try {
    const scheduler = new Scheduler(config.schedules, () => async () => undefined, runs);
    for (const j of scheduler.list()) {
      const [last] = await runs.history(j.name, 1);
      process.stdout.write(`${j.name.padEnd(20)} ${j.kind.padEnd(10)} "${j.cron}" ${j.timezone}  next ${j.next ?? 'never'}  last ${last ? `${last.status} at ${when(last.finishedAt)}` : 'never run'}\n`);
    }
  } finally {
    await runs.close();
  }
}

export async function jobHistory(config: Config, name: string | undefined, limit: number): Promise<void> {
  const runs = openJobRuns(config);
  try {
    const h = await runs.history(name, limit);
    process.stdout.write(h.length ? h.map(line).join('\n') + '\n' : 'no run yet\n');
  } finally {
    await runs.close();
  }
}

/** `mosaic jobs run <name>`: one run in this process, recorded like a scheduled one. */
export async function runJob(config: Config, name: string, url?: string): Promise<void> {
  const runs = openJobRuns(config);
  const store = await openProfileStore(config);
  try {
    const writeKey = config.writeKey ?? '';
    const scheduler = new Scheduler(config.schedules, (def) => jobAction(def, { config, store, model: profileModel(config), writeKey, url: () => url ?? `http://127.0.0.1:${config.port}`, holdsLake: false }), runs);
    const run = await scheduler.runNow(name);
    if (!run) throw new MosaicError('MOSAIC_BAD_REQUEST', { message: `${name} is running elsewhere right now; this run was skipped.` });
    process.stdout.write(line(run) + '\n');
    if (run.status === 'failed') process.exitCode = 1;
  } finally {
    await store.close();
    await runs.close();
  }
}
