/** Entry point of the processor's worker thread (see ThreadProcessorHost). */
import { parentPort, workerData } from 'node:worker_threads';
import { openEventLog, openProfileCache, openProfileStore, partitionLeases } from '../adapters/from-config.js';
import type { Config } from '../config.js';
import type { IdentityKey } from '../core/identity.js';
import type { ErasureCommit } from '../ports/profile-store.js';
import { eventEnricher, identityRules, profileModel } from './profile-model.js';
import { createLogger } from '../observe/logger.js';
import { Metrics } from '../observe/metrics.js';
import { Processor, type Progress } from './processor.js';
import { Transformations } from './transformations.js';

/** prom-client's getMetricsAsJSON() output, as AggregatorRegistry.aggregate takes it. */
export type MetricsJson = object[];

export type ToThread =
  | { type: 'wake' }
  | { type: 'stop' }
  | { type: 'drain'; id: number }
  | { type: 'metrics'; id: number }
  | { type: 'erase'; id: number; commit: ErasureCommit; keys: IdentityKey[] }
  | { type: 'emitted'; id: number; error?: string };
export type FromThread =
  | { type: 'ready'; progress: Progress }
  /** Audience events for the host to append: the log has one writer, on the host's thread. */
  | { type: 'emit'; id: number; pending: string[] }
  | { type: 'progress'; progress: Progress }
  /** An erasure's reply is 0 once committed, or the error's message. */
  | { type: 'reply'; id: number; value: number | string | MetricsJson }
  | { type: 'stopped' };

async function main(): Promise<void> {
  const port = parentPort!;
  const { config } = workerData as { config: Config };
  const logger = createLogger(config.logLevel).child({ thread: 'processor' });
  const metrics = new Metrics();
  const log = await openEventLog(config, 'reader');
  const leases = partitionLeases(config, log.partitions, (err) => logger.warn({ err }, 'partition leases: lost the connection; retrying'));
  const store = await openProfileStore(config, { mainWriter: true });
  const cache = openProfileCache(config);
  const send = (msg: FromThread) => port.postMessage(msg);
  const emitted = new Map<number, (error?: string) => void>();
  let nextEmit = 0;

  // Positions go to the host after every batch: it computes lag against the log's ends.
  const processor = new Processor(log, store, {
    leases,
    ...(cache ? { cache } : {}),
    batchSize: config.processor.batchSize,
    pollMs: config.processor.pollMs,
    lingerMs: config.processor.lingerMs,
    cachedParts: config.processor.cachedParts,
    // Functions cannot cross threads: compiled here.
    rules: await identityRules(config, store),
    model: profileModel(config, eventEnricher(config, logger)),
    metrics,
    logger,
    onProgress: (progress) => send({ type: 'progress', progress }),
    emit: (pending) =>
      new Promise<void>((resolve, reject) => {
        const id = nextEmit++;
        emitted.set(id, (error) => (error ? reject(new Error(error)) : resolve()));
        send({ type: 'emit', id, pending });
      }),
    audienceTimer: config.audienceTimer,
    transform: await Transformations.load(config.transformations),
  });
  await processor.init();
  processor.start();

  port.on('message', (msg: ToThread) => {
    switch (msg.type) {
      case 'wake':
        processor.wake();
        break;
      case 'emitted':
        emitted.get(msg.id)?.(msg.error);
        emitted.delete(msg.id);
        break;
      case 'drain':
        void processor.drain().then((n) => send({ type: 'reply', id: msg.id, value: n }));
        break;
      case 'erase':
        processor.erase(msg.commit, msg.keys).then(
          () => send({ type: 'reply', id: msg.id, value: 0 }),
          (err: unknown) => send({ type: 'reply', id: msg.id, value: String(err) }),
        );
        break;
      case 'metrics':
        void metrics.registry.getMetricsAsJSON().then((value) => send({ type: 'reply', id: msg.id, value }));
        break;
      case 'stop':
        void (async () => {
          await processor.stop();
          await store.close();
          await cache?.close();
          await log.close();
          send({ type: 'stopped' });
          port.close();
        })();
        break;
    }
  });
  send({ type: 'ready', progress: processor.progress() });
}

void main();
