import LogisticRegression from 'ml-logistic-regression';
import { Matrix } from 'ml-matrix';
import { sqlString } from '../adapters/duckdb/duckdb.js';
import { fnv1a } from '../core/minhash.js';
import { auc } from '../core/stats.js';
import { MosaicError } from '../errors.js';
import { Warehouse } from './warehouse.js';
import { ADDRESSED_SQL, batchIdentifies, type Addressed } from './write-back.js';

export const MODELS = ['churn', 'propensity'] as const;
export type ModelName = (typeof MODELS)[number];

export interface ModelOptions {
  horizonDays: number;
  /** propensity: the event to predict; also what counts as a purchase in the features. */
  event: string;
  /** The property holding a purchase's amount. */
  revenue: string;
}

/** Per profile, as of a moment: what the person did before it. Counts are log-scaled before training. */
export const FEATURES = ['recency_days', 'tenure_days', 'events', 'events_30d', 'active_days', 'purchases', 'monetary'] as const;

export interface ModelReport {
  model: ModelName;
  /** The cut-off: features from before it, labels from the horizon after it. */
  cutoff: string;
  horizonDays: number;
  trainRows: number;
  testRows: number;
  /** Share of positives (churned, or converted) among the training rows. */
  positiveRate: number;
  /** On the held-out 20% (by a hash of the profile id). */
  auc: number | undefined;
  /** Standardized coefficients, by feature (and the intercept). */
  weights: Record<string, number>;
  /** Profiles scored with the features as of the newest event. */
  scored: number;
}

export interface ScoredProfile extends Addressed {
  score: number;
}

const features = (asOf: string, o: ModelOptions) => `
  SELECT profile_id,
    date_diff('minute', max(t), ${asOf}) / 1440.0 AS recency_days,
    date_diff('minute', min(t), ${asOf}) / 1440.0 AS tenure_days,
    count(*) AS events,
    count(*) FILTER (WHERE t > ${asOf} - INTERVAL 30 DAY) AS events_30d,
    count(DISTINCT CAST(t AS DATE)) AS active_days,
    count(*) FILTER (WHERE event = ${sqlString(o.event)}) AS purchases,
    coalesce(sum(TRY_CAST(json_extract_string(properties, ${sqlString(`$.${o.revenue}`)}) AS DOUBLE)) FILTER (WHERE event = ${sqlString(o.event)}), 0) AS monetary
  FROM ev WHERE t <= ${asOf} GROUP BY profile_id`;

const MAX_TRAIN_ROWS = 50_000;

/** A profile id's place in [0, 1): the same every run. */
const hashUnit = (profileId: string) => fnv1a(profileId) / 2 ** 32;
/** 80/20 by a hash of the profile id (a different hash than the sample's): the same split every run. */
const isTest = (profileId: string) => hashUnit(`test/${profileId}`) < 0.2;

/**
 * Trains a logistic regression (ml-logistic-regression) on the warehouse: features as of a
 * cut-off `horizon` before the newest event, labels from the horizon after it (churn: no event
 * at all; propensity: the event). Reports AUC on a held-out 20%, then scores every profile with
 * its features as of the newest event. People's own events only: Mosaic's (audience, batch,
 * experiment) are left out.
 */
export async function trainModel(lakeDir: string, model: ModelName, o: ModelOptions): Promise<{ report: ModelReport; scores: ScoredProfile[] }> {
  if (!/^[A-Za-z0-9_]+(\.[A-Za-z0-9_]+)*$/.test(o.revenue)) throw new MosaicError('MOSAIC_CONFIG_INVALID', { message: `The revenue property must be a path like "revenue" (got "${o.revenue}").` });
  const w = await Warehouse.open(lakeDir);
  let train: unknown[][];
  let current: unknown[][];
  let cutoff: string;
  try {
    const ev = `WITH ev AS (SELECT profile_id, "timestamp" AS t, event, properties FROM fact_events WHERE profile_id IS NOT NULL AND source_id NOT LIKE 'mosaic:%'),
      bounds AS (SELECT max(t) AS last, max(t) - INTERVAL ${o.horizonDays} DAY AS cutoff FROM ev)`;
    const label =
      model === 'churn'
        ? `NOT EXISTS (SELECT 1 FROM ev e, bounds b WHERE e.profile_id = f.profile_id AND e.t > b.cutoff)`
        : `EXISTS (SELECT 1 FROM ev e, bounds b WHERE e.profile_id = f.profile_id AND e.t > b.cutoff AND e.event = ${sqlString(o.event)})`;
    const c = await w.query(`${ev} SELECT strftime(cutoff, '%Y-%m-%dT%H:%M:%SZ') FROM bounds`);
    cutoff = (c.rows[0]?.[0] as string | null) ?? '';
    if (!cutoff) throw new MosaicError('MOSAIC_BAD_REQUEST', { message: 'The warehouse holds no profile events to learn from: the lake needs events and a profile snapshot (`mosaic offload --once`).' });
    train = (await w.query(`${ev}, f AS (${features('(SELECT cutoff FROM bounds)', o)}) SELECT f.*, (${label})::INTEGER AS label FROM f ORDER BY profile_id`)).rows;
    current = (await w.query(`${ev}, f AS (${features('(SELECT last FROM bounds)', o)}), addressed AS (${ADDRESSED_SQL})
      SELECT f.*, a.id_type, a.id FROM f JOIN addressed a USING (profile_id) ORDER BY profile_id`)).rows;
  } finally {
    w.close();
  }
  const toX = (row: unknown[]) => FEATURES.map((_, i) => Math.log1p(Math.max(0, Number(row[i + 1]))));
  const rows = train.map((r) => ({ id: r[0] as string, x: toX(r), y: Number(r[FEATURES.length + 1]) as 0 | 1 }));
  // Gradient steps cost O(rows): beyond 50,000 training rows a deterministic sample (by id) is enough.
  const keep = Math.min(1, MAX_TRAIN_ROWS / Math.max(1, rows.length * 0.8));
  const fit = rows.filter((r) => !isTest(r.id) && (keep === 1 || hashUnit(r.id) < keep));
  const test = rows.filter((r) => isTest(r.id));
  const positives = fit.filter((r) => r.y === 1).length;
  if (fit.length < 20 || positives === 0 || positives === fit.length) {
    throw new MosaicError('MOSAIC_BAD_REQUEST', { message: `Too little to learn from: ${fit.length} training profiles, ${positives} of them ${model === 'churn' ? 'churned' : 'converted'} within ${o.horizonDays} days of ${cutoff}. Both outcomes are needed (try another --horizon).` });
  }
  // Standardized on the training rows; an intercept column first.
  const mean = FEATURES.map((_, j) => fit.reduce((a, r) => a + r.x[j]!, 0) / fit.length);
  const sd = FEATURES.map((_, j) => Math.sqrt(fit.reduce((a, r) => a + (r.x[j]! - mean[j]!) ** 2, 0) / fit.length) || 1);
  const design = (x: number[]) => [1, ...x.map((v, j) => (v - mean[j]!) / sd[j]!)];
  // Standardized features converge in a few hundred full-batch steps at this rate (the library sums the gradient over rows).
  const lr = new LogisticRegression({ numSteps: 400, learningRate: 2 / fit.length });
  lr.train(new Matrix(fit.map((r) => design(r.x))), Matrix.columnVector(fit.map((r) => r.y)));
  // One-vs-all with two classes: classifier 0 scores "not class 0", the probability of a positive.
  const score = (xs: number[][]) => (xs.length ? lr.classifiers[0]!.testScores(new Matrix(xs.map(design))) : []);
  const testScores = score(test.map((r) => r.x));
  const weights = lr.classifiers[0]!.weights.to1DArray();
  const report: ModelReport = {
    model,
    cutoff,
    horizonDays: o.horizonDays,
    trainRows: fit.length,
    testRows: test.length,
    positiveRate: positives / fit.length,
    auc: auc(testScores, test.map((r) => r.y)),
    weights: Object.fromEntries([['intercept', weights[0]!], ...FEATURES.map((f, j) => [f, weights[j + 1]!])]),
    scored: current.length,
  };
  const now = score(current.map(toX));
  const scores = current.map((r, i) => ({ profileId: r[0] as string, idType: r[FEATURES.length + 1] as Addressed['idType'], id: r[FEATURES.length + 2] as string, score: Math.round(now[i]! * 1e4) / 1e4 }));
  return { report, scores };
}

/** The scores as `<model>_score` traits on the profiles (see batchIdentifies). */
export function modelIdentifies(model: ModelName, scores: readonly ScoredProfile[], now = Date.now()): string[] {
  return batchIdentifies(`model-${model}`, scores, (s) => ({ [`${model}_score`]: s.score }), now);
}
