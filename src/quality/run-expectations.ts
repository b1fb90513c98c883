import type { Config } from '../config.js';
import { MosaicError } from '../errors.js';
import { Warehouse } from '../lake/warehouse.js';
import type { Metrics } from '../observe/metrics.js';
import type { ExpectationRuns, SuiteRun } from '../ports/expectation-runs.js';
import { loadSuites, runSuite, type SuiteDef } from './expectations.js';

/** The configured suites (quality.expectations), or those named. */
export function configuredSuites(config: Config, names?: readonly string[]): SuiteDef[] {
  const suites = loadSuites(config.quality.expectations);
  if (!names?.length) return suites;
  const unknown = names.filter((n) => !suites.some((s) => s.suite === n));
  if (unknown.length) throw new MosaicError('MOSAIC_CONFIG_INVALID', { message: `no expectation suite named ${unknown.map((n) => `"${n}"`).join(', ')} under quality.expectations` });
  return suites.filter((s) => names.includes(s.suite));
}

/** Runs suites over the lake's warehouse, each recorded in `runs` (when given) as it finishes. */
export async function runExpectations(lakeDir: string, suites: readonly SuiteDef[], opts: { runs?: ExpectationRuns; now?: number; onSuite?: (run: SuiteRun) => void } = {}): Promise<SuiteRun[]> {
  const warehouse = await Warehouse.open(lakeDir);
  const out: SuiteRun[] = [];
  try {
    for (const suite of suites) {
      const run = await runSuite(suite, (sql) => warehouse.query(sql), opts.now);
      await opts.runs?.record(run);
      opts.onSuite?.(run);
      out.push(run);
    }
  } finally {
    warehouse.close();
  }
  return out;
}

/** The latest run of each suite as gauges, read at scrape time: runs from the CLI and schedulers show too. */
export async function exportExpectationMetrics(runs: ExpectationRuns, metrics: Metrics): Promise<void> {
  metrics.expectationPassing.reset();
  metrics.expectationLastRun.reset();
  for (const run of await runs.latest()) {
    metrics.expectationLastRun.set({ suite: run.suite }, run.finishedAt / 1000);
    for (const r of run.results) metrics.expectationPassing.set({ suite: run.suite, expectation: r.name }, r.status === 'pass' ? 1 : 0);
  }
}
