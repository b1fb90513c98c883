import { Counter, Gauge, Histogram, Registry, collectDefaultMetrics } from 'prom-client';

/** Every metric Mosaic exports, on one registry per process (tests create their own). */
export class Metrics {
  readonly registry = new Registry();
  readonly httpRequests = new Counter({
    name: 'mosaic_http_requests_total',
    help: 'HTTP requests by route and status code',
    labelNames: ['route', 'status'] as const,
    registers: [this.registry],
  });
  readonly httpSeconds = new Histogram({
    name: 'mosaic_http_request_duration_seconds',
    help: 'Time from a request arriving to its response being sent, by route',
    labelNames: ['route'] as const,
    buckets: [0.0002, 0.0005, 0.001, 0.002, 0.003, 0.005, 0.0075, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5],
    registers: [this.registry],
  });
  readonly eventsAccepted = new Counter({
    name: 'mosaic_events_accepted_total',
    help: 'Events durably appended to the log, by message type',
    labelNames: ['type'] as const,
    registers: [this.registry],
  });
  readonly eventsDuplicate = new Counter({
    name: 'mosaic_events_duplicate_total',
    help: 'Events dropped because their (source, messageId) was already in the log',
    registers: [this.registry],
  });
  readonly planViolations = new Counter({
    name: 'mosaic_plan_violations_total',
    help: 'Tracking-plan violations found at ingest, by rule and by what the source policy did with the event (allow, quarantine, reject)',
    labelNames: ['rule', 'policy'] as const,
    registers: [this.registry],
  });
  readonly eventsQuarantined = new Counter({
    name: 'mosaic_events_quarantined_total',
    help: 'Events held in the quarantine because they broke the tracking plan',
    registers: [this.registry],
  });
  readonly quarantinePending = new Gauge({
    name: 'mosaic_quarantine_pending',
    help: 'Quarantined events not yet replayed, by rule (an event breaking two rules counts under each), read at scrape time',
    labelNames: ['rule'] as const,
    registers: [this.registry],
  });
  readonly expectationPassing = new Gauge({
    name: 'mosaic_expectation_passing',
    help: 'Whether each expectation passed in its suite\'s latest run (1) or not (0: failed or errored)',
    labelNames: ['suite', 'expectation'] as const,
    registers: [this.registry],
  });
  readonly expectationLastRun = new Gauge({
    name: 'mosaic_expectation_last_run_timestamp_seconds',
    help: 'When each expectation suite last finished a run (Unix seconds)',
    labelNames: ['suite'] as const,
    registers: [this.registry],
  });
  readonly eventsRejected = new Counter({
    name: 'mosaic_events_rejected_total',
    help: 'Messages rejected by validation, by the rule they broke (one message may break several)',
    labelNames: ['reason'] as const,
    registers: [this.registry],
  });
  readonly requestsRejected = new Counter({
    name: 'mosaic_requests_rejected_total',
    help: 'Requests answered with an error, by error code',
    labelNames: ['code'] as const,
    registers: [this.registry],
  });
  readonly appendSeconds = new Histogram({
    name: 'mosaic_log_append_seconds',
    help: 'Time from a request handing its events to the log until they are durable',
    buckets: [0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1],
    registers: [this.registry],
  });
  readonly logCommitEvents = new Histogram({
    name: 'mosaic_log_commit_events',
    help: 'Events per group commit of the log',
    buckets: [1, 10, 100, 500, 1000, 5000, 20000],
    registers: [this.registry],
  });
  readonly processorBatchEvents = new Histogram({
    name: 'mosaic_processor_batch_events',
    help: 'Log entries per batch the processor applied (one profile-store commit each)',
    buckets: [1, 10, 100, 500, 1000, 2000, 5000, 10000],
    registers: [this.registry],
  });
  readonly processorLagEvents = new Gauge({
    name: 'mosaic_processor_lag_events',
    help: 'Events in the log not yet applied to profiles',
    registers: [this.registry],
  });
  readonly processorLagSeconds = new Gauge({
    name: 'mosaic_processor_lag_seconds',
    help: 'Age of the newest applied event while events are waiting; 0 when caught up',
    registers: [this.registry],
  });
  readonly processedEvents = new Counter({
    name: 'mosaic_processor_events_total',
    help: 'Events applied to profiles',
    registers: [this.registry],
  });
  readonly profileMerges = new Counter({
    name: 'mosaic_profile_merges_total',
    help: 'Profiles merged because one event carried identifiers of both',
    registers: [this.registry],
  });
  readonly identityConflicts = new Counter({
    name: 'mosaic_identity_conflicts_total',
    help: 'Merges refused by an identity limit (the event landed on its highest-priority identifier)',
    registers: [this.registry],
  });
  readonly identityReclusters = new Counter({
    name: 'mosaic_identity_reclusters_total',
    help: 'Batches whose late edges made a connected component be rebuilt from its stored edges',
    registers: [this.registry],
  });
  readonly audienceTransitions = new Counter({
    name: 'mosaic_audience_transitions_total',
    help: 'Profiles entering and exiting audiences',
    labelNames: ['audience', 'kind'] as const,
    registers: [this.registry],
  });
  readonly deadLetters = new Counter({
    name: 'mosaic_dead_letters_total',
    help: 'Events a transformation or destination could not handle (kept with the reason)',
    labelNames: ['kind', 'name'] as const,
    registers: [this.registry],
  });
  readonly transformationDropped = new Counter({
    name: 'mosaic_transformation_dropped_total',
    help: 'Events a transformation dropped on purpose (returned null)',
    registers: [this.registry],
  });
  readonly lakeRowsWritten = new Counter({
    name: 'mosaic_lake_rows_written_total',
    help: 'Events copied from the log to the Parquet lake',
    registers: [this.registry],
  });
  readonly lakeFilesWritten = new Counter({
    name: 'mosaic_lake_files_written_total',
    help: 'Parquet files written to the lake by offload (and compaction)',
    registers: [this.registry],
  });
  readonly lakeOffloadLagEvents = new Gauge({
    name: 'mosaic_lake_offload_lag_events',
    help: 'Events in the log not yet copied to the lake (an estimate on JetStream)',
    registers: [this.registry],
  });
  readonly jobRuns = new Counter({
    name: 'mosaic_job_runs_total',
    help: 'Scheduled job runs by outcome (succeeded, failed, skipped: another run was under way)',
    labelNames: ['job', 'status'] as const,
    registers: [this.registry],
  });
  readonly jobSeconds = new Histogram({
    name: 'mosaic_job_duration_seconds',
    help: 'How long scheduled job runs took',
    labelNames: ['job'] as const,
    buckets: [0.1, 1, 10, 60, 300, 1800, 7200],
    registers: [this.registry],
  });
  readonly jobLastSuccess = new Gauge({
    name: 'mosaic_job_last_success_timestamp_seconds',
    help: 'When each scheduled job last succeeded (Unix time)',
    labelNames: ['job'] as const,
    registers: [this.registry],
  });
  readonly processorDuplicates = new Counter({
    name: 'mosaic_processor_duplicates_total',
    help: 'Events the processor dropped as already applied (same source and messageId), on logs that let some repeats through',
    registers: [this.registry],
  });
  readonly eventsSuppressed = new Counter({
    name: 'mosaic_events_suppressed_total',
    help: 'Events of erased people dropped, by where (collector, processor, offload, destination)',
    labelNames: ['stage'] as const,
    registers: [this.registry],
  });
  readonly eventsWithoutConsent = new Counter({
    name: 'mosaic_events_without_consent_total',
    help: 'Events kept from a use their person did not consent to, by purpose and what was done (dropped, anonymized)',
    labelNames: ['purpose', 'action'] as const,
    registers: [this.registry],
  });
  readonly destinationEvents = new Counter({
    name: 'mosaic_destination_events_total',
    help: 'Events forwarded to a destination, by outcome (delivered, dead_lettered)',
    labelNames: ['destination', 'outcome'] as const,
    registers: [this.registry],
  });
  readonly destinationLagEvents = new Gauge({
    name: 'mosaic_destination_lag_events',
    help: 'Log entries a destination has not yet forwarded or passed over',
    labelNames: ['destination'] as const,
    registers: [this.registry],
  });
  readonly destinationAttempts = new Counter({
    name: 'mosaic_destination_attempts_total',
    help: 'Webhook requests, by result (ok, failed)',
    labelNames: ['destination', 'result'] as const,
    registers: [this.registry],
  });
  readonly freshnessSeconds = new Histogram({
    name: 'mosaic_event_to_profile_seconds',
    help: 'Event freshness: from receivedAt to the profile update being committed',
    // Fine below 100 ms: the freshness target lives there, and quantiles interpolate within buckets.
    buckets: [0.001, 0.002, 0.003, 0.005, 0.0075, 0.01, 0.015, 0.02, 0.03, 0.05, 0.075, 0.1, 0.15, 0.25, 0.5, 1, 2.5, 5, 10, 30],
    registers: [this.registry],
  });

  readonly signalEvents = new Counter({
    name: 'mosaic_personalization_interactions_total',
    help: 'Item interactions the signal builder applied, by kind (view, cart, purchase)',
    labelNames: ['kind'] as const,
    registers: [this.registry],
  });
  readonly signalLagEvents = new Gauge({
    name: 'mosaic_personalization_lag_events',
    help: 'Log entries the item signal builder has not yet read',
    registers: [this.registry],
  });
  readonly decisions = new Counter({
    name: 'mosaic_decisions_total',
    help: 'Decisions served, by placement, variant and whether they were personalized',
    labelNames: ['placement', 'variant', 'personalized'] as const,
    registers: [this.registry],
  });
  readonly decideSeconds = new Histogram({
    name: 'mosaic_decide_seconds',
    help: 'Time to compute a decision (profile read, candidates, ranking), excluding HTTP',
    buckets: [0.0005, 0.001, 0.002, 0.003, 0.005, 0.0075, 0.01, 0.015, 0.025, 0.05, 0.1, 0.25, 1],
    registers: [this.registry],
  });
  readonly exposuresFailed = new Counter({
    name: 'mosaic_experiment_exposures_failed_total',
    help: 'Experiment exposure events that could not be appended to the log',
    registers: [this.registry],
  });
  readonly itemIndexSize = new Gauge({
    name: 'mosaic_item_index_items',
    help: 'Items in the vector index used for content similarity',
    registers: [this.registry],
  });

  constructor(opts: { defaultMetrics?: boolean } = {}) {
    if (opts.defaultMetrics) collectDefaultMetrics({ register: this.registry, prefix: 'mosaic_' });
  }
}
