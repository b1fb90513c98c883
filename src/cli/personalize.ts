import cliProgress from 'cli-progress';
import { openEmbedder, openItemStore } from '../adapters/from-config.js';
import type { Config } from '../config.js';
import type { Envelope } from '../core/envelope.js';
import type { Item } from '../core/items.js';
import type { Strategy } from '../core/recommend.js';
import { MosaicError } from '../errors.js';
import { Warehouse } from '../lake/warehouse.js';
import { sqlString } from '../adapters/duckdb/duckdb.js';
import { DEFAULT_STRATEGY } from '../personalize/decider.js';
import { BASELINES, evaluateRecommendations, type Evaluation } from '../personalize/evaluate.js';
import { configuredExperiments, reportOf, type ExperimentReport } from '../personalize/experiment-report.js';
import { SHOP_SIGNAL_SETTINGS, syntheticShop } from '../personalize/synthetic.js';
import { parseWhen } from '../quality/profiling.js';
import { MODELS, type ModelReport } from '../lake/models.js';
import { adminRequest } from './quality.js';

const print = (text: string): void => void process.stdout.write(`${text}\n`);

function since(text: string | undefined): number | undefined {
  if (text === undefined) return undefined;
  try {
    return parseWhen(text);
  } catch (err) {
    throw new MosaicError('MOSAIC_BAD_REQUEST', { message: `--since: ${(err as Error).message}` });
  }
}

/** The configured experiments: placement, variants and weights. */
export function experimentList(config: Config, o: { json?: boolean }): void {
  const list = configuredExperiments(config.personalization.placements, DEFAULT_STRATEGY);
  if (o.json) return print(JSON.stringify(list, null, 2));
  if (!list.length) return print('no experiment configured (personalization.placements.<name>.experiment)');
  for (const e of list) {
    const total = e.variants.reduce((a, v) => a + v.weight, 0);
    print(`${e.experiment} (placement ${e.placement})`);
    for (const v of e.variants) print(`  ${v.name.padEnd(16)} ${((100 * v.weight) / total).toFixed(1).padStart(5)}%  ${JSON.stringify(v.strategy)}`);
  }
}

export function describeExperiment(r: ExperimentReport): string {
  const pct = (x: number) => `${(100 * x).toFixed(2)}%`;
  const lines = [`experiment ${r.experiment}: conversion = ${r.conversion} after first exposure`, `  ${'variant'.padEnd(16)} ${'people'.padStart(8)} ${'converted'.padStart(10)} ${'rate'.padStart(8)}`];
  for (const v of r.variants) lines.push(`  ${v.variant.padEnd(16)} ${String(v.people).padStart(8)} ${String(v.converted).padStart(10)} ${pct(v.rate).padStart(8)}`);
  for (const t of r.tests) {
    lines.push(
      `  ${t.variant} vs ${r.control}: ${t.lift >= 0 ? '+' : ''}${(100 * t.lift).toFixed(2)} points${t.relativeLift !== undefined ? ` (${t.relativeLift >= 0 ? '+' : ''}${(100 * t.relativeLift).toFixed(1)}%)` : ''}, 95% CI [${(100 * t.ci95[0]).toFixed(2)}, ${(100 * t.ci95[1]).toFixed(2)}], z = ${t.z.toFixed(2)}, p = ${t.pValue < 0.0001 ? t.pValue.toExponential(1) : t.pValue.toFixed(4)}: ${t.significant ? 'significant at 95%' : 'not significant at 95%'}`,
    );
  }
  if (!r.variants.some((v) => v.people > 0)) lines.push('  no exposure in the lake yet: decisions append them; `mosaic offload --once` copies the log to the lake');
  return lines.join('\n');
}

/** `mosaic experiment report <name>`: conversion by variant from the lake, with a significance test against the control. */
export async function experimentReportCli(config: Config, name: string, o: { conversion: string; since?: string; json?: boolean }): Promise<void> {
  const report = await reportOf(config, name, { conversion: o.conversion, ...(o.since ? { sinceMs: since(o.since)! } : {}) });
  print(o.json ? JSON.stringify(report, null, 2) : describeExperiment(report));
}

/** Interactions from the lake, as the events they were (only the fields a recommender reads). */
async function lakeInteractions(config: Config, sinceMs: number | undefined): Promise<Envelope[]> {
  const names = [...new Set(config.personalization.interactions.map((i) => i.event))];
  const w = await Warehouse.open(config.lake.dir!);
  try {
    const r = await w.query(`SELECT message_id, event, user_id, anonymous_id, properties, strftime("timestamp", '%Y-%m-%dT%H:%M:%S.%gZ') AS ts, source_id
      FROM events WHERE type = 'track' AND event IN (${names.map(sqlString).join(', ')}) ${sinceMs !== undefined ? `AND "timestamp" >= to_timestamp(${sinceMs / 1000})` : ''}
      ORDER BY "timestamp"`);
    return r.rows.map(([messageId, event, userId, anonymousId, properties, timestamp, sourceId]) => ({
      type: 'track',
      event: event as string,
      messageId: messageId as string,
      ...(userId !== null ? { userId: userId as string } : {}),
      ...(anonymousId !== null ? { anonymousId: anonymousId as string } : {}),
      properties: (properties ?? {}) as Record<string, unknown>,
      timestamp: timestamp as string,
      receivedAt: timestamp as string,
      sourceId: sourceId as string,
    }));
  } finally {
    w.close();
  }
}

async function catalogOf(config: Config): Promise<Item[]> {
  const store = await openItemStore(config);
  try {
    const out: Item[] = [];
    for (let page = await store.listItems(undefined, 5000); page.length; page = await store.listItems(page[page.length - 1]!.id, 5000)) out.push(...page);
    return out;
  } finally {
    await store.close();
  }
}

/** Every placement's strategy (and each experiment variant's) beside the single-source baselines. */
export function strategiesOf(config: Config): Record<string, Strategy> {
  const out: Record<string, Strategy> = { ...BASELINES };
  for (const [name, p] of Object.entries(config.personalization.placements)) {
    out[`placement:${name}`] = p.strategy ?? DEFAULT_STRATEGY;
    for (const v of p.experiment?.variants ?? []) if (v.strategy) out[`placement:${name}/${v.name}`] = v.strategy;
  }
  return out;
}

export function describeEvaluation(e: Evaluation, source: string): string {
  const lines = [`leave-last-out over ${source}: ${e.people} people, ${e.trainingEvents} training events, ${e.items} items`, `  ${'strategy'.padEnd(30)} ${`HR@${e.k}`.padStart(7)} ${`NDCG@${e.k}`.padStart(8)}  vs popular`];
  const pop = e.results.find((r) => r.name === 'popular');
  for (const r of [...e.results].sort((a, b) => b.ndcg - a.ndcg)) {
    const vs = pop && pop.ndcg > 0 && r !== pop ? `${(r.ndcg / pop.ndcg).toFixed(2)}×` : '';
    lines.push(`  ${r.name.padEnd(30)} ${r.hitRate.toFixed(3).padStart(7)} ${r.ndcg.toFixed(3).padStart(8)}  ${vs}`);
  }
  return lines.join('\n');
}

/** `mosaic evaluate recs`: HR@k and NDCG@k of every strategy on a leave-last-out split, from the lake or a generated shop. */
export async function evaluateRecsCli(config: Config, o: { synthetic?: boolean; users?: number; seed?: number; since?: string; k?: number; maxPeople?: number; json?: boolean }): Promise<Evaluation> {
  const pz = config.personalization;
  let events: Envelope[];
  let items: Item[];
  let source: string;
  if (o.synthetic) {
    const shop = syntheticShop({ users: o.users ?? 1000, seed: o.seed ?? 42 });
    ({ events, items } = shop);
    source = `a generated shop (seed ${o.seed ?? 42}, ${o.users ?? 1000} people)`;
  } else {
    events = await lakeInteractions(config, since(o.since));
    items = await catalogOf(config);
    source = `the lake${o.since ? ` since ${o.since}` : ''}`;
    if (!events.length) throw new MosaicError('MOSAIC_BAD_REQUEST', { message: 'The lake holds no interaction events (personalization.interactions) to evaluate on; run `mosaic offload --once`, or try --synthetic.' });
  }
  const bar = o.json ? undefined : new cliProgress.SingleBar({ format: 'evaluate [{bar}] {percentage}% | {value}/{total} people', stream: process.stderr, hideCursor: true }, cliProgress.Presets.shades_classic);
  let started = false;
  const settings = o.synthetic ? SHOP_SIGNAL_SETTINGS : pz;
  const result = await evaluateRecommendations(events, items, settings, strategiesOf(config), {
    embedder: openEmbedder(config),
    ...(o.k ? { k: o.k } : {}),
    ...(o.maxPeople ? { maxPeople: o.maxPeople } : {}),
    onProgress: (done, total) => {
      if (!bar) return;
      if (!started) {
        started = true;
        bar.start(total, 0);
      }
      bar.update(done);
    },
  }).finally(() => started && bar?.stop());
  print(o.json ? JSON.stringify(result, null, 2) : describeEvaluation(result, source));
  return result;
}

export function describeModel(r: ModelReport & { written: number }): string {
  const lines = [
    `model ${r.model}: trained on ${r.trainRows} profiles (features before ${r.cutoff}, outcome within ${r.horizonDays} days after; ${(100 * r.positiveRate).toFixed(1)}% ${r.model === 'churn' ? 'churned' : 'converted'})`,
    `  AUC on ${r.testRows} held-out profiles: ${r.auc === undefined ? 'n/a (one outcome only among them)' : r.auc.toFixed(3)}`,
    `  weights (standardized): ${Object.entries(r.weights).map(([k, v]) => `${k} ${v >= 0 ? '+' : ''}${v.toFixed(2)}`).join(', ')}`,
    r.written ? `  ${r.written} profiles scored: trait ${r.model}_score` : `  ${r.scored} profiles scored; none written (--no-write)`,
  ];
  return lines.join('\n');
}

/** `mosaic model train churn|propensity`: asks the running Mosaic (the log's writer) to train and write the scores. */
export async function modelTrainCli(config: Config, name: string, o: { horizon?: number; event?: string; write: boolean; json?: boolean; url?: string; token?: string }): Promise<void> {
  if (!(MODELS as readonly string[]).includes(name)) throw new MosaicError('MOSAIC_BAD_REQUEST', { message: `No model "${name}": ${MODELS.join(' or ')}.` });
  const r = (await adminRequest(config, o, 'POST', `/v1/models/${name}/train`, { ...(o.horizon ? { horizonDays: o.horizon } : {}), ...(o.event ? { event: o.event } : {}), write: o.write })) as unknown as ModelReport & { written: number };
  print(o.json ? JSON.stringify(r, null, 2) : describeModel(r));
}

/** `mosaic text topics`: fits topics over everyone's text embeddings (through the running Mosaic, which holds the index). */
export async function textTopicsCli(config: Config, o: { k: number; json?: boolean; url?: string; token?: string }): Promise<void> {
  const r = (await adminRequest(config, o, 'POST', '/v1/text/topics', { k: o.k })) as unknown as { topics: { id: string; profiles: number }[]; profiles: number };
  if (o.json) return print(JSON.stringify(r, null, 2));
  print(`${r.topics.length} topics over ${r.profiles} profiles' text:`);
  for (const t of r.topics) print(`  ${t.id.padEnd(5)} ${String(t.profiles).padStart(8)} profiles`);
  print('Each profile shows its topic in GET /v1/profiles/{ref}/similar.');
}
