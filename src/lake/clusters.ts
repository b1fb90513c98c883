import DensityClustering from 'density-clustering';
import { kmeans } from 'ml-kmeans';
import { Warehouse } from './warehouse.js';
import { ADDRESSED_SQL, batchIdentifies, type Addressed } from './write-back.js';

export interface ClusterOptions {
  algorithm: 'kmeans' | 'dbscan';
  /** k-means: the k with the best silhouette in this range. */
  kMin: number;
  kMax: number;
  /** DBSCAN: neighbourhood radius (standardized units) and points for a core point. */
  eps: number;
  minPoints: number;
  /** The purchase event and amount property (as for RFM). */
  event: string;
  revenue: string;
}

/** The behaviour each profile is described by; log-scaled counts, then standardized. */
export const FEATURES = ['events', 'sessions', 'purchases', 'revenue', 'days_since_seen'] as const;

export interface Clustering {
  algorithm: ClusterOptions['algorithm'];
  k: number;
  /** Silhouette of the chosen clustering (−1..1; higher is better separated). */
  silhouette: number;
  /** By k tried (k-means). */
  tried: { k: number; silhouette: number }[];
  profiles: (Addressed & { cluster: number })[];
}

/** z-scores per column; a constant column becomes 0. */
export function standardize(rows: readonly number[][]): number[][] {
  const n = rows.length;
  const d = rows[0]?.length ?? 0;
  const mean = Array.from({ length: d }, (_, j) => rows.reduce((a, r) => a + r[j]!, 0) / n);
  const sd = Array.from({ length: d }, (_, j) => Math.sqrt(rows.reduce((a, r) => a + (r[j]! - mean[j]!) ** 2, 0) / n));
  return rows.map((r) => r.map((v, j) => (sd[j]! > 0 ? (v - mean[j]!) / sd[j]! : 0)));
}

const distance = (a: readonly number[], b: readonly number[]) => Math.sqrt(a.reduce((s, v, i) => s + (v - b[i]!) ** 2, 0));

/** Mean silhouette over the points (labels < 0 are noise and left out); O(n²), so callers pass a sample. */
export function silhouette(points: readonly number[][], labels: readonly number[]): number {
  const ids = [...new Set(labels.filter((l) => l >= 0))];
  if (ids.length < 2) return -1;
  let sum = 0;
  let counted = 0;
  for (let i = 0; i < points.length; i++) {
    if (labels[i]! < 0) continue;
    const mean = new Map<number, { s: number; n: number }>();
    for (let j = 0; j < points.length; j++) {
      if (i === j || labels[j]! < 0) continue;
      const m = mean.get(labels[j]!) ?? { s: 0, n: 0 };
      m.s += distance(points[i]!, points[j]!);
      m.n++;
      mean.set(labels[j]!, m);
    }
    const own = mean.get(labels[i]!);
    if (!own || own.n === 0) continue; // a singleton cluster: silhouette 0 by convention
    const a = own.s / own.n;
    let b = Infinity;
    for (const [l, m] of mean) if (l !== labels[i]) b = Math.min(b, m.s / m.n);
    sum += (b - a) / Math.max(a, b);
    counted++;
  }
  return counted ? sum / counted : -1;
}

/** Every k-th point: a deterministic sample for the silhouette. */
function sample<T>(items: readonly T[], max: number): number[] {
  const step = Math.max(1, Math.ceil(items.length / max));
  return Array.from({ length: Math.ceil(items.length / step) }, (_, i) => i * step);
}

/**
 * Clusters profiles by behaviour (FEATURES, from the warehouse): k-means with k chosen by the
 * silhouette over kMin..kMax (seeded: the same data gives the same clusters), or DBSCAN.
 * Cluster numbers are ordered by size, largest first (1, 2, …); DBSCAN's noise is 0.
 */
export async function clusterProfiles(lakeDir: string, opts: ClusterOptions, now = Date.now()): Promise<Clustering> {
  const event = opts.event.replaceAll("'", "''");
  const revenuePath = /^[A-Za-z0-9_]+(\.[A-Za-z0-9_]+)*$/.test(opts.revenue) ? opts.revenue : 'revenue';
  const w = await Warehouse.open(lakeDir);
  let rows: unknown[][];
  try {
    rows = (
      await w.query(`
      WITH buys AS (
        SELECT profile_id, count(*) AS purchases, coalesce(sum(TRY_CAST(json_extract_string(properties, '$.${revenuePath}') AS DOUBLE)), 0) AS revenue
        FROM fact_events WHERE event = '${event}' AND profile_id IS NOT NULL GROUP BY profile_id
      ), addressed AS (${ADDRESSED_SQL})
      SELECT p.profile_id, a.id_type, a.id,
             ln(1 + p.event_count)::DOUBLE, ln(1 + coalesce(p.session_count, 0))::DOUBLE, ln(1 + coalesce(b.purchases, 0))::DOUBLE,
             ln(1 + coalesce(b.revenue, 0))::DOUBLE, coalesce(date_diff('day', p.last_seen, to_timestamp(${now / 1000})), 0)::DOUBLE
      FROM profiles p JOIN addressed a USING (profile_id) LEFT JOIN buys b USING (profile_id)
      WHERE p.event_count > 0 ORDER BY p.profile_id`)
    ).rows;
  } finally {
    w.close();
  }
  const points = standardize(rows.map((r) => r.slice(3).map(Number)));
  const pick = sample(points, 2000);
  const sil = (labels: number[]) => silhouette(pick.map((i) => points[i]!), pick.map((i) => labels[i]!));
  let labels: number[];
  let k: number;
  let score: number;
  const tried: { k: number; silhouette: number }[] = [];
  if (opts.algorithm === 'dbscan') {
    const db = new DensityClustering.DBSCAN();
    const clusters = db.run(points, opts.eps, opts.minPoints);
    labels = new Array<number>(points.length).fill(-1);
    clusters.forEach((members, c) => members.forEach((i) => (labels[i] = c)));
    k = clusters.length;
    score = sil(labels);
  } else {
    let best: { k: number; labels: number[]; score: number } | undefined;
    for (let kk = opts.kMin; kk <= Math.min(opts.kMax, points.length - 1); kk++) {
      const r = kmeans(points, kk, { seed: 42, initialization: 'kmeans++' });
      const s = sil(r.clusters);
      tried.push({ k: kk, silhouette: s });
      if (!best || s > best.score) best = { k: kk, labels: r.clusters, score: s };
    }
    labels = best?.labels ?? points.map(() => 0);
    k = best?.k ?? 1;
    score = best?.score ?? -1;
  }
  // Largest cluster first: numbers that mean something when read ("1" is the main group).
  const sizes = new Map<number, number>();
  for (const l of labels) if (l >= 0) sizes.set(l, (sizes.get(l) ?? 0) + 1);
  const rank = new Map([...sizes].sort((a, b) => b[1] - a[1] || a[0] - b[0]).map(([l], i) => [l, i + 1]));
  return {
    algorithm: opts.algorithm,
    k,
    silhouette: score,
    tried,
    profiles: rows.map((r, i) => ({ profileId: r[0] as string, idType: r[1] as 'user_id' | 'anonymous_id', id: r[2] as string, cluster: labels[i]! >= 0 ? rank.get(labels[i]!)! : 0 })),
  };
}

/** The clusters as `behavior_cluster` traits on the profiles (see batchIdentifies). */
export function clusterIdentifies(c: Clustering, now = Date.now()): string[] {
  return batchIdentifies('cluster', c.profiles, (p) => ({ behavior_cluster: p.cluster, behavior_cluster_algorithm: c.algorithm }), now);
}
