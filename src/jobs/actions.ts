import { lockDataDir } from '../data-dir-lock.js';
import type { Config } from '../config.js';
import type { ProfileModel } from '../core/profile.js';
import { applyRetention, compactLake } from '../lake/compact.js';
import { runImport } from '../lake/imports/run-import.js';
import { snapshotProfiles } from '../lake/snapshot.js';
import { computeRfm, rfmIdentifies } from '../lake/rfm.js';
import { clusterIdentifies, clusterProfiles } from '../lake/clusters.js';
import { appendEnvelopes } from '../process/emit.js';
import { trainAndScore } from '../personalize/train.js';
import { openExpectationRuns } from '../adapters/from-config.js';
import { configuredSuites, runExpectations } from '../quality/run-expectations.js';
import { duplicatesInLake, mergeEvents } from '../quality/duplicates.js';
import type { EventLog } from '../ports/event-log.js';
import type { ProfileStore } from '../ports/profile-store.js';
import type { JobAction, ScheduleDef } from './scheduler.js';

export interface JobContext {
  config: Config;
  store: ProfileStore;
  model: ProfileModel;
  writeKey: string;
  /** The tracking API imports send to. */
  url: () => string;
  /** Where batch features are written back (as Mosaic's own identify events); absent: such jobs cannot run here. */
  log?: EventLog;
  /** This process writes the lake (it runs the offload): lake jobs take turns with it. Otherwise they take the lake's lock. */
  holdsLake: boolean;
}

/** What each kind of scheduled job does. */
export function jobAction(def: ScheduleDef, ctx: JobContext): JobAction {
  const lakeDir = ctx.config.lake.dir!;
  const job = def.job;
  const onLake = (fn: () => Promise<{ rows?: number; message?: string }>): JobAction =>
    ctx.holdsLake
      ? fn
      : async () => {
          const unlock = lockDataDir(lakeDir); // fails while another process (an offload) writes the lake
          try {
            return await fn();
          } finally {
            unlock();
          }
        };
  switch (job.kind) {
    case 'import':
      return async () => {
        const imp = ctx.config.imports.find((i) => i.name === job.import)!;
        const s = await runImport(imp, { url: ctx.url(), writeKey: ctx.writeKey, stateDir: `${ctx.config.dataDir}/imports` });
        if (s.rejected) throw new Error(`${s.rejected} of ${s.read} rows rejected: ${Object.entries(s.reasons).map(([r, n]) => `${n} × ${r}`).slice(0, 5).join('; ')}`);
        return { rows: s.accepted, message: `${s.read} read, ${s.accepted} accepted, ${s.unchanged} unchanged` };
      };
    case 'compact':
      return onLake(async () => {
        const r = await compactLake(lakeDir, { before: new Date().toISOString().slice(0, 10) });
        return { rows: r.rows, message: `${r.filesMerged} files merged into ${r.folders}` };
      });
    case 'retention':
      return onLake(async () => {
        const r = await applyRetention(lakeDir, ctx.config.lake.retentionDays);
        return { rows: r.rows, message: `${r.folders} folders dropped` };
      });
    case 'rfm':
      return async () => {
        if (!ctx.log) throw new Error('rfm writes traits back through the event log: run it inside mosaic up or mosaic scheduler');
        const rows = await computeRfm(lakeDir, ctx.config.batchFeatures.rfm);
        await appendEnvelopes(ctx.log, rfmIdentifies(rows));
        return { rows: rows.length, message: `${rows.length} profiles scored` };
      };
    case 'clusters':
      return async () => {
        if (!ctx.log) throw new Error('clusters writes traits back through the event log: run it inside mosaic up or mosaic scheduler');
        const c = await clusterProfiles(lakeDir, { ...ctx.config.batchFeatures.clusters, ...ctx.config.batchFeatures.rfm });
        await appendEnvelopes(ctx.log, clusterIdentifies(c));
        return { rows: c.profiles.length, message: `${c.algorithm}: ${c.k} clusters, silhouette ${c.silhouette.toFixed(3)}` };
      };
    case 'model':
      return async () => {
        if (!ctx.log) throw new Error('a model writes its scores back through the event log: run it inside mosaic up or mosaic scheduler');
        const r = await trainAndScore(ctx.config, job.model, ctx.log);
        return { rows: r.written, message: `${job.model}: AUC ${r.auc === undefined ? 'n/a' : r.auc.toFixed(3)} on ${r.testRows} held-out profiles; ${r.written} profiles scored` };
      };
    case 'expectations':
      // Reads the lake only (the warehouse is read-only): no turn to take with the offload.
      return async () => {
        const runs = await openExpectationRuns(ctx.config);
        try {
          const done = await runExpectations(lakeDir, configuredSuites(ctx.config, job.suites), { runs });
          const bad = done.flatMap((r) => r.results.filter((x) => x.status !== 'pass').map((x) => `${r.suite}: ${x.name} ${x.status}: ${x.message}`));
          if (bad.length) throw new Error(`${bad.length} expectation${bad.length === 1 ? '' : 's'} not passing: ${bad.slice(0, 5).join('; ')}`);
          return { rows: done.reduce((n, r) => n + r.results.length, 0), message: `${done.length} suites passed` };
        } finally {
          await runs.close();
        }
      };
    case 'duplicates':
      return async () => {
        const d = ctx.config.quality.duplicates;
        const { pairs, profiles } = await duplicatesInLake(lakeDir, d);
        if (!d.merge.enabled) return { rows: pairs.length, message: `${pairs.length} candidate pairs (merge off)` };
        if (!ctx.log) throw new Error('merging duplicates goes through the event log: run it inside mosaic up or mosaic scheduler');
        const { events, skipped } = mergeEvents(pairs, new Map(profiles.map((p) => [p.profileId, p])), d.merge.threshold);
        await appendEnvelopes(ctx.log, events);
        return { rows: events.length, message: `${pairs.length} candidate pairs; ${events.length} merges sent to identity resolution, ${skipped.length} not linkable` };
      };
    case 'snapshot':
      return onLake(async () => ({ rows: (await snapshotProfiles(ctx.store, ctx.model, lakeDir)).profiles }));
  }
}
