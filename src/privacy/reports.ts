import { randomInt } from 'node:crypto';
import { sqlString } from '../adapters/duckdb/duckdb.js';
import { releaseCounts, type Released, type Uniform } from '../core/dp.js';
import { MosaicError } from '../errors.js';
import { Warehouse } from '../lake/warehouse.js';
import type { ProfileStore } from '../ports/profile-store.js';

export interface ReportSettings {
  /** The privacy cost of one report unless the request asks for less. */
  epsilon: number;
  /** Epsilon a token may spend per period; a report that would pass it is refused. */
  budget: number;
  budgetPeriod: 'day' | 'never';
  /** Cells with a noisy count below this are withheld. */
  minGroupSize: number;
  /** Events report: cells one person may count in (more are dropped), which bounds the noise needed. */
  maxCellsPerPerson: number;
  /** Events report, `events` measure: events one person may add to one cell. */
  maxEventsPerCell: number;
}

/** Cryptographic randomness for the noise: a predictable draw could be subtracted out. */
export const secureUniform: Uniform = () => randomInt(1, 2 ** 48) / 2 ** 48;

/** Counts before any noise: they never leave the server. */
export interface TrueCounts<K> {
  report: string;
  /** How much one person can change the counts, summed over every cell (L1). */
  sensitivity: number;
  cells: (K & { count: number })[];
}

export interface ReportAnswer<K> {
  report: string;
  epsilon: number;
  /** The Laplace scale used: sensitivity / epsilon. */
  noiseScale: number;
  minGroupSize: number;
  cells: Released<K>[];
}

/** The counts with Laplace noise at `epsilon`, small cells withheld. */
export function release<K extends object>(t: TrueCounts<K>, epsilon: number, s: Pick<ReportSettings, 'minGroupSize'>, uniform: Uniform = secureUniform): ReportAnswer<K> {
  const cells = releaseCounts(t.cells, { epsilon, sensitivity: t.sensitivity, minGroupSize: s.minGroupSize }, uniform);
  return { report: t.report, epsilon, noiseScale: t.sensitivity / epsilon, minGroupSize: s.minGroupSize, cells };
}

/**
 * Audience sizes. A person may be in every audience, so one person changes the sizes by at
 * most the number of audiences (the sensitivity). Every configured audience is listed, empty
 * or not: the list of names is configuration, not data.
 */
export async function audienceSizeCounts(store: Pick<ProfileStore, 'audienceCounts'>, audiences: readonly string[]): Promise<TrueCounts<{ audience: string }>> {
  const counts = await store.audienceCounts();
  const names = [...new Set([...audiences, ...counts.keys()])].sort();
  return { report: 'audiences', sensitivity: Math.max(1, names.length), cells: names.map((audience) => ({ audience, count: counts.get(audience) ?? 0 })) };
}

export interface EventsQuery {
  /** `type`, `event`, `source`, or a JSON path under `properties.` or `context.`. */
  by: string;
  /** Inclusive days, YYYY-MM-DD. */
  from: string;
  to: string;
  /** Distinct people per cell, or their events (each person's capped per cell). */
  measure: 'people' | 'events';
}

const JSON_DIMENSION = /^(properties|context)\.([A-Za-z0-9_$-]+(?:\.[A-Za-z0-9_$-]+)*)$/;

/** The SQL of a dimension: a fixed column, or a JSON path passed as a string literal (never spliced as SQL). */
function dimensionSql(by: string): string {
  if (by === 'type') return 'type';
  if (by === 'event') return 'coalesce(event, name)';
  if (by === 'source') return 'source_id';
  const m = JSON_DIMENSION.exec(by);
  if (m) return `${m[1]} ->> ${sqlString(`$.${m[2]}`)}`;
  throw new MosaicError('MOSAIC_BAD_REQUEST', { message: `"${by}" is not a report dimension: use type, event, source, properties.<key> or context.<path>.` });
}

/**
 * Events by day and a dimension, from the lake. The privacy unit is the identifier an event
 * carries (its user id, else its anonymous id). Each person counts in at most
 * `maxCellsPerPerson` cells (chosen by a hash, not by their data) and, for `events`, with at
 * most `maxEventsPerCell` events in each, so one person moves the cells by at most their
 * product: the sensitivity the noise is scaled to.
 */
export async function eventCounts(lakeDir: string, q: EventsQuery, s: Pick<ReportSettings, 'maxCellsPerPerson' | 'maxEventsPerCell'>): Promise<TrueCounts<{ day: string; value: string }>> {
  const sql = `
    WITH per AS (
      SELECT coalesce(user_id, anonymous_id) AS person, CAST(event_date AS VARCHAR) AS day, coalesce(CAST(${dimensionSql(q.by)} AS VARCHAR), '(none)') AS value, count(*) AS n
      FROM events
      WHERE CAST(event_date AS VARCHAR) BETWEEN ${sqlString(q.from)} AND ${sqlString(q.to)} AND coalesce(user_id, anonymous_id) IS NOT NULL
      GROUP BY ALL
    ), bounded AS (
      SELECT *, row_number() OVER (PARTITION BY person ORDER BY hash(person || '/' || day || '/' || value)) AS k FROM per
    )
    SELECT day, value, ${q.measure === 'people' ? 'count(*)' : `sum(least(n, ${s.maxEventsPerCell}))`}::BIGINT AS count
    FROM bounded WHERE k <= ${s.maxCellsPerPerson} GROUP BY ALL ORDER BY ALL`;
  const warehouse = await Warehouse.open(lakeDir);
  try {
    const r = await warehouse.query(sql);
    return {
      report: `events by ${q.by} (${q.measure}), ${q.from} to ${q.to}`,
      sensitivity: s.maxCellsPerPerson * (q.measure === 'events' ? s.maxEventsPerCell : 1),
      cells: r.rows.map(([day, value, count]) => ({ day: String(day), value: String(value), count: Number(count) })),
    };
  } finally {
    warehouse.close();
  }
}

/** When the current budget period began (UTC midnight for `day`). */
export function budgetPeriodStart(period: ReportSettings['budgetPeriod'], now = Date.now()): number {
  if (period === 'never') return 0;
  const d = new Date(now);
  return Date.UTC(d.getUTCFullYear(), d.getUTCMonth(), d.getUTCDate());
}

/** Seconds until the budget renews (undefined when it never does). */
export function budgetRenewsIn(period: ReportSettings['budgetPeriod'], now = Date.now()): number | undefined {
  return period === 'never' ? undefined : Math.ceil((budgetPeriodStart(period, now) + 86_400_000 - now) / 1000);
}
