import { sqlString } from '../adapters/duckdb/sql-literal.js';
import { MosaicError } from '../errors.js';
import { Warehouse, WAREHOUSE_TABLES, type QueryResult } from '../lake/warehouse.js';
import { durationMs } from './expectations.js';

/**
 * Data profiling over a warehouse table: per column — and per key of its JSON columns
 * (properties, traits, context) — null rate, distinct count, numeric summary, top values and a
 * histogram; and drift between two periods as the Population Stability Index.
 */

type Query = (sql: string) => Promise<QueryResult>;

export interface ColumnProfile {
  /** The column, or `properties.price` for a key of a JSON column. */
  column: string;
  type: string;
  rows: number;
  nulls: number;
  nullRate: number;
  distinct: number;
  numeric?: { min: number; max: number; mean: number; stddev: number | null; quantiles: Record<'p05' | 'p25' | 'p50' | 'p75' | 'p95', number> };
  /** Text values: shortest and longest. */
  length?: { min: number; max: number };
  top: { value: string; count: number }[];
  /** Equal-width bins between min and max (numeric columns). */
  histogram?: { from: number; to: number; count: number }[];
}

export interface Period {
  /** ms since the epoch; absent: unbounded. */
  from?: number;
  to?: number;
}

export interface ProfileOptions {
  where?: string;
  timeColumn?: string;
  period?: Period;
  /** Keys profiled per JSON column, the most frequent first (default 20). */
  jsonKeys?: number;
  /** Only these columns (names as in the output, e.g. "event", "properties.price"). */
  columns?: readonly string[];
  bins?: number;
}

const JSON_TYPES = new Set(['JSON']);
const NUMERIC = /^(TINYINT|SMALLINT|INTEGER|BIGINT|HUGEINT|UTINYINT|USMALLINT|UINTEGER|UBIGINT|FLOAT|DOUBLE|DECIMAL.*)$/;
const ident = (name: string) => `"${name.replaceAll('"', '""')}"`;
const n = (v: unknown) => (v === null || v === undefined ? null : Number(v));
const r6 = (x: number) => Math.round(x * 1e6) / 1e6;

function scope(table: string, opts: ProfileOptions): string {
  const conds: string[] = [];
  if (opts.where) conds.push(`(${opts.where})`);
  const t = opts.timeColumn ?? (table === 'events' || table === 'fact_events' ? '"timestamp"' : undefined);
  if ((opts.period?.from !== undefined || opts.period?.to !== undefined) && !t) throw new MosaicError('MOSAIC_BAD_REQUEST', { message: `${table} has no default time column: profile it whole, or (command line) pass --time-column to profile a period` });
  const ts = `TRY_CAST((${t}) AS TIMESTAMPTZ)`;
  if (opts.period?.from !== undefined) conds.push(`${ts} >= ${sqlString(new Date(opts.period.from).toISOString())}::TIMESTAMPTZ`);
  if (opts.period?.to !== undefined) conds.push(`${ts} < ${sqlString(new Date(opts.period.to).toISOString())}::TIMESTAMPTZ`);
  return `(SELECT * FROM ${table}${conds.length ? ` WHERE ${conds.join(' AND ')}` : ''}) AS t`;
}

/** The table's columns, JSON columns expanded to their most frequent keys, as (name, SQL expression, type). */
async function columnsOf(q: Query, table: string, base: string, opts: ProfileOptions): Promise<{ name: string; expr: string; type: string }[]> {
  const described = (await q(`SELECT column_name, column_type FROM (DESCRIBE ${table})`)).rows as [string, string][];
  const out: { name: string; expr: string; type: string }[] = [];
  for (const [name, type] of described) {
    if (!JSON_TYPES.has(type)) {
      out.push({ name, expr: ident(name), type });
      continue;
    }
    const keys = (await q(`SELECT k, count(*) AS c FROM (SELECT unnest(json_keys(${ident(name)})) AS k FROM ${base} WHERE json_type(${ident(name)}) = 'OBJECT') GROUP BY 1 ORDER BY c DESC, k LIMIT ${opts.jsonKeys ?? 20}`)).rows;
    for (const [k] of keys) {
      const key = String(k);
      // json_extract_string: numbers and strings as text; the numeric summary casts where it can.
      out.push({ name: `${name}.${key}`, expr: `json_extract_string(${ident(name)}, ${sqlString(`$."${key.replaceAll('"', '\\"')}"`)})`, type: 'JSON' });
    }
  }
  return opts.columns?.length ? out.filter((c) => opts.columns!.includes(c.name)) : out;
}

async function profileColumn(q: Query, base: string, c: { name: string; expr: string; type: string }, bins: number): Promise<ColumnProfile> {
  const x = `TRY_CAST(${c.expr} AS DOUBLE)`;
  const isText = !NUMERIC.test(c.type) && !/^(TIMESTAMP|DATE|TIME|BOOLEAN)/.test(c.type);
  const [rows, nulls, distinct, numbers, lo, hi, mean, sd, p05, p25, p50, p75, p95, minLen, maxLen] = (
    await q(
      `SELECT count(*), count(*) FILTER (WHERE ${c.expr} IS NULL), count(DISTINCT ${c.expr}), count(${x}), min(${x}), max(${x}), avg(${x}), stddev_samp(${x}),
              quantile_cont(${x}, 0.05), quantile_cont(${x}, 0.25), quantile_cont(${x}, 0.5), quantile_cont(${x}, 0.75), quantile_cont(${x}, 0.95),
              ${isText ? `min(length(${c.expr}::VARCHAR)), max(length(${c.expr}::VARCHAR))` : 'NULL, NULL'}
       FROM ${base}`,
    )
  ).rows[0]!.map(n);
  const nonNull = rows! - nulls!;
  // Numeric when (nearly) every present value is a number: an id column of digits counts.
  const numeric = nonNull > 0 && numbers! >= 0.95 * nonNull && !/^(TIMESTAMP|DATE|TIME)/.test(c.type);
  const top = (await q(`SELECT ${c.expr}::VARCHAR AS v, count(*) AS c FROM ${base} WHERE ${c.expr} IS NOT NULL GROUP BY 1 ORDER BY c DESC, v LIMIT 5`)).rows.map(([v, k]) => ({ value: String(v), count: Number(k) }));
  const profile: ColumnProfile = { column: c.name, type: c.type, rows: rows!, nulls: nulls!, nullRate: rows ? r6(nulls! / rows) : 0, distinct: distinct!, top };
  if (numeric) {
    profile.numeric = { min: lo!, max: hi!, mean: r6(mean!), stddev: sd === null || sd === undefined ? null : r6(sd), quantiles: { p05: p05!, p25: p25!, p50: p50!, p75: p75!, p95: p95! } };
    const width = (hi! - lo!) / bins;
    const counts = new Map(
      width > 0
        ? (await q(`SELECT least(floor((${x} - ${lo}) / ${width}), ${bins - 1})::INTEGER AS b, count(*) FROM ${base} WHERE ${x} IS NOT NULL GROUP BY 1`)).rows.map(([b, k]) => [Number(b), Number(k)])
        : [[0, numbers!]],
    );
    profile.histogram = Array.from({ length: width > 0 ? bins : 1 }, (_, i) => ({ from: r6(lo! + i * width), to: r6(width > 0 ? lo! + (i + 1) * width : hi!), count: counts.get(i) ?? 0 }));
  } else if (isText && minLen !== null) {
    profile.length = { min: minLen!, max: maxLen! };
  }
  return profile;
}

/** Profiles every column of `table` (in `opts.period`, under `opts.where`). */
export async function profileTable(q: Query, table: string, opts: ProfileOptions = {}): Promise<{ table: string; rows: number; columns: ColumnProfile[] }> {
  const base = scope(table, opts);
  const columns = await columnsOf(q, table, base, opts);
  const out: ColumnProfile[] = [];
  for (const c of columns) out.push(await profileColumn(q, base, c, opts.bins ?? 10));
  const rows = Number((await q(`SELECT count(*) FROM ${base}`)).rows[0]![0]);
  return { table, rows, columns: out };
}

/**
 * Population Stability Index of two distributions over the same bins: Σ (c − b)·ln(c / b) with
 * shares smoothed so an empty bin does not make it infinite. < 0.1: stable; 0.1–0.25: moderate
 * shift; > 0.25: significant (the usual reading in credit-risk model monitoring).
 */
export function psi(baseline: readonly number[], current: readonly number[], epsilon = 1e-4): number {
  const tb = baseline.reduce((a, b) => a + b, 0);
  const tc = current.reduce((a, b) => a + b, 0);
  if (!tb || !tc) return 0;
  let sum = 0;
  for (let i = 0; i < baseline.length; i++) {
    const b = Math.max(baseline[i]! / tb, epsilon);
    const c = Math.max((current[i] ?? 0) / tc, epsilon);
    sum += (c - b) * Math.log(c / b);
  }
  return sum;
}

export const psiLevel = (v: number) => (v < 0.1 ? 'stable' : v < 0.25 ? 'moderate' : 'significant');

export interface ColumnDrift {
  column: string;
  kind: 'numeric' | 'categorical';
  psi: number;
  level: 'stable' | 'moderate' | 'significant';
  baselineRows: number;
  currentRows: number;
  /** The bins (numeric: baseline deciles; categorical: the baseline's top values and "(other)", "(null)"). */
  bins: { bin: string; baseline: number; current: number }[];
}

/** Drift of each column between two periods, the largest PSI first. */
export async function driftTable(q: Query, table: string, baseline: Period, current: Period, opts: Omit<ProfileOptions, 'period'> & { categories?: number } = {}): Promise<ColumnDrift[]> {
  const b = scope(table, { ...opts, period: baseline });
  const c = scope(table, { ...opts, period: current });
  const columns = await columnsOf(q, table, b, opts);
  const out: ColumnDrift[] = [];
  for (const col of columns) {
    if (/^(TIMESTAMP|DATE|TIME)/.test(col.type)) continue; // time moves by construction
    const x = `TRY_CAST(${col.expr} AS DOUBLE)`;
    const [present, numbers] = (await q(`SELECT count(${col.expr}), count(${x}) FROM ${b}`)).rows[0]!.map(Number) as [number, number];
    const rowsOf = async (base: string) => Number((await q(`SELECT count(*) FROM ${base}`)).rows[0]![0]);
    let bins: { bin: string; baseline: number; current: number }[];
    let kind: ColumnDrift['kind'];
    if (present > 0 && numbers >= 0.95 * present) {
      kind = 'numeric';
      // Deciles of the baseline as edges: each baseline bin holds about a tenth.
      const edges = [...new Set((((await q(`SELECT quantile_cont(${x}, [0.1, 0.2, 0.3, 0.4, 0.5, 0.6, 0.7, 0.8, 0.9]) FROM ${b}`)).rows[0]![0] as number[] | null) ?? []).map(Number))].sort((p, k) => p - k);
      const bucket = `CASE WHEN ${x} IS NULL THEN -1 ${edges.map((e, i) => `WHEN ${x} < ${e} THEN ${i}`).join(' ')} ELSE ${edges.length} END`;
      const count = async (base: string) => new Map((await q(`SELECT ${bucket} AS k, count(*) FROM ${base} GROUP BY 1`)).rows.map(([k, v]) => [Number(k), Number(v)]));
      const [cb, cc] = [await count(b), await count(c)];
      const label = (i: number) => (i === -1 ? '(null)' : i === 0 ? `< ${edges[0]}` : i === edges.length ? `≥ ${edges[edges.length - 1]}` : `[${edges[i - 1]}, ${edges[i]})`);
      bins = [-1, ...edges.map((_, i) => i), edges.length].map((i) => ({ bin: label(i), baseline: cb.get(i) ?? 0, current: cc.get(i) ?? 0 })).filter((x2) => x2.baseline || x2.current);
    } else {
      kind = 'categorical';
      const top = (await q(`SELECT ${col.expr}::VARCHAR AS v FROM ${b} WHERE ${col.expr} IS NOT NULL GROUP BY 1 ORDER BY count(*) DESC, v LIMIT ${opts.categories ?? 10}`)).rows.map((r) => String(r[0]));
      const cat = `CASE WHEN ${col.expr} IS NULL THEN '(null)' WHEN ${col.expr}::VARCHAR IN (${top.length ? top.map(sqlString).join(', ') : 'NULL'}) THEN ${col.expr}::VARCHAR ELSE '(other)' END`;
      const count = async (base: string) => new Map((await q(`SELECT ${cat} AS k, count(*) FROM ${base} GROUP BY 1`)).rows.map(([k, v]) => [String(k), Number(v)]));
      const [cb, cc] = [await count(b), await count(c)];
      bins = [...top, '(other)', '(null)'].map((k) => ({ bin: k, baseline: cb.get(k) ?? 0, current: cc.get(k) ?? 0 })).filter((x2) => x2.baseline || x2.current);
    }
    const value = r6(psi(bins.map((x2) => x2.baseline), bins.map((x2) => x2.current)));
    out.push({ column: col.name, kind, psi: value, level: psiLevel(value), baselineRows: await rowsOf(b), currentRows: await rowsOf(c), bins });
  }
  return out.sort((p, k) => k.psi - p.psi);
}

/** "7d" (before now), "2026-11-01" or an ISO time, to ms. */
export function parseWhen(text: string, now = Date.now()): number {
  if (/^[0-9.]+(s|m|h|d)$/.test(text)) return now - durationMs(text);
  const t = Date.parse(text);
  if (Number.isNaN(t)) throw new Error(`"${text}" is neither a duration before now (30m, 12h, 7d) nor a date (2026-11-01)`);
  return t;
}

/** What to profile: times are durations before now (7d) or dates; a baseline period asks for drift instead. */
export interface ProfileRequest {
  since?: string;
  until?: string;
  baselineSince?: string;
  baselineUntil?: string;
  columns?: readonly string[];
  /** SQL: for the command line only (the HTTP API does not take SQL fragments). */
  where?: string;
  timeColumn?: string;
}

export type ProfileOrDrift =
  | { kind: 'profile'; table: string; period: Period; rows: number; columns: ColumnProfile[] }
  | { kind: 'drift'; table: string; baseline: Period; current: Period; columns: ColumnDrift[] };

/** A profile of a lake table, or with a baseline period its drift: what `mosaic profile-data` prints and the console charts. */
export async function profileOrDrift(lakeDir: string, table: string, req: ProfileRequest, now = Date.now()): Promise<ProfileOrDrift> {
  if (!WAREHOUSE_TABLES.includes(table)) throw new MosaicError('MOSAIC_BAD_REQUEST', { message: `"${table}" is not a lake table; profile one of: ${WAREHOUSE_TABLES.join(', ')}` });
  const when = (t: string | undefined) => {
    try {
      return t === undefined ? undefined : parseWhen(t, now);
    } catch (err) {
      throw new MosaicError('MOSAIC_BAD_REQUEST', { message: (err as Error).message });
    }
  };
  const periodOf = (from: string | undefined, to: string | undefined): Period => ({ ...(from ? { from: when(from)! } : {}), ...(to ? { to: when(to)! } : {}) });
  const period = periodOf(req.since, req.until);
  const common = { ...(req.where ? { where: req.where } : {}), ...(req.timeColumn ? { timeColumn: req.timeColumn } : {}), ...(req.columns?.length ? { columns: req.columns } : {}) };
  const warehouse = await Warehouse.open(lakeDir);
  try {
    const q = (sql: string) => warehouse.query(sql);
    if (req.baselineSince || req.baselineUntil) {
      const baseline = periodOf(req.baselineSince, req.baselineUntil);
      return { kind: 'drift', table, baseline, current: period, columns: await driftTable(q, table, baseline, period, common) };
    }
    return { kind: 'profile', period, ...(await profileTable(q, table, { ...common, period })) };
  } finally {
    warehouse.close();
  }
}
