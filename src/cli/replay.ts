import { lockDataDir } from '../app.js';
import { openEventLog, openProfileStore } from '../adapters/from-config.js';
import type { Config } from '../config.js';
import { computedTraitsFingerprint } from '../core/computed-traits.js';
import { eventEnricher, identityRules, profileModel } from '../process/profile-model.js';
import { createLogger } from '../observe/logger.js';
import { AUDIENCES_META, Processor } from '../process/processor.js';
import { Transformations } from '../process/transformations.js';

/** Rebuilds all profiles from the log. Refuses to run while a server holds the data dir. */
export async function runReplay(config: Config): Promise<void> {
  const logger = createLogger(config.logLevel);
  const unlock = lockDataDir(config.dataDir);
  const log = await openEventLog(config, 'replay');
  const store = await openProfileStore(config, { mainWriter: true });
  try {
    // Offsets count events only on a log without gaps; elsewhere the progress has no total.
    const total = log.capabilities.offsetStride === 1 ? (await log.endOffsets()).reduce((a, n) => a + n - 1, 0) : undefined;
    await store.reset();
    await store.setMeta('computedTraits', computedTraitsFingerprint(config.computedTraits));
    const processor = new Processor(log, store, { batchSize: config.processor.batchSize, pollMs: config.processor.pollMs, cachedParts: config.processor.cachedParts, rules: await identityRules(config, store), model: profileModel(config, eventEnricher(config, logger)), transform: await Transformations.load(config.transformations) });
    await processor.init();
    const started = performance.now();
    let lastPrint = 0;
    const applied = await processor.drain((n) => {
      const now = performance.now();
      if (now - lastPrint > 500 || n === total) {
        lastPrint = now;
        if (total === undefined) process.stderr.write(`\rreplay: ${n} events`);
        else process.stderr.write(`\rreplay: ${n}/${total} events (${total ? ((100 * n) / total).toFixed(1) : '100'}%)`);
      }
    });
    const seconds = (performance.now() - started) / 1000;
    // Memberships were rebuilt with every event: the audiences are current, no backfill needed.
    const model = profileModel(config);
    await store.setMeta(AUDIENCES_META, JSON.stringify(Object.fromEntries((model.audiences ?? []).map((a) => [a.def.name, a.fingerprint]))));
    process.stderr.write('\n');
    const profiles = await store.countProfiles();
    logger.info({ events: applied, profiles, seconds: Number(seconds.toFixed(2)), eventsPerSecond: Math.round(applied / seconds) }, 'replay done');
  } finally {
    await store.close();
    await log.close();
    unlock();
  }
}
