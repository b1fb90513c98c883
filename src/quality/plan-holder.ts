import type { Logger } from 'pino';
import type { Config, ViolationPolicy } from '../config.js';
import type { Source } from '../ports/credentials.js';
import type { SchemaRegistry } from '../ports/schema-registry.js';
import { TrackingPlan } from './tracking-plan.js';

/**
 * The tracking plan a collector checks events against, rebuilt when the registry's revision
 * moves (a version registered here, by the CLI or by another collector). Polling a revision is
 * one indexed read every `refreshSeconds`; checking events never waits for it.
 */
export class PlanHolder {
  private plan: TrackingPlan;
  private revision = -1;
  private timer: NodeJS.Timeout | undefined;
  private refreshing: Promise<void> | undefined;

  constructor(
    readonly registry: SchemaRegistry,
    private readonly quality: Config['quality'],
    private readonly logger?: Logger,
  ) {
    this.plan = new TrackingPlan([], quality.unplanned);
  }

  get current(): TrackingPlan {
    return this.plan;
  }

  /** The policy of events from this source that break the plan. */
  policyFor(source: Pick<Source, 'id' | 'name'>): ViolationPolicy {
    return this.quality.sources[source.id] ?? this.quality.sources[source.name] ?? this.quality.violations;
  }

  /** Reloads the plan if the registry changed; one reload at a time. */
  refresh(): Promise<void> {
    this.refreshing ??= (async () => {
      try {
        const revision = await this.registry.revision();
        if (revision === this.revision) return;
        this.plan = new TrackingPlan(await this.registry.latest(), this.quality.unplanned);
        this.revision = revision;
        this.logger?.info({ revision, subjects: this.plan.size }, 'tracking plan loaded');
      } finally {
        this.refreshing = undefined;
      }
    })();
    return this.refreshing;
  }

  async start(): Promise<void> {
    await this.refresh();
    this.timer = setInterval(() => {
      this.refresh().catch((err: unknown) => this.logger?.warn({ err }, 'tracking plan: reload failed; keeping the current one'));
    }, this.quality.refreshSeconds * 1000);
    this.timer.unref();
  }

  stop(): void {
    clearInterval(this.timer);
  }
}
