import { Cron } from 'croner';
import type { Logger } from 'pino';
import type { Config } from '../config.js';
import { MosaicError } from '../errors.js';
import type { Metrics } from '../observe/metrics.js';
import type { JobRun, JobRuns } from '../ports/job-runs.js';

export type ScheduleDef = Config['schedules'][number];

/** What a job does; resolves with the rows it read or wrote, where it counts some. */
export type JobAction = () => Promise<{ rows?: number; message?: string } | void>;

export interface ScheduledJob {
  name: string;
  cron: string;
  timezone: string;
  kind: string;
  next: string | null;
}

/**
 * Runs the configured jobs on their cron expressions. A firing runs only if no other run of
 * the same job is under way, in this scheduler or another (JobRuns.exclusive); each run is
 * recorded with its status, duration and rows, and counted in the metrics.
 */
export class Scheduler {
  private readonly crons = new Map<string, Cron>();
  private readonly inFlight = new Set<Promise<unknown>>();

  constructor(
    private readonly defs: readonly ScheduleDef[],
    private readonly actionOf: (def: ScheduleDef) => JobAction,
    private readonly runs: JobRuns,
    private readonly opts: { logger?: Logger; metrics?: Metrics } = {},
  ) {}

  start(): void {
    for (const def of this.defs) {
      this.crons.set(def.name, new Cron(def.cron, { timezone: def.timezone }, () => void this.track(this.runNow(def.name).catch(() => undefined))));
    }
  }

  list(): ScheduledJob[] {
    return this.defs.map((d) => ({ name: d.name, cron: d.cron, timezone: d.timezone, kind: d.job.kind, next: nextRun(d) }));
  }

  /** Runs a job now (unless it is already running somewhere): the run as recorded, or undefined when skipped. */
  async runNow(name: string): Promise<JobRun | undefined> {
    const def = this.defs.find((d) => d.name === name);
    if (!def) throw new MosaicError('MOSAIC_BAD_REQUEST', { message: `No scheduled job named "${name}" (${this.defs.map((d) => d.name).join(', ') || 'none is configured'}).` });
    const { logger, metrics } = this.opts;
    const outcome = await this.runs.exclusive(name, async () => {
      const startedAt = Date.now();
      let run: JobRun;
      try {
        const r = (await this.actionOf(def)()) ?? {};
        run = { job: name, startedAt, finishedAt: Date.now(), status: 'succeeded', ...r };
      } catch (err) {
        run = { job: name, startedAt, finishedAt: Date.now(), status: 'failed', message: (err as Error).message };
        logger?.error({ err, job: name }, 'scheduled job failed');
      }
      await this.runs.record(run);
      metrics?.jobRuns.inc({ job: name, status: run.status });
      metrics?.jobSeconds.observe({ job: name }, (run.finishedAt - run.startedAt) / 1000);
      if (run.status === 'succeeded') metrics?.jobLastSuccess.set({ job: name }, run.finishedAt / 1000);
      logger?.info({ job: name, status: run.status, seconds: (run.finishedAt - run.startedAt) / 1000, rows: run.rows }, 'scheduled job ran');
      return run;
    });
    if (!outcome.ran) {
      metrics?.jobRuns.inc({ job: name, status: 'skipped' });
      logger?.info({ job: name }, 'scheduled job skipped: a run is under way');
      return undefined;
    }
    return outcome.value;
  }

  private track(p: Promise<unknown>): void {
    this.inFlight.add(p);
    void p.finally(() => this.inFlight.delete(p));
  }

  /** Stops firing and waits for the runs under way. */
  async stop(): Promise<void> {
    for (const c of this.crons.values()) c.stop();
    await Promise.all([...this.inFlight]);
  }
}

/** The next firing of a schedule (a paused Cron only computes). */
function nextRun(d: ScheduleDef): string | null {
  const c = new Cron(d.cron, { timezone: d.timezone, paused: true });
  const next = c.nextRun()?.toISOString() ?? null;
  c.stop();
  return next;
}
