import type { Config } from '../config.js';
import { modelIdentifies, trainModel, type ModelName, type ModelReport } from '../lake/models.js';
import { appendEnvelopes } from '../process/emit.js';
import type { EventLog } from '../ports/event-log.js';

/**
 * Trains a model with the configuration's settings (overridable per run) and, with a log to
 * append to, writes each profile's score back as a trait: `mosaic model train`, the scheduled
 * `model` job and POST /v1/models/{name}/train all come here.
 */
export async function trainAndScore(
  config: Config,
  model: ModelName,
  log: EventLog | undefined,
  o: { horizonDays?: number; event?: string; write?: boolean } = {},
): Promise<ModelReport & { written: number }> {
  const m = config.batchFeatures.models[model];
  const { report, scores } = await trainModel(config.lake.dir!, model, {
    horizonDays: o.horizonDays ?? m.horizonDays,
    event: o.event ?? (model === 'propensity' ? config.batchFeatures.models.propensity.event : undefined) ?? config.batchFeatures.rfm.event,
    revenue: config.batchFeatures.rfm.revenue,
  });
  let written = 0;
  if (o.write !== false && log) {
    await appendEnvelopes(log, modelIdentifies(model, scores));
    written = scores.length;
  }
  return { ...report, written };
}
