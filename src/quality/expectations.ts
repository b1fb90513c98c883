import { readdirSync, readFileSync, statSync } from 'node:fs';
import { basename, extname, join } from 'node:path';
import { Type, type Static } from '@sinclair/typebox';
import { Ajv } from 'ajv';
import { parse as parseYaml } from 'yaml';
import { sqlString } from '../adapters/duckdb/sql-literal.js';
import { MosaicError } from '../errors.js';
import type { QueryResult } from '../lake/warehouse.js';
import type { ExpectationResult, SuiteRun } from '../ports/expectation-runs.js';

export type { ExpectationResult, SuiteRun };

/**
 * Expectations: declared checks over a warehouse table (events — the log's lake copy — or the
 * profile snapshot's tables and the star schema), as dbt tests and Great Expectations have them.
 * Each compiles to one or two read-only DuckDB queries. Columns are SQL expressions over the
 * table, written by whoever writes the suite, as in dbt; values (accepted values, patterns)
 * are quoted here.
 */

const Column = Type.String({ minLength: 1 });
const Duration = Type.String({ pattern: '^[0-9]+(\\.[0-9]+)?(s|m|h|d)$' });
const Where = Type.Optional(Type.String({ minLength: 1 }));

const EXPECTATION_SCHEMAS = {
  not_null: Type.Object({ column: Column, mostly: Type.Optional(Type.Number({ minimum: 0, maximum: 1 })) }, { additionalProperties: false }),
  unique: Type.Object({ column: Column }, { additionalProperties: false }),
  accepted_values: Type.Object({ column: Column, values: Type.Array(Type.Union([Type.String(), Type.Number(), Type.Boolean()]), { minItems: 1 }) }, { additionalProperties: false }),
  in_range: Type.Object({ column: Column, min: Type.Optional(Type.Number()), max: Type.Optional(Type.Number()) }, { additionalProperties: false }),
  regex: Type.Object({ column: Column, pattern: Type.String({ minLength: 1 }) }, { additionalProperties: false }),
  row_count_between: Type.Object({ min: Type.Optional(Type.Integer({ minimum: 0 })), max: Type.Optional(Type.Integer({ minimum: 0 })) }, { additionalProperties: false }),
  /** The newest row is at most `max_lag` old. */
  freshness: Type.Object({ column: Type.Optional(Column), max_lag: Duration }, { additionalProperties: false }),
  /** A day's row count against the `days` before it: outside mean ± threshold·σ (zscore) or the quartiles ± k·IQR (iqr). */
  volume_anomaly: Type.Object(
    {
      method: Type.Union([Type.Literal('zscore'), Type.Literal('iqr')]),
      column: Type.Optional(Column),
      days: Type.Optional(Type.Integer({ minimum: 3, maximum: 365 })),
      threshold: Type.Optional(Type.Number({ exclusiveMinimum: 0 })),
      k: Type.Optional(Type.Number({ exclusiveMinimum: 0 })),
      /** yesterday (default: a complete day) or today (so far). */
      day: Type.Optional(Type.Union([Type.Literal('yesterday'), Type.Literal('today')])),
    },
    { additionalProperties: false },
  ),
  /** Keys of a JSON column (properties, traits) seen in the last `recent` against the `days` before: new or vanished. */
  schema_drift: Type.Object(
    { column: Column, time_column: Type.Optional(Column), recent: Type.Optional(Duration), days: Type.Optional(Type.Integer({ minimum: 1, maximum: 365 })), allow_new: Type.Optional(Type.Boolean()), allow_vanished: Type.Optional(Type.Boolean()) },
    { additionalProperties: false },
  ),
  /** Every value of `column` (rows old enough to have had the chance) appears in `in` within `within_days` after. */
  cross_source: Type.Object(
    {
      column: Column,
      time_column: Type.Optional(Column),
      in: Type.Object({ table: Type.Optional(Type.String({ pattern: '^[A-Za-z_][A-Za-z0-9_]*$' })), column: Type.Optional(Column), where: Where, time_column: Type.Optional(Column) }, { additionalProperties: false }),
      within_days: Type.Number({ exclusiveMinimum: 0 }),
      /** Only rows this recent are checked (default 30 days). */
      lookback_days: Type.Optional(Type.Number({ exclusiveMinimum: 0 })),
    },
    { additionalProperties: false },
  ),
} as const;

export type ExpectationKind = keyof typeof EXPECTATION_SCHEMAS;
export const EXPECTATION_KINDS = Object.keys(EXPECTATION_SCHEMAS) as ExpectationKind[];
type Params<K extends ExpectationKind> = Static<(typeof EXPECTATION_SCHEMAS)[K]>;

const SuiteSchema = Type.Object(
  {
    suite: Type.Optional(Type.String({ pattern: '^[A-Za-z_][A-Za-z0-9_-]*$' })),
    table: Type.String({ pattern: '^[A-Za-z_][A-Za-z0-9_]*$' }),
    where: Where,
    /** The time column for freshness, volume and drift (default: timestamp for events and fact_events). */
    time_column: Type.Optional(Column),
    expectations: Type.Array(Type.Union(EXPECTATION_KINDS.map((k) => Type.Object({ [k]: EXPECTATION_SCHEMAS[k] }, { additionalProperties: false }))), { minItems: 1 }),
  },
  { additionalProperties: false },
);
export type SuiteDef = Static<typeof SuiteSchema> & { suite: string };

const ajv = new Ajv({ allErrors: true });
const validateSuite = ajv.compile(SuiteSchema);

/** A suite from YAML, validated; its name defaults to the file's. */
export function parseSuite(text: string, file: string): SuiteDef {
  let raw: unknown;
  try {
    raw = parseYaml(text);
  } catch (err) {
    throw new MosaicError('MOSAIC_CONFIG_INVALID', { message: `${file}: not YAML: ${(err as Error).message}` });
  }
  if (!validateSuite(raw)) {
    // A union reports every branch; the one whose key matches the item is the one a person meant.
    const errors = (validateSuite.errors ?? []).filter((e) => e.keyword !== 'anyOf' && !(e.keyword === 'additionalProperties' && /^\/expectations\/\d+$/.test(e.instancePath)) && !(e.keyword === 'required' && /^\/expectations\/\d+$/.test(e.instancePath)));
    const items = (raw as { expectations?: unknown[] } | undefined)?.expectations;
    const unknownKind = Array.isArray(items) ? items.findIndex((x) => !x || typeof x !== 'object' || Object.keys(x).length !== 1 || !EXPECTATION_KINDS.includes(Object.keys(x)[0] as ExpectationKind)) : -1;
    const details = [
      ...(unknownKind >= 0 ? [{ path: `${file}#/expectations/${unknownKind}`, rule: 'kind', message: `each expectation is one of ${EXPECTATION_KINDS.join(', ')}` }] : []),
      ...errors.map((e) => ({ path: `${file}#${e.instancePath || '/'}`, rule: e.keyword, message: e.keyword === 'additionalProperties' ? `unknown key "${(e.params as { additionalProperty: string }).additionalProperty}"` : (e.message ?? 'invalid') })),
    ];
    throw new MosaicError('MOSAIC_CONFIG_INVALID', { message: `${file}: not a valid expectation suite; see details.`, details });
  }
  const suite = raw as Static<typeof SuiteSchema>;
  return { ...suite, suite: suite.suite ?? basename(file, extname(file)) };
}

/** Suite files: each path a YAML file, or a directory of them. */
export function loadSuites(paths: readonly string[]): SuiteDef[] {
  const files = paths.flatMap((p) => {
    if (!statSync(p, { throwIfNoEntry: false })) throw new MosaicError('MOSAIC_CONFIG_INVALID', { message: `expectation suite ${p} does not exist` });
    return statSync(p).isDirectory() ? readdirSync(p).filter((f) => /\.ya?ml$/.test(f)).sort().map((f) => join(p, f)) : [p];
  });
  const suites = files.map((f) => parseSuite(readFileSync(f, 'utf8'), f));
  const twice = suites.find((s, i) => suites.findIndex((x) => x.suite === s.suite) !== i);
  if (twice) throw new MosaicError('MOSAIC_CONFIG_INVALID', { message: `two expectation suites are named "${twice.suite}"` });
  return suites;
}

type Query = (sql: string) => Promise<QueryResult>;
const DAY = 86_400_000;
const num = (v: unknown) => (v === null || v === undefined ? null : Number(v));

export function durationMs(d: string): number {
  const m = /^([0-9.]+)(s|m|h|d)$/.exec(d)!;
  return Number(m[1]) * { s: 1000, m: 60_000, h: 3_600_000, d: DAY }[m[2] as 's' | 'm' | 'h' | 'd'];
}
const tsLiteral = (ms: number) => `${sqlString(new Date(ms).toISOString())}::TIMESTAMPTZ`;
const asTs = (col: string) => `TRY_CAST((${col}) AS TIMESTAMPTZ)`;
const utcDay = (ms: number) => new Date(ms).toISOString().slice(0, 10);

function timeColumn(suite: SuiteDef, given: string | undefined, kind: string): string {
  const col = given ?? suite.time_column ?? (suite.table === 'events' || suite.table === 'fact_events' ? '"timestamp"' : undefined);
  if (!col) throw new Error(`${kind} needs a time column: set time_column on the suite or column on the expectation`);
  return col;
}

function nameOf(kind: ExpectationKind, p: Record<string, unknown>): string {
  const arg = (p.column as string | undefined) ?? (kind === 'volume_anomaly' ? (p.method as string) : '');
  return `${kind}(${arg})`;
}

function quantile(sorted: readonly number[], q: number): number {
  const pos = (sorted.length - 1) * q;
  const lo = Math.floor(pos);
  const hi = Math.ceil(pos);
  return sorted[lo]! + (sorted[hi]! - sorted[lo]!) * (pos - lo);
}

/** Scores a day's count against the days before it: pure, so the statistics are tested alone. */
export function volumeVerdict(method: 'zscore' | 'iqr', history: readonly number[], today: number, opts: { threshold?: number; k?: number } = {}): { anomalous: boolean; observed: Record<string, number> } {
  if (method === 'zscore') {
    const mean = history.reduce((a, b) => a + b, 0) / history.length;
    const sd = Math.sqrt(history.reduce((a, b) => a + (b - mean) ** 2, 0) / Math.max(1, history.length - 1));
    const threshold = opts.threshold ?? 3;
    const z = sd === 0 ? (today === mean ? 0 : Infinity * Math.sign(today - mean)) : (today - mean) / sd;
    return { anomalous: Math.abs(z) > threshold, observed: { count: today, mean: round(mean), stddev: round(sd), z: Number.isFinite(z) ? round(z) : z, threshold } };
  }
  const sorted = [...history].sort((a, b) => a - b);
  const q1 = quantile(sorted, 0.25);
  const q3 = quantile(sorted, 0.75);
  const k = opts.k ?? 1.5;
  const low = q1 - k * (q3 - q1);
  const high = q3 + k * (q3 - q1);
  return { anomalous: today < low || today > high, observed: { count: today, q1: round(q1), q3: round(q3), low: round(low), high: round(high), k } };
}
const round = (x: number) => Math.round(x * 1000) / 1000;

async function check(kind: ExpectationKind, p: Record<string, unknown>, suite: SuiteDef, q: Query, now: number): Promise<Omit<ExpectationResult, 'name' | 'kind'>> {
  const base = `(SELECT * FROM ${suite.table}${suite.where ? ` WHERE ${suite.where}` : ''}) AS t`;
  const one = async (sql: string) => (await q(sql)).rows[0] ?? [];
  const examples = async (sql: string) => (await q(sql)).rows.map((r) => (r.length === 1 ? r[0] : r));
  switch (kind) {
    case 'not_null': {
      const { column, mostly = 1 } = p as Params<'not_null'>;
      const [total, nulls] = (await one(`SELECT count(*), count(*) FILTER (WHERE (${column}) IS NULL) FROM ${base}`)).map(Number) as [number, number];
      const rate = total ? nulls / total : 0;
      const ok = 1 - rate >= mostly;
      return { status: ok ? 'pass' : 'fail', observed: { rows: total, nulls, nullRate: round(rate) }, message: `${nulls} of ${total} rows have no ${column}${mostly < 1 ? ` (at most ${round((1 - mostly) * 100)}% allowed)` : ''}` };
    }
    case 'unique': {
      const { column } = p as Params<'unique'>;
      const [rows, distinct] = (await one(`SELECT count(${column}), count(DISTINCT ${column}) FROM ${base}`)).map(Number) as [number, number];
      const dupes = rows - distinct;
      return {
        status: dupes ? 'fail' : 'pass',
        observed: { rows, distinct, duplicates: dupes },
        message: dupes ? `${dupes} duplicate values of ${column}` : `every ${column} is unique`,
        ...(dupes ? { examples: await examples(`SELECT (${column})::VARCHAR AS v, count(*)::INTEGER AS n FROM ${base} WHERE (${column}) IS NOT NULL GROUP BY 1 HAVING count(*) > 1 ORDER BY n DESC, v LIMIT 5`) } : {}),
      };
    }
    case 'accepted_values': {
      const { column, values } = p as Params<'accepted_values'>;
      const cond = `(${column}) IS NOT NULL AND (${column})::VARCHAR NOT IN (${values.map((v) => sqlString(String(v))).join(', ')})`;
      const bad = Number((await one(`SELECT count(*) FROM ${base} WHERE ${cond}`))[0]);
      return {
        status: bad ? 'fail' : 'pass',
        observed: { unexpected: bad },
        message: bad ? `${bad} rows have a ${column} outside ${values.join(', ')}` : `every ${column} is one of ${values.join(', ')}`,
        ...(bad ? { examples: await examples(`SELECT (${column})::VARCHAR AS v FROM ${base} WHERE ${cond} GROUP BY 1 ORDER BY count(*) DESC, v LIMIT 5`) } : {}),
      };
    }
    case 'in_range': {
      const { column, min, max } = p as Params<'in_range'>;
      const x = `TRY_CAST((${column}) AS DOUBLE)`;
      const cond = [min !== undefined ? `${x} < ${min}` : '', max !== undefined ? `${x} > ${max}` : '', `(${column}) IS NOT NULL AND ${x} IS NULL`].filter(Boolean).join(' OR ');
      const [bad, lo, hi] = await one(`SELECT count(*) FILTER (WHERE ${cond}), min(${x}), max(${x}) FROM ${base}`);
      return {
        status: Number(bad) ? 'fail' : 'pass',
        observed: { outOfRange: Number(bad), min: num(lo), max: num(hi) },
        message: Number(bad) ? `${Number(bad)} rows have ${column} outside [${min ?? '-∞'}, ${max ?? '∞'}] (or not a number)` : `${column} within [${min ?? '-∞'}, ${max ?? '∞'}]`,
        ...(Number(bad) ? { examples: await examples(`SELECT (${column})::VARCHAR FROM ${base} WHERE ${cond} LIMIT 5`) } : {}),
      };
    }
    case 'regex': {
      const { column, pattern } = p as Params<'regex'>;
      const cond = `(${column}) IS NOT NULL AND NOT regexp_matches((${column})::VARCHAR, ${sqlString(pattern)})`;
      const bad = Number((await one(`SELECT count(*) FROM ${base} WHERE ${cond}`))[0]);
      return {
        status: bad ? 'fail' : 'pass',
        observed: { mismatched: bad },
        message: bad ? `${bad} rows have a ${column} not matching /${pattern}/` : `every ${column} matches /${pattern}/`,
        ...(bad ? { examples: await examples(`SELECT (${column})::VARCHAR FROM ${base} WHERE ${cond} LIMIT 5`) } : {}),
      };
    }
    case 'row_count_between': {
      const { min, max } = p as Params<'row_count_between'>;
      const n = Number((await one(`SELECT count(*) FROM ${base}`))[0]);
      const ok = (min === undefined || n >= min) && (max === undefined || n <= max);
      return { status: ok ? 'pass' : 'fail', observed: { rows: n }, message: `${n} rows (expected ${min ?? 0}..${max ?? '∞'})` };
    }
    case 'freshness': {
      const { column, max_lag } = p as Params<'freshness'>;
      const col = timeColumn(suite, column, 'freshness');
      const [newest] = await one(`SELECT epoch_ms(max(${asTs(col)})) FROM ${base}`);
      if (newest === null || newest === undefined) return { status: 'fail', observed: { newest: null }, message: 'no rows: nothing is fresh' };
      const lag = now - Number(newest);
      return { status: lag <= durationMs(max_lag) ? 'pass' : 'fail', observed: { newest: new Date(Number(newest)).toISOString(), lagSeconds: Math.round(lag / 1000) }, message: `the newest row is ${Math.round(lag / 1000)} s old (at most ${max_lag})` };
    }
    case 'volume_anomaly': {
      const { method, column, days = 14, threshold, k, day = 'yesterday' } = p as Params<'volume_anomaly'>;
      const col = timeColumn(suite, column, 'volume_anomaly');
      const todayStart = Math.floor(now / DAY) * DAY;
      const target = day === 'today' ? todayStart : todayStart - DAY;
      const from = target - days * DAY;
      const counts = new Map(
        (await q(`SELECT strftime(${asTs(col)} AT TIME ZONE 'UTC', '%Y-%m-%d') AS d, count(*) FROM ${base} WHERE ${asTs(col)} >= ${tsLiteral(from)} AND ${asTs(col)} < ${tsLiteral(target + DAY)} GROUP BY 1`)).rows.map(([d, n]) => [String(d), Number(n)]),
      );
      const history = Array.from({ length: days }, (_, i) => counts.get(utcDay(from + i * DAY)) ?? 0);
      const count = counts.get(utcDay(target)) ?? 0;
      const v = volumeVerdict(method, history, count, { ...(threshold !== undefined ? { threshold } : {}), ...(k !== undefined ? { k } : {}) });
      return { status: v.anomalous ? 'fail' : 'pass', observed: { day: utcDay(target), ...v.observed, history }, message: `${count} rows on ${utcDay(target)} against ${days} days before (${method}): ${v.anomalous ? 'anomalous' : 'normal'}` };
    }
    case 'schema_drift': {
      const { column, time_column, recent = '1d', days = 7, allow_new = false, allow_vanished = false } = p as Params<'schema_drift'>;
      const col = timeColumn(suite, time_column, 'schema_drift');
      const split = now - durationMs(recent);
      const keys = async (from: number, to: number) =>
        new Set((await q(`SELECT DISTINCT unnest(json_keys((${column})::JSON)) FROM ${base} WHERE ${asTs(col)} >= ${tsLiteral(from)} AND ${asTs(col)} < ${tsLiteral(to)} AND json_type((${column})::JSON) = 'OBJECT'`)).rows.map((r) => String(r[0])));
      const before = await keys(split - days * DAY, split);
      const after = await keys(split, now + 1);
      const added = [...after].filter((x) => !before.has(x)).sort();
      const vanished = [...before].filter((x) => !after.has(x)).sort();
      if (!before.size || !after.size) return { status: 'pass', observed: { baselineKeys: before.size, recentKeys: after.size }, message: 'not enough rows in one of the periods to compare' };
      const bad = (!allow_new && added.length > 0) || (!allow_vanished && vanished.length > 0);
      return {
        status: bad ? 'fail' : 'pass',
        observed: { new: added, vanished, baselineKeys: before.size, recentKeys: after.size },
        message: added.length || vanished.length ? `${column}: ${added.length ? `new ${added.join(', ')}` : ''}${added.length && vanished.length ? '; ' : ''}${vanished.length ? `vanished ${vanished.join(', ')}` : ''}` : `${column}: the same ${after.size} keys`,
      };
    }
    case 'cross_source': {
      const { column, time_column, in: other, within_days, lookback_days = 30 } = p as Params<'cross_source'>;
      const col = timeColumn(suite, time_column, 'cross_source');
      const otherTable = other.table ?? suite.table;
      const otherCol = other.column ?? column;
      const otherTime = other.time_column ?? (otherTable === suite.table ? col : otherTable === 'events' || otherTable === 'fact_events' ? '"timestamp"' : col);
      // Only rows old enough to have had `within_days` to appear elsewhere.
      const checkedUntil = now - within_days * DAY;
      const missing = `SELECT a.v, a.at FROM (SELECT (${column}) AS v, min(${asTs(col)}) AS at FROM ${base} WHERE (${column}) IS NOT NULL AND ${asTs(col)} >= ${tsLiteral(now - lookback_days * DAY)} AND ${asTs(col)} < ${tsLiteral(checkedUntil)} GROUP BY 1) a
        WHERE NOT EXISTS (SELECT 1 FROM ${otherTable} b WHERE (b.${otherCol}) = a.v${other.where ? ` AND (${other.where})` : ''} AND ${asTs(`b.${otherTime}`)} >= a.at AND ${asTs(`b.${otherTime}`)} < a.at + INTERVAL ${Math.round(within_days * 86_400)} SECOND)`;
      const [checked] = await one(`SELECT count(DISTINCT ${column}) FROM ${base} WHERE (${column}) IS NOT NULL AND ${asTs(col)} >= ${tsLiteral(now - lookback_days * DAY)} AND ${asTs(col)} < ${tsLiteral(checkedUntil)}`);
      const n = Number((await one(`SELECT count(*) FROM (${missing})`))[0]);
      return {
        status: n ? 'fail' : 'pass',
        observed: { checked: Number(checked), missing: n },
        message: n ? `${n} of ${Number(checked)} ${column} values never appear in ${otherTable}${other.where ? ` (${other.where})` : ''} within ${within_days} days` : `all ${Number(checked)} ${column} values appear in ${otherTable} within ${within_days} days`,
        ...(n ? { examples: await examples(`SELECT v::VARCHAR FROM (${missing}) ORDER BY 1 LIMIT 5`) } : {}),
      };
    }
  }
}

/** Runs a suite: each expectation on its own, so one that errors (a bad column) does not hide the others. */
export async function runSuite(suite: SuiteDef, query: Query, now = Date.now()): Promise<SuiteRun> {
  const startedAt = Date.now();
  const results: ExpectationResult[] = [];
  const names = new Map<string, number>();
  for (const item of suite.expectations) {
    const [kind, params] = Object.entries(item)[0] as [ExpectationKind, Record<string, unknown>];
    const bare = nameOf(kind, params);
    const seen = (names.get(bare) ?? 0) + 1;
    names.set(bare, seen);
    const name = seen > 1 ? `${bare}#${seen}` : bare;
    try {
      results.push({ name, kind, ...(await check(kind, params, suite, query, now)) });
    } catch (err) {
      results.push({ name, kind, status: 'error', observed: {}, message: (err as Error).message });
    }
  }
  const status = results.some((r) => r.status === 'error') ? 'error' : results.some((r) => r.status === 'fail') ? 'fail' : 'pass';
  return { suite: suite.suite, table: suite.table, startedAt, finishedAt: Date.now(), status, results };
}
