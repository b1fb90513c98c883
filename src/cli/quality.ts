import { readFileSync, writeFileSync } from 'node:fs';
import { parse as parseYaml } from 'yaml';
import { openExpectationRuns, openQuarantine, openSchemaRegistry } from '../adapters/from-config.js';
import { loadSuites } from '../quality/expectations.js';
import { htmlReport, jsonReport } from '../quality/report.js';
import { configuredSuites, runExpectations } from '../quality/run-expectations.js';
import { profileOrDrift } from '../quality/profiling.js';
import type { Dataset } from '../quality/catalog.js';
import { duplicatesInLake } from '../quality/duplicates.js';
import type { Config } from '../config.js';
import { formatChange, type Compatibility, type SchemaChange } from '../core/schema-diff.js';
import { MosaicError } from '../errors.js';
import type { QuarantinedEvent } from '../ports/quarantine.js';
import { checkSchema, normalizeSubject, registerSchema } from '../quality/schemas.js';

const when = (ms: number) => new Date(ms).toISOString().replace('.000Z', 'Z');
const out = (text: string): void => void process.stdout.write(text.endsWith('\n') ? text : `${text}\n`);

/** A schema file: JSON, or YAML for people who write their plans by hand. */
function readSchema(file: string): unknown {
  const text = readFileSync(file, 'utf8');
  try {
    return file.endsWith('.yaml') || file.endsWith('.yml') ? parseYaml(text) : JSON.parse(text);
  } catch (err) {
    throw new MosaicError('MOSAIC_SCHEMA_INVALID', { message: `${file} is not ${file.endsWith('.json') ? 'JSON' : 'JSON or YAML'}: ${(err as Error).message}` });
  }
}

const changeLines = (changes: readonly SchemaChange[], breaking: readonly SchemaChange[]) =>
  changes.map((c) => `  ${breaking.includes(c) ? '✗' : '·'} ${formatChange(c)}`).join('\n');

export async function schemaAdd(config: Config, subject: string, file: string, compatibility?: Compatibility): Promise<void> {
  const registry = await openSchemaRegistry(config);
  try {
    const r = await registerSchema(registry, subject, readSchema(file), { defaultCompatibility: config.quality.defaultCompatibility, ...(compatibility ? { compatibility } : {}) });
    out(r.created ? `${r.subject}: version ${r.version} registered (${r.compatibility})` : `${r.subject}: unchanged, still version ${r.version}`);
    if (r.changes.length) out(changeLines(r.changes, []));
  } finally {
    await registry.close();
  }
}

/** Prints the diff against the latest version; exit 1 when the subject's mode refuses it. */
export async function schemaCheck(config: Config, subject: string, file: string, compatibility?: Compatibility): Promise<void> {
  const registry = await openSchemaRegistry(config);
  try {
    const r = await checkSchema(registry, subject, readSchema(file), { defaultCompatibility: config.quality.defaultCompatibility, ...(compatibility ? { compatibility } : {}) });
    if (r.against === undefined) out(`${r.subject}: new subject; version 1 would be registered (${r.compatibility})`);
    else if (!r.changes.length) out(`${r.subject}: identical to version ${r.against}`);
    else {
      out(`${r.subject}: against version ${r.against} (${r.compatibility}): ${r.compatible ? 'compatible' : `${r.breaking.length} breaking change${r.breaking.length === 1 ? '' : 's'}`}`);
      out(changeLines(r.changes, r.breaking));
    }
    if (!r.compatible) process.exitCode = 1;
  } finally {
    await registry.close();
  }
}

export async function schemaList(config: Config): Promise<void> {
  const registry = await openSchemaRegistry(config);
  try {
    const latest = await registry.latest();
    if (!latest.length) return out('no schemas yet: mosaic schema add <subject> <schema.json>');
    for (const v of latest) out(`${v.subject.padEnd(40)} v${String(v.version).padEnd(4)} ${v.compatibility.padEnd(9)} ${when(v.createdAt)}`);
  } finally {
    await registry.close();
  }
}

export async function schemaShow(config: Config, subjectText: string, version?: number): Promise<void> {
  const registry = await openSchemaRegistry(config);
  try {
    const subject = normalizeSubject(subjectText);
    const versions = await registry.versions(subject);
    const v = version === undefined ? versions[versions.length - 1] : versions.find((x) => x.version === version);
    if (!v) throw new MosaicError('MOSAIC_SCHEMA_NOT_FOUND', { message: `"${subject}" has ${versions.length ? `no version ${version}` : 'no schema'}.` });
    out(JSON.stringify({ subject, version: v.version, compatibility: v.compatibility, createdAt: new Date(v.createdAt).toISOString(), versions: versions.map((x) => x.version), schema: v.schema }, null, 2));
  } finally {
    await registry.close();
  }
}

const summary = (q: QuarantinedEvent) =>
  `${String(q.id).padStart(6)}  ${when(q.receivedAtMs)}  ${q.subject.padEnd(32)} ${q.violations.map((v) => `${v.rule} ${v.path}`).join('; ')}${q.replayedAtMs !== undefined ? '  (replayed)' : ''}`;

export async function quarantineList(config: Config, o: { rule?: string; subject?: string; status?: 'pending' | 'replayed' | 'all'; limit: number; json?: boolean }): Promise<void> {
  const quarantine = await openQuarantine(config);
  try {
    const rows = await quarantine.list({ limit: o.limit, status: o.status ?? 'pending', ...(o.rule ? { rule: o.rule } : {}), ...(o.subject ? { subject: normalizeSubject(o.subject) } : {}) });
    if (o.json) return out(JSON.stringify(rows.map((q) => ({ ...q, payload: JSON.parse(q.payload) as unknown }))));
    const counts = [...(await quarantine.pendingByRule())].map(([r, n]) => `${r}: ${n}`).join(', ');
    out(`pending by rule: ${counts || 'none'}`);
    for (const q of rows) out(summary(q));
  } finally {
    await quarantine.close();
  }
}

export async function quarantineShow(config: Config, id: number): Promise<void> {
  const quarantine = await openQuarantine(config);
  try {
    const q = await quarantine.get(id);
    if (!q) throw new MosaicError('MOSAIC_QUARANTINE_NOT_FOUND', { message: `No quarantined event has id ${id}.` });
    out(JSON.stringify({ ...q, receivedAt: new Date(q.receivedAtMs).toISOString(), payload: JSON.parse(q.payload) as unknown }, null, 2));
  } finally {
    await quarantine.close();
  }
}

/** A call to the running Mosaic's admin API: what needs its log or its view of the system. */
export async function adminRequest(config: Config, o: { url?: string; token?: string }, method: 'GET' | 'POST', path: string, body?: unknown): Promise<Record<string, unknown>> {
  const token = o.token ?? config.apiToken;
  if (!token) throw new MosaicError('MOSAIC_AUTH_TOKEN_MISSING', { message: 'Give the admin API token with --token or MOSAIC_API_TOKEN.' });
  const base = o.url ?? `http://127.0.0.1:${config.port}`;
  const res = await fetch(`${base}${path}`, { method, headers: { authorization: `Bearer ${token}`, ...(body !== undefined ? { 'content-type': 'application/json' } : {}) }, ...(body !== undefined ? { body: JSON.stringify(body) } : {}) }).catch((err: unknown) => {
    throw new MosaicError('MOSAIC_BAD_REQUEST', { message: `cannot reach Mosaic at ${base} (${(err as Error).message}); this command needs it running, or pass --url` });
  });
  const json = (await res.json()) as Record<string, unknown>;
  if (!res.ok) {
    const e = (json.error ?? {}) as { code?: string; message?: string };
    throw new MosaicError('MOSAIC_BAD_REQUEST', { message: `${res.status} ${e.code ?? ''}: ${e.message ?? JSON.stringify(json)}` });
  }
  return json;
}

/**
 * Replay goes through the running Mosaic: it holds the log (the embedded log has one writer)
 * and checks each event against the plan it enforces.
 */
export async function quarantineReplay(config: Config, ids: string[], o: { all?: boolean; rule?: string; subject?: string; force?: boolean; payload?: string; url?: string; token?: string }): Promise<void> {
  const post = (path: string, body: unknown) => adminRequest(config, o, 'POST', path, body);
  if (o.payload) {
    if (ids.length !== 1) throw new MosaicError('MOSAIC_BAD_REQUEST', { message: '--payload replaces one event: give exactly one id.' });
    const r = await post(`/v1/quarantine/${ids[0]}/replay`, { payload: JSON.parse(readFileSync(o.payload, 'utf8')) as unknown, force: o.force ?? false });
    out(JSON.stringify(r, null, 2));
    if (r.status !== 'replayed') process.exitCode = 1;
    return;
  }
  const body = { ...(ids.length ? { ids: ids.map(Number) } : {}), ...(o.all ? { all: true } : {}), ...(o.rule ? { rule: o.rule } : {}), ...(o.subject ? { subject: o.subject } : {}), force: o.force ?? false };
  const r = (await post('/v1/quarantine/replay', body)) as { replayed: number; failing: number; failures: { id: number; violations: { rule: string; path: string; message: string }[] }[] };
  out(`replayed ${r.replayed}, still failing ${r.failing}`);
  for (const f of r.failures) out(`  ${f.id}: ${f.violations.map((v) => v.message).join('; ')}`);
  if (r.failing) process.exitCode = 1;
}

const mark = { pass: '✓', fail: '✗', error: '!' } as const;

/**
 * `mosaic expectations run`: the configured suites (or files given), over the lake, each
 * recorded in the history; exit 1 when any expectation fails or errors: for CI.
 */
export async function expectationsRun(config: Config, names: string[], o: { file?: string[]; json?: boolean; html?: string; reportJson?: string; record: boolean }): Promise<void> {
  const suites = o.file?.length ? loadSuites(o.file) : configuredSuites(config, names);
  if (!suites.length) throw new MosaicError('MOSAIC_CONFIG_INVALID', { message: 'No expectation suite: list YAML files under quality.expectations, or pass --file.' });
  const runs = await openExpectationRuns(config);
  try {
    const done = await runExpectations(config.lake.dir!, suites, {
      ...(o.record ? { runs } : {}),
      onSuite: (run) => {
        if (o.json) return;
        out(`${mark[run.status]} ${run.suite} (${run.table}): ${run.results.filter((r) => r.status === 'pass').length}/${run.results.length} passed in ${run.finishedAt - run.startedAt} ms`);
        for (const r of run.results) out(`    ${mark[r.status]} ${r.name.padEnd(36)} ${r.message}${r.examples?.length ? `  e.g. ${r.examples.map((e) => JSON.stringify(e)).join(', ')}` : ''}`);
      },
    });
    const history = await runs.history(undefined, 500);
    const latest = o.record ? await runs.latest() : done;
    if (o.json) out(JSON.stringify(jsonReport(done, history)));
    if (o.reportJson) writeFileSync(o.reportJson, JSON.stringify(jsonReport(latest, history), null, 2));
    if (o.html) writeFileSync(o.html, htmlReport(latest, history));
    if (done.some((r) => r.status !== 'pass')) process.exitCode = 1;
  } finally {
    await runs.close();
  }
}

export async function expectationsHistory(config: Config, suite: string | undefined, limit: number): Promise<void> {
  const runs = await openExpectationRuns(config);
  try {
    const h = await runs.history(suite, limit);
    if (!h.length) return out('no expectation run yet: mosaic expectations run');
    for (const r of h) out(`${when(r.startedAt)}  ${mark[r.status]} ${r.suite.padEnd(24)} ${r.results.filter((x) => x.status === 'pass').length}/${r.results.length} passed${r.status !== 'pass' ? `: ${r.results.filter((x) => x.status !== 'pass').map((x) => x.name).join(', ')}` : ''}`);
  } finally {
    await runs.close();
  }
}

/** The report from the stored history, without running anything. */
export async function expectationsReport(config: Config, o: { html?: string; json?: string }): Promise<void> {
  const runs = await openExpectationRuns(config);
  try {
    const [latest, history] = [await runs.latest(), await runs.history(undefined, 500)];
    if (o.html) writeFileSync(o.html, htmlReport(latest, history));
    if (o.json) writeFileSync(o.json, JSON.stringify(jsonReport(latest, history), null, 2));
    if (!o.html && !o.json) out(JSON.stringify(jsonReport(latest, history), null, 2));
  } finally {
    await runs.close();
  }
}

export interface ProfileCliOptions {
  since?: string;
  until?: string;
  where?: string;
  timeColumn?: string;
  columns?: string;
  baselineSince?: string;
  baselineUntil?: string;
  json?: boolean;
}

const fmt = (v: number | null | undefined) => (v === null || v === undefined ? '' : Math.abs(v) >= 1e6 || (Math.abs(v) < 1e-3 && v !== 0) ? v.toExponential(2) : String(Math.round(v * 1000) / 1000));

/** `mosaic profile-data <table>`: a profile of each column, or with --baseline-since, drift (PSI) against an earlier period. */
export async function profileData(config: Config, table: string, o: ProfileCliOptions): Promise<void> {
  const { columns, ...rest } = o;
  const r = await profileOrDrift(config.lake.dir!, table, { ...rest, ...(columns ? { columns: columns.split(',').map((c) => c.trim()) } : {}) });
  if (o.json) return out(JSON.stringify(r));
  if (r.kind === 'drift') {
    const drift = r.columns;
    out(`drift of ${table}: ${drift[0] ? `${drift[0].baselineRows} baseline rows, ${drift[0].currentRows} current rows` : 'no column'} (PSI < 0.1 stable, < 0.25 moderate, else significant)`);
    for (const d of drift) out(`  ${d.column.padEnd(32)} ${d.kind.padEnd(11)} PSI ${d.psi.toFixed(4).padStart(8)}  ${d.level}`);
    return;
  }
  out(`${table}: ${r.rows} rows${o.since || o.until ? ` (${o.since ?? '…'} to ${o.until ?? 'now'})` : ''}`);
  out(`  ${'column'.padEnd(30)} ${'type'.padEnd(12)} ${'null %'.padStart(7)} ${'distinct'.padStart(9)} ${'min'.padStart(10)} ${'p50'.padStart(10)} ${'mean'.padStart(10)} ${'max'.padStart(10)}  top values`);
  for (const c of r.columns) {
    const num = c.numeric;
    out(
      `  ${c.column.slice(0, 30).padEnd(30)} ${c.type.slice(0, 12).padEnd(12)} ${(c.nullRate * 100).toFixed(1).padStart(7)} ${String(c.distinct).padStart(9)} ${fmt(num?.min).padStart(10)} ${fmt(num?.quantiles.p50).padStart(10)} ${fmt(num?.mean).padStart(10)} ${fmt(num?.max).padStart(10)}  ${c.top
        .slice(0, 3)
        .map((t) => `${t.value.length > 24 ? `${t.value.slice(0, 24)}…` : t.value} (${t.count})`)
        .join(', ')}`,
    );
  }
}

/** `mosaic catalog [id]`: the running Mosaic's datasets. */
export async function catalog(config: Config, id: string | undefined, o: { json?: boolean; url?: string; token?: string }): Promise<void> {
  if (id) return out(JSON.stringify(await adminRequest(config, o, 'GET', `/v1/catalog/${encodeURIComponent(id)}`), null, 2));
  const { datasets } = (await adminRequest(config, o, 'GET', '/v1/catalog')) as { datasets: Dataset[] };
  if (o.json) return out(JSON.stringify(datasets));
  for (const d of datasets) {
    out(`${d.id.padEnd(34)} ${d.engine.padEnd(16)} ${d.rows !== undefined ? `${d.rows} rows`.padEnd(14) : ''.padEnd(14)} owner ${d.owner}`);
    out(`    ${d.description}`);
    out(`    from ${d.lineage.from.join(', ') || '—'} by ${d.lineage.by}${d.freshness?.updatedAt ? `; updated ${d.freshness.updatedAt}` : ''}${d.personalData.length ? `; personal: ${d.personalData.join(', ')}` : ''}`);
  }
}

/** `mosaic duplicates`: near-duplicate profile pairs in the snapshot, for review. */
export async function duplicates(config: Config, o: { threshold?: number; limit: number; json?: boolean }): Promise<void> {
  const opts = { ...config.quality.duplicates, ...(o.threshold !== undefined ? { threshold: o.threshold } : {}) };
  const started = Date.now();
  const r = await duplicatesInLake(config.lake.dir!, opts);
  if (o.json) return out(JSON.stringify({ threshold: opts.threshold, profiles: r.profiles.length, candidates: r.candidates, pairs: r.pairs.slice(0, o.limit) }));
  out(`${r.profiles.length} profiles, ${r.candidates} LSH candidates, ${r.pairs.length} pairs scoring ≥ ${opts.threshold} (${Date.now() - started} ms)`);
  const fields = new Map(r.profiles.map((p) => [p.profileId, p.fields]));
  for (const p of r.pairs.slice(0, o.limit)) out(`  ${p.score.toFixed(3)}  ${p.a} ~ ${p.b}  same ${p.shared.join(', ') || '—'}  (${fields.get(p.a)?.name ?? '?'} / ${fields.get(p.b)?.name ?? '?'})`);
}
