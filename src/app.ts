import { AggregatorRegistry, type Registry } from 'prom-client';
import Fastify, { LogController, type FastifyBaseLogger, type FastifyError, type FastifyInstance, type FastifyRequest } from 'fastify';
import type { Logger } from 'pino';
import { ControlStore } from './adapters/sqlite/control-store.js';
import { lockDataDir } from './data-dir-lock.js';
import { backends, openEmbedder, openItemStore, openItemVectorIndex, openConsentLog, openVault, openEventLog, openExpectationRuns, openJobRuns, openProfileCache, openProfileStore, openQuarantine, openSchemaRegistry, partitionLeases } from './adapters/from-config.js';
import { exportExpectationMetrics } from './quality/run-expectations.js';
import { PlanHolder } from './quality/plan-holder.js';
import { Pseudonymizer } from './core/pseudonymize.js';
import { qualityApi } from './serve/quality-api.js';
import { catalogApi } from './serve/catalog-api.js';
import type { Quarantine } from './ports/quarantine.js';
import { registerBodyParsing } from './collect/body-parsing.js';
import { collector } from './collect/collector.js';
import type { Config } from './config.js';
import { computedTraitsFingerprint } from './core/computed-traits.js';
import type { ProfileModel } from './core/profile.js';
import type { IdentityRules } from './core/identity.js';
import { eventEnricher, identityRules, itemTraits, profileModel } from './process/profile-model.js';
import { SignalBuilder, halfLivesOf } from './personalize/signal-builder.js';
import { ItemIndex } from './personalize/item-index.js';
import { Decider } from './personalize/decider.js';
import { Recommender } from './personalize/recommender.js';
import { TextDeriver } from './personalize/text-signals.js';
import { ProfileIndex } from './personalize/profile-index.js';
import { HnswVectorIndex } from './adapters/hnswlib/vector-index.js';
import type { IdentityKey } from './core/identity.js';
import { join } from 'node:path';
import { itemsApi } from './serve/items-api.js';
import { decideApi } from './serve/decide-api.js';
import { qualityReportApi } from './serve/quality-report-api.js';
import { experimentApi } from './serve/experiment-api.js';
import { modelApi } from './serve/model-api.js';
import { textApi } from './serve/text-api.js';
import fastifyCookie from '@fastify/cookie';
import { ConsoleSessions, consolePlugin, consoleSessionHook } from './serve/console.js';
import { metricsHistoryApi } from './serve/metrics-history-api.js';
import { SqliteMetricsHistory } from './adapters/sqlite/metrics-history.js';
import { MetricsSampler } from './observe/metrics-sampler.js';
import type { ItemStore } from './ports/item-store.js';
import { appendAudienceEvents, appendEnvelopes } from './process/emit.js';
import { Transformations } from './process/transformations.js';
import { Deliverer } from './destinations/deliverer.js';
import { ConsentGate, configuredLakeAdmission } from './privacy/consent-gate.js';
import { applyRetention, compactLake } from './lake/compact.js';
import { jobAction } from './jobs/actions.js';
import { Scheduler } from './jobs/scheduler.js';
import { Offloader } from './lake/offload.js';
import { snapshotProfiles } from './lake/snapshot.js';
import { MosaicError, type ErrorCode } from './errors.js';
import { createLogger } from './observe/logger.js';
import { Metrics } from './observe/metrics.js';
import type { EventLog } from './ports/event-log.js';
import type { ProfileStore } from './ports/profile-store.js';
import { InlineProcessorHost, ObservedProcessorHost, ThreadProcessorHost, type ProcessorHost } from './process/processor-host.js';
import { operations } from './serve/operations.js';
import { profileApi } from './serve/profile-api.js';
import { audienceApi } from './serve/audience-api.js';
import { deadLetterApi } from './serve/dead-letter-api.js';
import { tokenApi } from './serve/token-api.js';
import { reportApi } from './serve/report-api.js';
import { sqlApi } from './serve/sql-api.js';
import { privacyApi } from './serve/privacy-api.js';
import { SuppressionList } from './privacy/suppression.js';
import { VaultWriter } from './privacy/vault-writer.js';

/** Re-exported: the CLI's one-shot commands lock the data directory as a server does. */
export { lockDataDir };

export interface Mosaic {
  config: Config;
  app: FastifyInstance;
  log: EventLog;
  store: ProfileStore;
  control: ControlStore;
  processor: ProcessorHost;
  /** One per configured destination. */
  deliverers: Deliverer[];
  metrics: Metrics;
  logger: Logger;
  /** Credentials created by this start, to be shown once. */
  created: { writeKey?: string; apiToken?: string };
  /** The default source's write key (created or configured). */
  writeKey: string;
  /** Present when this process runs the scheduled jobs. */
  scheduler?: Scheduler;
  /** Present when personalization is on: the catalog and signals, and (serve role) the index and decider. */
  personalization?: { items: ItemStore; signals?: SignalBuilder; index?: ItemIndex; decider?: Decider; profiles?: ProfileIndex };
  close(): Promise<void>;
}


/** The offload loop of `mosaic up` / `mosaic offload`: one lake writer, holding the lake's lock. */
function startOffload(config: Config, log: EventLog, store: ProfileStore, rules: IdentityRules, model: ProfileModel, metrics: Metrics, logger: Logger): { stop: () => Promise<void> } {
  const lakeDir = config.lake.dir!;
  const unlock = lockDataDir(lakeDir);
  const offloader = new Offloader(log, { lakeDir, chunkEvents: config.lake.chunkEvents, metrics, logger, admission: configuredLakeAdmission(config, store, rules, metrics) });
  let current: Promise<unknown> = Promise.resolve();
  let lastSnapshot = 0;
  let maintainedDay = '';
  const tick = () => {
    current = offloader
      .run()
      .then(async () => {
        metrics.lakeOffloadLagEvents.set(await offloader.lag());
        // Once a day: yesterday's folders are complete, merge their small files; drop expired ones.
        const today = new Date().toISOString().slice(0, 10);
        if (today !== maintainedDay) {
          maintainedDay = today;
          const compacted = await compactLake(lakeDir, { before: today, metrics });
          const expired = await applyRetention(lakeDir, config.lake.retentionDays);
          if (compacted.folders || expired.folders) logger.info({ compacted, expired }, 'lake: compaction and retention');
        }
        const every = config.lake.snapshotIntervalSeconds * 1000;
        if (every > 0 && Date.now() - lastSnapshot >= every) {
          lastSnapshot = Date.now();
          const { profiles } = await snapshotProfiles(store, model, lakeDir);
          logger.info({ profiles, seconds: (Date.now() - lastSnapshot) / 1000 }, 'lake: profile snapshot written');
        }
      })
      .catch((err: unknown) => logger.error({ err }, 'lake: offload failed; retrying at the next interval'));
  };
  const timer = setInterval(tick, config.lake.offloadIntervalSeconds * 1000);
  timer.unref();
  return {
    stop: async () => {
      clearInterval(timer);
      await current;
      unlock();
    },
  };
}

function toMosaicError(err: FastifyError | MosaicError | Error, req: FastifyRequest): MosaicError {
  if (err instanceof MosaicError) return err;
  const code = (err as FastifyError).code;
  if (code === 'FST_ERR_CTP_BODY_TOO_LARGE') {
    const c = ((req.routeOptions.config as { tooLarge?: ErrorCode } | undefined)?.tooLarge) ?? 'MOSAIC_BATCH_TOO_LARGE';
    return new MosaicError(c);
  }
  if (code === 'FST_ERR_CTP_INVALID_MEDIA_TYPE') return new MosaicError('MOSAIC_BODY_UNSUPPORTED_MEDIA_TYPE');
  if (code === 'FST_ERR_CTP_EMPTY_JSON_BODY' || code === 'FST_ERR_CTP_INVALID_JSON_BODY') return new MosaicError('MOSAIC_BODY_INVALID_JSON');
  if (typeof code === 'string' && code.startsWith('Z_')) return new MosaicError('MOSAIC_BODY_BAD_GZIP', { cause: err });
  const status = (err as FastifyError).statusCode;
  if (status !== undefined && status >= 400 && status < 500) return new MosaicError('MOSAIC_BAD_REQUEST', { message: err.message, cause: err });
  return new MosaicError('MOSAIC_INTERNAL', { cause: err });
}

/** What a process does: every role for `mosaic up`, one each for `mosaic collect|process|serve|offload|scheduler`. */
export interface Roles {
  /** The tracking API (ingest). */
  collect: boolean;
  /** The processor (profiles, audiences) and destinations. */
  process: boolean;
  /** The profile, audience and dead-letter APIs. */
  serve: boolean;
  /** Copying the log to the Parquet lake, every lake.offloadIntervalSeconds. */
  offload?: boolean;
  /** The scheduled jobs (schedules:). */
  schedule?: boolean;
}

export const ALL_ROLES: Roles = { collect: true, process: true, serve: true, offload: true, schedule: true };

export interface CreateOptions {
  logger?: Logger;
  metrics?: Metrics;
  /** Default: all of them. /health and /metrics are served whatever the roles. */
  roles?: Roles;
  lock?: boolean;
}

/** Opens the stores and builds the HTTP app: collector, processor and API in one process. */
export async function createMosaic(config: Config, opts: CreateOptions = {}): Promise<Mosaic> {
  const logger = opts.logger ?? createLogger(config.logLevel);
  const metrics = opts.metrics ?? new Metrics({ defaultMetrics: true });
  // The embedded log and store have one writer per data directory; JetStream and PostgreSQL take many processes.
  const embedded = backends(config).log === 'sqlite' || backends(config).store === 'sqlite';
  const unlock = opts.lock === false || !embedded ? () => undefined : lockDataDir(config.dataDir);

  const roles = opts.roles ?? ALL_ROLES;
  const processInline = roles.process && (config.processor.mode === 'inline' || !config.processor.enabled);
  const log = await openEventLog(config, 'writer', { onCommit: (n) => metrics.logCommitEvents.observe(n) });
  // An inline processor commits through this process's store, fenced by its leases on a shared store.
  const leases = processInline ? partitionLeases(config, log.partitions, (err) => logger.warn({ err }, 'partition leases: lost the connection; retrying')) : undefined;
  const cache = openProfileCache(config);
  let store: ProfileStore;
  try {
    store = await openProfileStore(config, { mainWriter: processInline && config.processor.enabled });
  } catch (err) {
    await log.close();
    await cache?.close();
    unlock();
    throw err;
  }
  const control = new ControlStore({ dir: config.dataDir });
  // The tracking plan: checked by collectors, managed through the admin API.
  let quality: { plan: PlanHolder; quarantine: Quarantine } | undefined;
  if (roles.collect || roles.serve) {
    const registry = await openSchemaRegistry(config);
    quality = { plan: new PlanHolder(registry, config.quality, logger), quarantine: await openQuarantine(config) };
    await quality.plan.start();
  }
  const consentLog = roles.collect || roles.serve ? await openConsentLog(config) : undefined;
  const vault = roles.collect || roles.serve ? openVault(config) : undefined;
  const vaultWriter = vault ? new VaultWriter(vault) : undefined;
  // Erased people's identifiers (hashed), read from the store: the collector drops their events.
  const suppression = new SuppressionList();
  await suppression.refresh(store);
  const suppressionTimer = setInterval(() => void suppression.refresh(store).catch((err: unknown) => logger.warn({ err }, 'suppression list: could not refresh')), 5000);
  suppressionTimer.unref();
  // Expectation results are exported as metrics wherever they are read (runs come from the CLI and schedulers).
  const expectationRuns = roles.serve ? await openExpectationRuns(config) : undefined;

  const created: Mosaic['created'] = {};
  let writeKey: string;
  if (config.writeKey) {
    if (!control.sourceByWriteKey(config.writeKey)) control.createSource('default', config.writeKey);
    writeKey = config.writeKey;
  } else if (control.sourceCount() === 0) {
    writeKey = created.writeKey = control.createSource('default').writeKey;
  } else {
    writeKey = control.defaultSource()!.writeKey;
  }
  if (!config.apiToken && control.tokenCount() === 0) created.apiToken = control.createToken('admin').token;

  const model = profileModel(config);
  const pseudonymizer = config.privacy.pseudonymize.length ? new Pseudonymizer(config.privacy.pseudonymize, config.privacy.keys) : undefined;
  const rules = await identityRules(config, store); // before the thread starts: it reads the same key
  // Profiles remember which definitions built them; a change applies from now on only.
  const fingerprint = computedTraitsFingerprint(config.computedTraits);
  const builtWith = (await store.getMeta('computedTraits')) ?? ((await store.countProfiles()) === 0 ? fingerprint : '[]');
  if (builtWith === fingerprint) await store.setMeta('computedTraits', fingerprint);
  const computedTraitsCurrent = builtWith === fingerprint;
  if (!computedTraitsCurrent) {
    logger.warn(
      { builtWith: JSON.parse(builtWith), configured: config.computedTraits },
      'computed traits changed since the profiles were built: new or changed ones cover only events processed from now on; stop Mosaic and run `mosaic replay` to compute them over the whole history',
    );
  }
  // Loaded here even when the processor runs in a thread: a broken file stops start-up with its name.
  const transform = await Transformations.load(config.transformations);
  const runProcessor = roles.process && config.processor.enabled;
  const processor: ProcessorHost = !roles.process
    ? new ObservedProcessorHost(log, store)
    : !processInline
      ? new ThreadProcessorHost(config, log, logger)
      : new InlineProcessorHost(log, store, { batchSize: config.processor.batchSize, pollMs: config.processor.pollMs, lingerMs: config.processor.lingerMs, cachedParts: config.processor.cachedParts, rules, model: { ...model, enricher: eventEnricher(config, logger) }, metrics, logger, run: runProcessor, emit: (pending) => appendAudienceEvents(log, pending), audienceTimer: config.audienceTimer, transform, ...(leases ? { leases } : {}), ...(cache ? { cache } : {}) });
  await processor.start();
  const offload = roles.offload && config.lake.offloadIntervalSeconds > 0 ? startOffload(config, log, store, rules, model, metrics, logger) : undefined;
  const jobRuns = roles.schedule && config.schedules.length ? openJobRuns(config) : undefined;
  // Imports send to this process's own tracking API (or, without one, to config.port on this host).
  const ownUrl = () => {
    const address = app.server.address();
    return `http://127.0.0.1:${address && typeof address === 'object' ? address.port : config.port}`;
  };
  const scheduler = jobRuns ? new Scheduler(config.schedules, (def) => jobAction(def, { config, store, model, writeKey, url: ownUrl, log, holdsLake: offload !== undefined }), jobRuns, { logger, metrics }) : undefined;
  scheduler?.start();
  const consent = new ConsentGate(store, rules, model);
  const deliverers = roles.process ? config.destinations.map((d) => new Deliverer(log, store, d, { metrics, logger, consent, active: () => processor.leads() })) : [];
  for (const d of deliverers) await d.init();
  // Deliveries run beside the processor (tests that drive the processor by hand drive them too).
  if (runProcessor) for (const d of deliverers) d.start();

  // Personalization: item signals are built beside the processor; decisions are served with the APIs.
  const pz = config.personalization;
  const items: ItemStore | undefined = pz.enabled && (roles.process || roles.serve) ? await openItemStore(config) : undefined;
  // Readers of their own on JetStream (a partition's reader follows one position), so they do not
  // make the processor's or each other's consumer start over at every read.
  const ownReader = async () => (backends(config).log === 'nats' ? openEventLog(config, 'reader') : log);
  const signalLog = items && roles.process ? await ownReader() : undefined;
  let recommender: Recommender | undefined;
  const signals = items && signalLog ? new SignalBuilder(signalLog, items, pz, { metrics, logger, active: () => processor.leads(), onPairsChanged: (pairs) => recommender?.forgetPairs(pairs) }) : undefined;
  if (signals) {
    await signals.init();
    if (runProcessor) signals.start();
  }
  let itemIndex: ItemIndex | undefined;
  let decider: Decider | undefined;
  // People by what they wrote: an ANN index of profile text embeddings, in each serving process.
  let profileIndex: ProfileIndex | undefined;
  let profileLog: EventLog | undefined;
  if (roles.serve && pz.enabled && pz.text.sources.length) {
    const file = join(config.dataDir, 'profiles-text.hnsw');
    profileLog = await ownReader();
    profileIndex = new ProfileIndex(profileLog, store, rules, model, await HnswVectorIndex.open(pz.text.dimensions, file), { metaFile: `${file}.json`, logger });
    profileIndex.start();
  }
  if (items && roles.serve) {
    const embedder = openEmbedder(config);
    const { index, metaFile } = await openItemVectorIndex(config, embedder);
    itemIndex = ItemIndex.open(index, embedder, items, { metaFile, logger, metrics, onChange: (ids) => recommender?.forgetItems(ids) });
    recommender = new Recommender({ items, index: itemIndex, halfLives: halfLivesOf(pz) });
    itemIndex.start();
    decider = new Decider({
      store,
      recommender,
      rules,
      model,
      placements: pz.placements,
      itemTraits: itemTraits(config),
      recentItems: pz.recentItems,
      metrics,
      ...(pseudonymizer ? { pseudonymizer } : {}),
      expose: (e) =>
        void appendEnvelopes(log, [JSON.stringify(e)]).catch((err: unknown) => {
          metrics.exposuresFailed.inc();
          logger.warn({ err }, 'experiments: an exposure event could not be appended');
        }),
    });
  }

  const app: FastifyInstance = Fastify({
    loggerInstance: logger as FastifyBaseLogger,
    // Request lines at ingest rates cost more than they tell; errors are logged in the handler.
    logController: new LogController({ disableRequestLogging: true }),
    routerOptions: { ignoreTrailingSlash: true },
    bodyLimit: config.limits.batchBytes,
    trustProxy: config.trustProxy,
  });
  registerBodyParsing(app);
  let closing = false;
  app.addHook('onRequest', async () => {
    if (closing) throw new MosaicError('MOSAIC_SHUTTING_DOWN', { retryAfter: 1 });
  });
  // While closing, every answer ends its connection: a keep-alive connection busy when close
  // began is not closed by the server afterwards, and would hold the shutdown until its
  // keep-alive timeout (72 s) while its client kept sending on it.
  app.addHook('onSend', async (_req, reply, payload) => {
    if (closing) reply.header('connection', 'close');
    return payload;
  });
  app.addHook('onResponse', async (req, reply) => {
    const route = req.routeOptions.url ?? 'unmatched';
    metrics.httpRequests.inc({ route, status: reply.statusCode });
    metrics.httpSeconds.observe({ route }, reply.elapsedTime / 1000);
  });
  app.setErrorHandler((err: FastifyError, req, reply) => {
    const e = toMosaicError(err, req);
    if (e.status >= 500 && e.code !== 'MOSAIC_OVERLOADED_LOG' && e.code !== 'MOSAIC_SHUTTING_DOWN') req.log.error({ err }, 'request failed');
    else req.log.debug({ code: e.code, url: req.url }, 'request rejected');
    metrics.requestsRejected.inc({ code: e.code });
    if (e.retryAfter !== undefined) reply.header('retry-after', String(e.retryAfter));
    return reply.code(e.status).send(e.toJSON());
  });
  app.setNotFoundHandler((req, reply) => {
    const e = new MosaicError('MOSAIC_NOT_FOUND', { message: `No route ${req.method} ${req.url.split('?')[0]}.` });
    return reply.code(404).send(e.toJSON());
  });

  /** The registry with gauges read now, merged with the processor thread's when it runs in one. */
  const readMetrics = async (): Promise<Registry> => {
    // Lag is the host's (the log's ends against the processor's positions), read at scrape time.
    const lag = processor.lag();
    metrics.processorLagEvents.set(lag.events);
    metrics.processorLagSeconds.set(lag.seconds);
    for (const d of deliverers) metrics.destinationLagEvents.set({ destination: d.def.name }, await d.lag());
    if (signals) metrics.signalLagEvents.set(await signals.lag());
    if (expectationRuns) await exportExpectationMetrics(expectationRuns, metrics);
    if (quality) {
      metrics.quarantinePending.reset();
      for (const [rule, n] of await quality.quarantine.pendingByRule()) metrics.quarantinePending.set({ rule }, n);
    }
    const thread = await processor.metrics();
    return thread ? AggregatorRegistry.aggregate([await metrics.registry.getMetricsAsJSON(), thread]) : metrics.registry;
  };

  // The console (serve/console.ts) and the history its charts read, in serving processes.
  const consoleOn = roles.serve && config.console.enabled;
  const history = consoleOn ? new SqliteMetricsHistory({ dir: config.dataDir }) : undefined;
  const sampler = history
    ? new MetricsSampler(async () => (await readMetrics()).getMetricsAsJSON(), history, {
        intervalMs: config.console.historyIntervalSeconds * 1000,
        retentionMs: config.console.historyRetentionHours * 3_600_000,
        logger,
      })
    : undefined;
  if (consoleOn) {
    const sessions = new ConsoleSessions(config.console.sessionHours);
    await app.register(fastifyCookie);
    app.addHook('onRequest', consoleSessionHook(sessions, control));
    await app.register(consolePlugin, { control, envToken: config.apiToken, sessions, sessionHours: config.console.sessionHours, secureCookies: config.console.secureCookies });
    await app.register(metricsHistoryApi, { history: history!, control, envToken: config.apiToken, intervalSeconds: config.console.historyIntervalSeconds, retentionHours: config.console.historyRetentionHours });
    sampler!.start();
  }

  if (roles.collect) await app.register(collector, {
    log,
    control,
    metrics,
    limits: config.limits,
    maxLagEvents: config.processor.maxLagEvents,
    lagEvents: () => processor.lag().events,
    ...(quality ? { quality } : {}),
    ...(pseudonymizer ? { pseudonymizer } : {}),
    ...(consentLog ? { consentLog } : {}),
    suppression: { list: suppression, rules },
    ...(vaultWriter ? { vault: vaultWriter } : {}),
    ...(config.personalization.text.sources.length ? { text: new TextDeriver(config.personalization.text) } : {}),
  });
  if (roles.serve) {
    await app.register(profileApi, { store, control, envToken: config.apiToken, rules, model, log, ...(cache ? { cache } : {}), ...(pseudonymizer ? { pseudonymizer } : {}), ...(profileIndex ? { similar: profileIndex } : {}) });
    await app.register(deadLetterApi, { store, control, envToken: config.apiToken });
    await app.register(tokenApi, { control, envToken: config.apiToken });
    await app.register(reportApi, { store, control, envToken: config.apiToken, lakeDir: config.lake.dir!, audiences: config.audiences.map((a) => a.name), settings: config.privacy.reports });
    await app.register(sqlApi, { lakeDir: config.lake.dir!, control, envToken: config.apiToken });
    await app.register(qualityApi, { ...quality!, log, control, envToken: config.apiToken, defaultCompatibility: config.quality.defaultCompatibility, sourceName: (id) => control.sourceById(id)?.name, ...(pseudonymizer ? { pseudonymizer } : {}) });
    await app.register(catalogApi, {
      control,
      envToken: config.apiToken,
      deps: () => ({ config, log, store, sources: control.sources(), registry: quality!.plan.registry, quarantine: quality!.quarantine, ...(expectationRuns ? { expectationRuns } : {}), ...(jobRuns ? { jobRuns } : {}) }),
    });
    await app.register(privacyApi, {
      control,
      envToken: config.apiToken,
      ...(pseudonymizer ? { pseudonymizer } : {}),
      deps: { log, store, rules, model, control, processor, dataDir: config.dataDir, suppression, logger, ...(signals ? { forgetPeople: (ids: string[]) => signals.forget(ids) } : {}), ...(profileIndex ? { forgetKeys: (keys: IdentityKey[]) => profileIndex.forget(keys) } : {}), ...(vault ? { vault, vaultWriter } : {}), ...(quality ? { quarantine: quality.quarantine } : {}), ...(consentLog ? { consentLog } : {}), ...(cache ? { cache } : {}), ...(config.lake.dir ? { lakeDir: config.lake.dir } : {}) },
    });
    await app.register(audienceApi, { store, control, envToken: config.apiToken, audiences: model.audiences ?? [] });
    await app.register(modelApi, { config, log, control, envToken: config.apiToken });
    await app.register(qualityReportApi, { lakeDir: config.lake.dir!, control, envToken: config.apiToken, runs: expectationRuns! });
    await app.register(experimentApi, { config, control, envToken: config.apiToken });
    if (profileIndex) await app.register(textApi, { profiles: profileIndex, control, envToken: config.apiToken });
    if (items && decider && recommender) {
      const r = recommender;
      await app.register(itemsApi, { items, control, envToken: config.apiToken, changed: (ids) => r.forgetItems(ids) });
      await app.register(decideApi, { decider, control, envToken: config.apiToken });
    }
  }
  await app.register(operations, {
    metricsText: async () => (await readMetrics()).metrics(),
    contentType: metrics.registry.contentType,
    readiness: () => {
      const lag = processor.lag();
      const pending = log.pendingAppends();
      const ready = !closing && lag.events <= config.processor.maxLagEvents && pending < config.log.maxPendingEvents;
      return {
        ready,
        checks: { log: { pendingAppends: pending }, processor: { lagEvents: lag.events, lagSeconds: lag.seconds }, profiles: { computedTraitsCurrent } },
      };
    },
  });

  return {
    config,
    app,
    log,
    store,
    control,
    processor,
    deliverers,
    metrics,
    logger,
    created,
    writeKey,
    ...(scheduler ? { scheduler } : {}),
    ...(items ? { personalization: { items, ...(signals ? { signals } : {}), ...(itemIndex ? { index: itemIndex } : {}), ...(decider ? { decider } : {}), ...(profileIndex ? { profiles: profileIndex } : {}) } } : {}),
    async close() {
      closing = true;
      clearInterval(suppressionTimer);
      sampler?.stop();
      await app.close(); // waits for in-flight requests, whose appends complete first
      await processor.stop(); // finishes its batch; what it did not reach stays in the log
      await scheduler?.stop(); // waits for the runs under way
      await jobRuns?.close();
      await offload?.stop(); // finishes its step; the next start copies the rest
      for (const d of deliverers) await d.stop(); // an unfinished delivery is sent again at the next start
      await signals?.stop(); // its position is committed with each batch
      await itemIndex?.stop(); // saves the index and its position
      await profileIndex?.stop();
      await items?.close();
      for (const l of [signalLog, profileLog]) if (l && l !== log) await l.close();
      await log.close();
      await store.close();
      await cache?.close();
      await control.close();
      quality?.plan.stop();
      await quality?.plan.registry.close();
      await quality?.quarantine.close();
      await expectationRuns?.close();
      await consentLog?.close();
      await vault?.close();
      await history?.close();
      unlock();
    },
  };
}
