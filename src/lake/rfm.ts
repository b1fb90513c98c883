import { MosaicError } from '../errors.js';
import { Warehouse } from './warehouse.js';
import { ADDRESSED_SQL, batchIdentifies, type Addressed } from './write-back.js';

export interface RfmOptions {
  /** The purchase event's name. */
  event: string;
  /** The property holding each purchase's amount (a dotted path under properties). */
  revenue: string;
}

export interface RfmRow extends Addressed {
  recencyDays: number;
  frequency: number;
  monetary: number;
  r: number;
  f: number;
  m: number;
  segment: string;
}

/**
 * The usual RFM segment map over recency and frequency scores (1–5, 5 best), in order: the
 * first that matches names the customer.
 */
const SEGMENT = `CASE
    WHEN r >= 4 AND f >= 4 THEN 'Champions'
    WHEN r >= 3 AND f >= 3 THEN 'Loyal'
    WHEN r = 5 AND f <= 1 THEN 'New Customers'
    WHEN r >= 4 AND f <= 1 THEN 'Promising'
    WHEN r >= 4 THEN 'Potential Loyalists'
    WHEN r = 3 AND f <= 2 THEN 'About to Sleep'
    WHEN r = 3 THEN 'Need Attention'
    WHEN f >= 5 THEN 'Cannot Lose Them'
    WHEN f >= 3 THEN 'At Risk'
    ELSE 'Hibernating'
  END`;

/**
 * Recency, frequency and monetary value of every profile that made a purchase, scored in
 * quintiles over all of them (NTILE(5); 5 is best: most recent, most frequent, most spent),
 * from the warehouse's fact_events (events joined to profiles).
 */
export async function computeRfm(lakeDir: string, opts: RfmOptions, now = Date.now()): Promise<RfmRow[]> {
  if (!/^[A-Za-z0-9_]+(\.[A-Za-z0-9_]+)*$/.test(opts.revenue)) throw new MosaicError('MOSAIC_CONFIG_INVALID', { message: `batchFeatures.rfm.revenue must be a property path like "revenue" or "order.total" (got "${opts.revenue}").` });
  const w = await Warehouse.open(lakeDir);
  try {
    const event = opts.event.replaceAll("'", "''");
    const r = await w.query(`
      WITH purchases AS (
        SELECT profile_id, max("timestamp") AS last_at, count(*) AS frequency,
               coalesce(sum(TRY_CAST(json_extract_string(properties, '$.${opts.revenue}') AS DOUBLE)), 0) AS monetary
        FROM fact_events WHERE event = '${event}' AND profile_id IS NOT NULL GROUP BY profile_id
      ), scored AS (
        SELECT *, date_diff('day', last_at, to_timestamp(${now / 1000})) AS recency_days,
               NTILE(5) OVER (ORDER BY last_at) AS r, NTILE(5) OVER (ORDER BY frequency) AS f, NTILE(5) OVER (ORDER BY monetary) AS m
        FROM purchases
      ), addressed AS (${ADDRESSED_SQL})
      SELECT s.profile_id, a.id_type, a.id, s.recency_days::INTEGER, s.frequency::INTEGER, s.monetary::DOUBLE, s.r::INTEGER, s.f::INTEGER, s.m::INTEGER, ${SEGMENT} AS segment
      FROM scored s JOIN addressed a USING (profile_id) ORDER BY s.profile_id`);
    return r.rows.map(([profileId, idType, id, recencyDays, frequency, monetary, rr, ff, mm, segment]) => ({
      profileId: profileId as string,
      idType: idType as RfmRow['idType'],
      id: id as string,
      recencyDays: recencyDays as number,
      frequency: frequency as number,
      monetary: monetary as number,
      r: rr as number,
      f: ff as number,
      m: mm as number,
      segment: segment as string,
    }));
  } finally {
    w.close();
  }
}

/** The scores as `rfm_*` traits on the profiles (see batchIdentifies). */
export function rfmIdentifies(rows: readonly RfmRow[], now = Date.now()): string[] {
  return batchIdentifies('rfm', rows, (row) => ({ rfm_recency_days: row.recencyDays, rfm_frequency: row.frequency, rfm_monetary: row.monetary, rfm_score: `${row.r}${row.f}${row.m}`, rfm_segment: row.segment }), now);
}
