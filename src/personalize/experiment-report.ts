import { sqlString } from '../adapters/duckdb/duckdb.js';
import type { Config } from '../config.js';
import type { Strategy } from '../core/recommend.js';
import { twoProportionTest, type ProportionTest } from '../core/stats.js';
import { MosaicError } from '../errors.js';
import { Warehouse } from '../lake/warehouse.js';

export interface VariantResult {
  variant: string;
  /** People exposed (each counted once, in the first variant they saw). */
  people: number;
  /** Of them, those with a conversion event at or after their first exposure. */
  converted: number;
  rate: number;
}

export interface ExperimentReport {
  experiment: string;
  conversion: string;
  control: string;
  variants: VariantResult[];
  /** Each other variant against the control: two-proportion z-test. */
  tests: (ProportionTest & { variant: string; significant: boolean })[];
}

/**
 * Conversion by variant from the lake: who was exposed (experiment_exposures) and who then did
 * the conversion event, matched by user id (else anonymous id). `variants` gives the order, the
 * first being the control; variants with no exposure are shown with zeros.
 */
export async function experimentReport(lakeDir: string, experiment: string, opts: { conversion: string; variants?: readonly string[]; sinceMs?: number; alpha?: number }): Promise<ExperimentReport> {
  const w = await Warehouse.open(lakeDir);
  let rows: unknown[][];
  try {
    const since = opts.sinceMs !== undefined ? `AND exposed_at >= to_timestamp(${opts.sinceMs / 1000})` : '';
    rows = (
      await w.query(`
        WITH exposed AS (
          SELECT person, arg_min(variant, exposed_at) AS variant, min(exposed_at) AS exposed_at
          FROM experiment_exposures WHERE experiment = ${sqlString(experiment)} ${since} GROUP BY person
        ), conversions AS (
          SELECT coalesce(user_id, anonymous_id) AS person, "timestamp" AS at FROM events WHERE type = 'track' AND event = ${sqlString(opts.conversion)}
        )
        SELECT x.variant, count(DISTINCT x.person)::INTEGER AS people, count(DISTINCT c.person)::INTEGER AS converted
        FROM exposed x LEFT JOIN conversions c ON c.person = x.person AND c.at >= x.exposed_at
        GROUP BY x.variant ORDER BY x.variant`)
    ).rows;
  } finally {
    w.close();
  }
  const found = new Map(rows.map(([v, people, converted]) => [v as string, { people: people as number, converted: converted as number }]));
  const order = [...(opts.variants ?? []), ...[...found.keys()].filter((v) => !opts.variants?.includes(v))];
  const variants = order.map((variant) => {
    const r = found.get(variant) ?? { people: 0, converted: 0 };
    return { variant, ...r, rate: r.people ? r.converted / r.people : 0 };
  });
  const control = variants[0];
  const alpha = opts.alpha ?? 0.05;
  const tests = control
    ? variants.slice(1).flatMap((v) => {
        const t = twoProportionTest({ trials: control.people, successes: control.converted }, { trials: v.people, successes: v.converted });
        return t ? [{ variant: v.variant, ...t, significant: t.pValue < alpha }] : [];
      })
    : [];
  return { experiment, conversion: opts.conversion, control: control?.variant ?? '', variants, tests };
}

export interface ConfiguredExperiment {
  experiment: string;
  placement: string;
  /** In configured order: the first is the control. */
  variants: { name: string; weight: number; strategy: Strategy }[];
}

/** The experiments declared on placements, each variant with the strategy it runs. */
export function configuredExperiments(placements: Config['personalization']['placements'], defaultStrategy: Strategy): ConfiguredExperiment[] {
  return Object.entries(placements).flatMap(([placement, p]) =>
    p.experiment ? [{ experiment: p.experiment.name, placement, variants: p.experiment.variants.map((v) => ({ name: v.name, weight: v.weight, strategy: v.strategy ?? p.strategy ?? defaultStrategy })) }] : [],
  );
}

/** The report of `name`: a configured experiment (its variants in order, control first) or one the lake has exposures of. */
export async function reportOf(config: Config, name: string, opts: { conversion: string; sinceMs?: number }): Promise<ExperimentReport> {
  const configured = Object.values(config.personalization.placements).find((p) => p.experiment?.name === name)?.experiment;
  const report = await experimentReport(config.lake.dir!, name, { ...opts, ...(configured ? { variants: configured.variants.map((v) => v.name) } : {}) });
  if (!configured && !report.variants.length) throw new MosaicError('MOSAIC_EXPERIMENT_NOT_FOUND', { message: `No experiment "${name}" is configured, and the lake holds no exposure for it. \`mosaic experiment list\` shows those configured.` });
  return report;
}
