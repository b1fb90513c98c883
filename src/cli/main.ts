#!/usr/bin/env -S node --v8-pool-size=1
import './v8-flags.js';
import { report } from './report.js';
import { tokenCreate, tokenList, tokenRevoke } from './token.js';
import { Command } from 'commander';
import { adHocImport, namedImport, printImportHistory, runImportCli, type ImportCliOptions } from './import.js';
import { loadConfig, type Config } from '../config.js';
import { importItemsCli } from './items.js';
import { DEFAULT_STRATEGY } from '../personalize/decider.js';
import { evaluateRecsCli, experimentList, experimentReportCli, modelTrainCli, textTopicsCli } from './personalize.js';
import { MosaicError } from '../errors.js';
import { runUp } from './up.js';
import { jobHistory, listJobs, runJob } from './jobs.js';
import { runReplay } from './replay.js';
import { auditQuery, privacyErase, privacyExport, privacyRequests, privacyReveal, privacyVerify } from './privacy.js';
import { catalog, duplicates, expectationsHistory, expectationsReport, expectationsRun, profileData, quarantineList, quarantineReplay, quarantineShow, schemaAdd, schemaCheck, schemaList, schemaShow } from './quality.js';
import { COMPATIBILITIES, type Compatibility } from '../core/schema-diff.js';
import type { ProfileCliOptions } from './quality.js';
import { runTransformTest } from './transform.js';
import { runCompact, runOffloadOnce, runRetention, runSql, type SqlFormat } from './lake.js';

const program = new Command()
  .name('mosaic')
  .description('Mosaic: real-time customer data and personalization platform')
  .option('-c, --config <file>', 'YAML configuration file (default: ./mosaic.yaml if present)');

/** A URL without its password, for printing. */
function redact(url: string): string {
  try {
    const u = new URL(url);
    if (u.password) u.password = '***';
    return u.toString();
  } catch {
    return url;
  }
}

function config(): Config {
  const file = program.opts<{ config?: string }>().config;
  return loadConfig(file ? { file } : {});
}

program
  .command('up', { isDefault: true })
  .description('run collector, processor and API in one process')
  .action(async () => runUp(config()));

program
  .command('collect')
  .description('run only the tracking API (ingest); with MOSAIC_LOG=nats://… any number of collectors share one log')
  .action(async () => runUp(config(), { collect: true, process: false, serve: false }));

program
  .command('process')
  .description('run only the processor (profiles, audiences, destinations), with /health and /metrics; processors share the partitions of MOSAIC_STORE=postgres://…')
  .action(async () => runUp(config(), { collect: false, process: true, serve: false }));

program
  .command('serve')
  .description('run only the profile, audience and dead-letter APIs')
  .action(async () => runUp(config(), { collect: false, process: false, serve: true }));

program
  .command('offload')
  .description('copy the log to the Parquet lake (also part of mosaic up): every lake.offloadIntervalSeconds, or once with --once')
  .option('--once', 'copy what the log holds now, with progress, and exit')
  .action(async (o: { once?: boolean }) => (o.once ? runOffloadOnce(config()) : runUp(config(), { collect: false, process: false, serve: false, offload: true })));

const imports = program.command('import').description('load rows from files, PostgreSQL or an HTTP API into Mosaic through its tracking API (see docs/imports.md)');
const importOptions = (c: Command) =>
  c
    .option('--url <url>', 'the running Mosaic (default http://127.0.0.1:<port>)')
    .option('--write-key <key>', 'the write key to send with (default: MOSAIC_WRITE_KEY)');
for (const kind of ['csv', 'jsonl', 'postgres', 'http']) {
  importOptions(imports.command(`${kind} <${kind === 'postgres' ? 'database-url' : kind === 'http' ? 'url' : 'file'}>`))
    .description(`import a ${kind === 'postgres' ? 'PostgreSQL table' : kind === 'http' ? 'JSON API, page by page' : `${kind.toUpperCase()} file`}`)
    .requiredOption('--mapping <file>', 'YAML: which fields become userId, anonymousId, event, timestamp, traits, properties, key, version')
    .option('--name <name>', 'the import\'s name: its watermark and history are kept under it')
    .option('--incremental <field>', 'only rows whose field is greater than at the last run')
    .option('--table <table>', 'postgres: the table')
    .option('--items <path>', 'http: where the rows are in each page')
    .option('--next-cursor <path>', 'http: where the next page\'s cursor is')
    .action(async (from: string, o: ImportCliOptions) => {
      const c = config();
      await runImportCli(c, adHocImport(kind, from, o), o);
    });
}
imports
  .command('items <file>')
  .description('load catalog items (id, title, categories, tags, brand, price, available, text, attributes; other columns become attributes) from CSV or JSONL into the item store')
  .option('--format <format>', 'csv or jsonl (default: from the file name)')
  .action(async (file: string, o: { format?: string }) => importItemsCli(config(), file, o));
importOptions(imports.command('run <name>').description('run an import defined in the configuration (imports:)')).action(async (name: string, o: ImportCliOptions) => {
  const c = config();
  await runImportCli(c, namedImport(c, name), o);
});
imports
  .command('history <name>')
  .description("an import's last runs")
  .action((name: string) => printImportHistory(config(), name));

program
  .command('scheduler')
  .description('run the scheduled jobs (schedules:) in a process of their own; with several, each firing runs once (MOSAIC_STORE=postgres://…)')
  .action(async () => runUp(config(), { collect: false, process: false, serve: false, schedule: true }));

const jobs = program.command('jobs').description('scheduled jobs');
jobs
  .command('list')
  .description('the configured jobs with their next run and last outcome')
  .action(async () => listJobs(config()));
jobs
  .command('history [name]')
  .description('the last runs (of one job, or of all)')
  .option('-n, --limit <n>', 'how many', '20')
  .action(async (name: string | undefined, o: { limit: string }) => jobHistory(config(), name, Number(o.limit)));
jobs
  .command('run <name>')
  .description('run a job now, here (skipped if it is running elsewhere)')
  .option('--url <url>', 'import jobs: the Mosaic to send to (default http://127.0.0.1:<port>)')
  .action(async (name: string, o: { url?: string }) => runJob(config(), name, o.url));

const lake = program.command('lake').description('lake maintenance (Mosaic stopped, or on the real engines; mosaic up does both daily)');
lake
  .command('compact')
  .description('merge the small files of each past (event date, type) folder into one; query results do not change')
  .option('--before <date>', 'compact folders before this date (YYYY-MM-DD)', new Date().toISOString().slice(0, 10))
  .action(async (o: { before: string }) => runCompact(config(), o.before));
lake
  .command('retention')
  .description('drop folders older than lake.retentionDays for their event type')
  .action(() => runRetention(config()));

program
  .command('sql <query>')
  .description('run one read-only SQL query (DuckDB) over the lake: views events, …')
  .option('-f, --format <format>', 'table, csv, json or parquet', 'table')
  .option('-o, --output <file>', 'write the result to a file (required for parquet)')
  .action(async (query: string, o: { format: string; output?: string }) => {
    if (!['table', 'csv', 'json', 'parquet'].includes(o.format)) throw new MosaicError('MOSAIC_BAD_REQUEST', { message: `--format must be table, csv, json or parquet (got "${o.format}").` });
    await runSql(config(), query, { format: o.format as SqlFormat, ...(o.output ? { output: o.output } : {}) });
  });

program
  .command('config')
  .description('configuration commands')
  .command('check')
  .description('validate the configuration (file + environment) and print what it sets')
  .action(() => {
    const c = config();
    const lines = [
      `configuration is valid`,
      `  port ${c.port}, data in ${c.dataDir}`,
      `  log: ${c.log.url ? `NATS JetStream ${c.log.url} (stream ${c.log.nats.stream}, ${c.log.nats.replicas} replica(s), ${c.log.nats.storage})` : `embedded, sync=${c.log.sync}`}, ${c.log.partitions} partitions, dedup window ${c.log.dedupWindowHours} h`,
      `  profile store: ${c.store.url ? `PostgreSQL ${redact(c.store.url)} (schema ${c.store.schema}, pool ${c.store.poolSize})` : 'embedded'}; cache: ${c.cache.url ? `Redis ${redact(c.cache.url)} (ttl ${c.cache.ttlSeconds} s)` : 'none'}`,
      `  processor: ${c.processor.enabled ? c.processor.mode : 'disabled'}, batches of up to ${c.processor.batchSize}`,
      `  computed traits: ${c.computedTraits.length ? '' : 'none'}`,
      ...c.computedTraits.map((t) => `    ${t.name}: ${t.op}${t.property ? ` of ${t.property}` : ''}${t.event ? ` over "${t.event}"` : t.type ? ` over ${t.type} events` : ''}${t.where?.length ? ` where ${t.where.map((w) => `${w.path} ${w.op}${w.value !== undefined ? ' ' + JSON.stringify(w.value) : ''}`).join(' and ')}` : ''}${t.window ? ` within ${t.window}` : ''}`),
      `  identity (priority order): ${c.identity.types.map((t) => `${t.type}${t.hash ? ' (hashed)' : ''} ≤${t.limit}`).join(', ')}`,
      `  audiences: ${c.audiences.length ? '' : 'none'}`,
      ...c.audiences.map((a) => `    ${(a as { name: string }).name}: ${JSON.stringify((a as { rule: unknown }).rule)}`),
      `  enrichment: user agent ${c.enrich.userAgent ? 'on' : 'off'}, local time ${c.enrich.localTime ? 'on' : 'off'}, geo ${c.enrich.geo.enabled ? (c.enrich.geo.database ?? 'on (if a database is installed)') : 'off'}`,
      `  transformations: ${c.transformations.map((t) => `${t.name} (${t.file}, ${t.timeoutMs} ms)`).join(', ') || 'none'}`,
      `  destinations: ${c.destinations.map((d) => `${d.name} → ${d.url}`).join(', ') || 'none'}`,
      `  personalization: ${c.personalization.enabled ? `on; interactions ${c.personalization.interactions.map((i) => `"${i.event}" (${i.kind})`).join(', ')}; embedder ${c.personalization.embedder.kind === 'http' ? `${c.personalization.embedder.url} (${c.personalization.embedder.dimensions} dims)` : `hashing (${c.personalization.embedder.dimensions ?? 256} dims)`}` : 'off'}`,
      ...(c.personalization.enabled
        ? Object.entries(c.personalization.placements).map(([name, p]) => `    placement ${name}: ${JSON.stringify(p.strategy ?? DEFAULT_STRATEGY)}${p.content.length ? `, content for ${p.content.map((x) => x.audience).join(', ')}` : ''}${p.experiment ? `, experiment ${p.experiment.name} (${p.experiment.variants.map((v) => `${v.name} ×${v.weight}`).join(', ')})` : ''}`)
        : []),
      `  text signals: ${c.personalization.text.sources.map((t) => `"${t.event}" ${t.path}`).join(', ') || 'none'}${c.personalization.text.sources.length ? ` (raw text ${c.personalization.text.raw === 'drop' ? 'dropped' : 'kept'})` : ''}`,
    ];
    process.stdout.write(lines.join('\n') + '\n');
  });

program
  .command('transform')
  .description('user transformations')
  .command('test <name-or-file> <event-json>')
  .description('run a transformation (its name in the config, or a .js/.ts file) on a sample event and print the result')
  .action(async (which: string, eventFile: string) => {
    process.exitCode = await runTransformTest(config(), which, eventFile);
  });

const compatibility = (v: string): Compatibility => {
  if (!(COMPATIBILITIES as readonly string[]).includes(v)) throw new MosaicError('MOSAIC_BAD_REQUEST', { message: `--compatibility must be one of ${COMPATIBILITIES.join(', ')}` });
  return v as Compatibility;
};
const schema = program.command('schema').description('the tracking plan: JSON Schemas per event, versioned (see docs/quality.md)');
schema
  .command('add <subject> <file>')
  .description('register a new version of a subject ("track:Order Completed", "identify", "web/page:Pricing") from a JSON or YAML file; refused with the diff when it breaks compatibility')
  .option('--compatibility <mode>', `what later versions must keep: ${COMPATIBILITIES.join(', ')} (default: the subject's, or quality.defaultCompatibility)`, compatibility)
  .action(async (subject: string, file: string, o: { compatibility?: Compatibility }) => schemaAdd(config(), subject, file, o.compatibility));
schema
  .command('check <subject> <file>')
  .description('show what registering this file would change and whether it is compatible (exit 1 if not): for CI')
  .option('--compatibility <mode>', 'check against this mode instead of the subject\'s', compatibility)
  .action(async (subject: string, file: string, o: { compatibility?: Compatibility }) => schemaCheck(config(), subject, file, o.compatibility));
schema
  .command('list')
  .description('every subject with its latest version')
  .action(async () => schemaList(config()));
schema
  .command('show <subject>')
  .description('a subject\'s schema (the latest version, or --version)')
  .option('--version <n>', 'this version', (v: string) => Number(v))
  .action(async (subject: string, o: { version?: number }) => schemaShow(config(), subject, o.version));

const quarantine = program.command('quarantine').description('events held back because they broke the tracking plan');
quarantine
  .command('list')
  .description('quarantined events, oldest first, with counts by rule')
  .option('--rule <rule>', 'only events breaking this rule (type, required, enum, unplanned…)')
  .option('--subject <subject>', 'only events of this subject')
  .option('--status <status>', 'pending (default), replayed or all', 'pending')
  .option('-n, --limit <n>', 'how many', (v: string) => Number(v), 50)
  .option('--json', 'one JSON array, payloads included')
  .action(async (o: { rule?: string; subject?: string; status: 'pending' | 'replayed' | 'all'; limit: number; json?: boolean }) => quarantineList(config(), o));
quarantine
  .command('show <id>')
  .description('one quarantined event: the message as sent and every violation')
  .action(async (id: string) => quarantineShow(config(), Number(id)));
quarantine
  .command('replay [ids...]')
  .description('send quarantined events on once they pass the current plan (through the running Mosaic); the others stay, with their new reasons')
  .option('--all', 'every pending event')
  .option('--rule <rule>', 'pending events breaking this rule')
  .option('--subject <subject>', 'pending events of this subject')
  .option('--force', 'send them even if they still break the plan (tagged with their violations)')
  .option('--payload <file>', 'one event: replace its message with this JSON (a fix by hand)')
  .option('--url <url>', 'the running Mosaic (default http://127.0.0.1:<port>)')
  .option('--token <token>', 'the admin API token (default: MOSAIC_API_TOKEN)')
  .action(async (ids: string[], o: { all?: boolean; rule?: string; subject?: string; force?: boolean; payload?: string; url?: string; token?: string }) => quarantineReplay(config(), ids, o));

const expectations = program.command('expectations').description('data quality checks over the lake (quality.expectations; see docs/quality.md)');
expectations
  .command('run [suites...]')
  .description('run the configured suites (or those named, or --file), record each run, print the results; exit 1 if any expectation fails')
  .option('--file <suite.yaml...>', 'run these suite files instead of the configured ones')
  .option('--json', 'print the report as JSON instead of text')
  .option('--html <file>', 'write the static HTML report (latest run of every suite, with history)')
  .option('--report-json <file>', 'write the JSON report')
  .option('--no-record', 'do not keep this run in the history')
  .action(async (names: string[], o: { file?: string[]; json?: boolean; html?: string; reportJson?: string; record: boolean }) => expectationsRun(config(), names, o));
expectations
  .command('history [suite]')
  .description('the last runs (of one suite, or of all)')
  .option('-n, --limit <n>', 'how many', (v: string) => Number(v), 20)
  .action(async (suite: string | undefined, o: { limit: number }) => expectationsHistory(config(), suite, o.limit));
expectations
  .command('report')
  .description('the report from the recorded runs: JSON on stdout, or --html / --json files')
  .option('--html <file>', 'write the static HTML report')
  .option('--json <file>', 'write the JSON report')
  .action(async (o: { html?: string; json?: string }) => expectationsReport(config(), o));

program
  .command('catalog [id]')
  .description('every dataset the running Mosaic holds or produces, with schema, owner, freshness, rows, retention, personal data and lineage (one in full with its id)')
  .option('--json', 'all of it as JSON')
  .option('--url <url>', 'the running Mosaic (default http://127.0.0.1:<port>)')
  .option('--token <token>', 'the admin API token (default: MOSAIC_API_TOKEN)')
  .action(async (id: string | undefined, o: { json?: boolean; url?: string; token?: string }) => catalog(config(), id, o));

program
  .command('duplicates')
  .description('near-duplicate profiles in the lake\'s profile snapshot (MinHash + LSH over names, emails, phones, addresses), best first, for review')
  .option('--threshold <score>', 'report pairs scoring at least this (default quality.duplicates.threshold)', (v: string) => Number(v))
  .option('-n, --limit <n>', 'how many pairs to print', (v: string) => Number(v), 100)
  .option('--json', 'as JSON')
  .action(async (o: { threshold?: number; limit: number; json?: boolean }) => duplicates(config(), o));

program
  .command('profile-data <table>')
  .description('profile a warehouse table (events, profiles, …): per column and JSON key, null rate, distinct count, numeric summary, top values, histogram; with --baseline-since, drift (PSI) against that period')
  .option('--since <when>', 'from this time: a duration before now (7d, 12h) or a date')
  .option('--until <when>', 'until this time (default now)')
  .option('--where <sql>', 'only rows matching this condition')
  .option('--time-column <sql>', 'the time column for --since/--until (default "timestamp" on events)')
  .option('--columns <names>', 'only these columns, comma-separated (e.g. event,properties.price)')
  .option('--baseline-since <when>', 'drift: the baseline period starts here (e.g. 14d)')
  .option('--baseline-until <when>', 'drift: the baseline period ends here (e.g. 7d)')
  .option('--json', 'the profile as JSON (histograms and quantiles included)')
  .action(async (table: string, o: ProfileCliOptions) => profileData(config(), table, o));

const privacy = program.command('privacy').description('privacy: consent log, data subject requests (see docs/privacy.md)');
privacy
  .command('verify')
  .description('check the consent log\'s hash chain; exit 1 at the first entry changed, inserted or removed')
  .action(async () => privacyVerify(config()));
privacy
  .command('export <subject>')
  .description('everything held on a person (<idType>:<id>, e.g. email:ann@example.com): profile, identities, events in the log and the lake, consent history, audit entries')
  .option('-o, --out <file>', 'write the JSON here (default: stdout)')
  .option('--url <url>', 'the running Mosaic (default http://127.0.0.1:<port>)')
  .option('--token <token>', 'the admin API token (default: MOSAIC_API_TOKEN)')
  .action(async (subject: string, o: { out?: string; url?: string; token?: string }) => privacyExport(config(), subject, o));
privacy
  .command('erase <subject>')
  .description('remove a person from every store (profile, log, lake, quarantine, dead letters, consent and audit subjects) and suppress them; prints the erasure report')
  .option('--url <url>', 'the running Mosaic (default http://127.0.0.1:<port>)')
  .option('--token <token>', 'the admin API token (default: MOSAIC_API_TOKEN)')
  .action(async (subject: string, o: { url?: string; token?: string }) => privacyErase(config(), subject, o));
privacy
  .command('reveal <token>')
  .description('re-identify one pseudonymization token from the vault (privacy.vault); the reason is kept in the audit trail')
  .requiredOption('--reason <text>', 'why (at least 5 characters): e.g. the ticket it answers')
  .option('--url <url>', 'the running Mosaic (default http://127.0.0.1:<port>)')
  .option('--token <token>', 'an API token with the privacy scope (default: MOSAIC_API_TOKEN)')
  .action(async (tok: string, o: { reason: string; url?: string; token?: string }) => privacyReveal(config(), tok, o));
privacy
  .command('requests')
  .description('export and erasure requests with their status and CCPA deadlines (confirm within 10 business days, answer within 45 days)')
  .option('--json', 'as JSON')
  .option('--url <url>', 'the running Mosaic (default http://127.0.0.1:<port>)')
  .option('--token <token>', 'the admin API token (default: MOSAIC_API_TOKEN)')
  .action(async (o: { json?: boolean; url?: string; token?: string }) => privacyRequests(config(), o));

program
  .command('audit')
  .description('the audit trail of reads of personal data, newest first')
  .option('--subject <idType:id>', 'reads of this person (a raw identifier is looked up as stored)')
  .option('--actor <tokenId>', 'reads by this token')
  .option('--action <action>', 'e.g. profile.read, privacy.export')
  .option('--since <iso>', 'from this time (ISO 8601)')
  .option('-n, --limit <n>', 'how many', (v: string) => Number(v), 100)
  .option('--json', 'as JSON')
  .option('--url <url>', 'the running Mosaic (default http://127.0.0.1:<port>)')
  .option('--token <token>', 'the admin API token (default: MOSAIC_API_TOKEN)')
  .action(async (o: { subject?: string; actor?: string; action?: string; since?: string; limit: number; json?: boolean; url?: string; token?: string }) => auditQuery(config(), o));

const reports = program.command('report').description('differentially private aggregates: Laplace noise, small cells withheld, a budget per token (see docs/privacy.md)');
const reportOptions = (c: Command) =>
  c
    .option('--epsilon <e>', 'privacy cost of this report (default privacy.reports.epsilon; smaller: more noise)', Number)
    .option('--json', 'as JSON')
    .option('--url <url>', 'the running Mosaic (default http://127.0.0.1:<port>)')
    .option('--token <token>', 'an API token with the reports scope (default: MOSAIC_API_TOKEN)');
reportOptions(reports.command('audiences').description('audience sizes')).action(async (o: { epsilon?: number; json?: boolean; url?: string; token?: string }) => report(config(), 'audiences', o));
reportOptions(
  reports
    .command('events')
    .description('events by day and a dimension, from the lake')
    .option('--by <dimension>', 'type, event, source, properties.<key> or context.<path>', 'event')
    .option('--since <day>', 'YYYY-MM-DD or days ago (30d)', '30d')
    .option('--until <day>', 'YYYY-MM-DD or days ago (default today)')
    .option('--measure <m>', 'people (distinct, default) or events (capped per person)', 'people'),
).action(async (o: { by: string; since: string; until?: string; measure: string; epsilon?: number; json?: boolean; url?: string; token?: string }) => report(config(), 'events', o));

const token = program.command('token').description('API tokens with scopes (profiles:read, decide, sql, privacy, admin); see docs/privacy.md');
token
  .command('create')
  .description('create a token; its secret is printed once (Mosaic keeps only its hash)')
  .requiredOption('--scopes <list>', 'comma-separated: profiles:read, decide, sql, privacy, admin')
  .option('--label <text>', 'what it is for (shown by list)')
  .option('--json', 'as JSON')
  .action(async (o: { scopes: string; label?: string; json?: boolean }) => tokenCreate(config(), o));
token
  .command('list')
  .description('every token with its scopes, and when it was revoked (never their secrets)')
  .option('--json', 'as JSON')
  .action(async (o: { json?: boolean }) => tokenList(config(), o));
token
  .command('revoke <id>')
  .description('refuse a token from the next request on')
  .action(async (id: string) => tokenRevoke(config(), id));

const experiment = program.command('experiment').description('experiments on placements: variants, exposures, conversion (see docs/personalization.md)');
experiment
  .command('list')
  .description('configured experiments with their variants, traffic shares and strategies')
  .option('--json', 'as JSON')
  .action((o: { json?: boolean }) => experimentList(config(), o));
experiment
  .command('report <name>')
  .description('conversion by variant from the lake (people exposed, then converting), with a two-proportion z-test against the control')
  .requiredOption('--conversion <event>', 'the event that counts as a conversion (e.g. "Order Completed")')
  .option('--since <when>', 'only exposures from this time: a duration before now (30d) or a date')
  .option('--json', 'as JSON')
  .action(async (name: string, o: { conversion: string; since?: string; json?: boolean }) => experimentReportCli(config(), name, o));

program
  .command('model')
  .description('propensity models trained on the warehouse (see docs/personalization.md)')
  .command('train <model>')
  .description('train churn or propensity on the warehouse, report AUC on a held-out 20%, write <model>_score to every profile (through the running Mosaic)')
  .option('--horizon <days>', 'the outcome window after the cut-off (default batchFeatures.models.<model>.horizonDays)', Number)
  .option('--event <name>', 'propensity: the event to predict (default batchFeatures.models.propensity.event, else RFM\'s purchase event)')
  .option('--no-write', 'report the AUC only; write no score')
  .option('--json', 'as JSON')
  .option('--url <url>', 'the running Mosaic (default http://127.0.0.1:<port>)')
  .option('--token <token>', 'the admin API token (default: MOSAIC_API_TOKEN)')
  .action(async (name: string, o: { horizon?: number; event?: string; write: boolean; json?: boolean; url?: string; token?: string }) => modelTrainCli(config(), name, o));

program
  .command('text')
  .description('signals from the text people write (personalization.text)')
  .command('topics')
  .description('fit topics (k-means) over every profile\'s text embedding; each profile then shows its topic')
  .option('--k <n>', 'how many topics', Number, 8)
  .option('--json', 'as JSON')
  .option('--url <url>', 'the running Mosaic (default http://127.0.0.1:<port>)')
  .option('--token <token>', 'the admin API token (default: MOSAIC_API_TOKEN)')
  .action(async (o: { k: number; json?: boolean; url?: string; token?: string }) => textTopicsCli(config(), o));

program
  .command('evaluate')
  .description('offline evaluation')
  .command('recs')
  .description('HR@k and NDCG@k of every strategy (single sources, each placement, each variant) on a leave-last-out split of the interactions in the lake')
  .option('--synthetic', 'on a generated shop instead of the lake (deterministic: same seed, same data)')
  .option('--users <n>', 'people in the generated shop', Number)
  .option('--seed <n>', 'the generated shop\'s seed', Number)
  .option('--since <when>', 'only interactions from this time (30d, or a date)')
  .option('--k <n>', 'list length (default 10)', Number)
  .option('--max-people <n>', 'evaluate at most this many people', Number)
  .option('--json', 'as JSON')
  .action(async (o: { synthetic?: boolean; users?: number; seed?: number; since?: string; k?: number; maxPeople?: number; json?: boolean }) => {
    await evaluateRecsCli(config(), o);
  });

program
  .command('replay')
  .description('rebuild every profile from the log (stop the server first)')
  .action(async () => runReplay(config()));

program.parseAsync().catch((err: unknown) => {
  if (err instanceof MosaicError) {
    process.stderr.write(`mosaic: ${err.code}: ${err.message}\n`);
    for (const d of err.details) process.stderr.write(`  - ${d.path ?? ''} ${d.message}\n`);
  } else {
    process.stderr.write(`mosaic: ${(err as Error).stack ?? String(err)}\n`);
  }
  process.exit(1);
});
