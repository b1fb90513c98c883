import type { FastifyInstance, FastifyPluginAsync } from 'fastify';
import type { Config } from '../config.js';
import { MODELS, type ModelName } from '../lake/models.js';
import type { Credentials } from '../ports/credentials.js';
import type { EventLog } from '../ports/event-log.js';
import { trainAndScore } from '../personalize/train.js';
import { requireToken } from './profile-api.js';

export interface ModelApiOptions {
  config: Config;
  log: EventLog;
  control: Credentials;
  envToken?: string;
}

const Body = {
  type: 'object',
  properties: {
    horizonDays: { type: 'integer', minimum: 1, maximum: 365 },
    event: { type: 'string', minLength: 1, maxLength: 200 },
    /** false: report the AUC only, write no score. */
    write: { type: 'boolean', default: true },
  },
  additionalProperties: false,
} as const;

/**
 * POST /v1/models/{churn|propensity}/train (admin): trains on the warehouse, answers with the
 * held-out AUC, and appends the scores as traits through this process's log (the one writer of
 * an embedded log: `mosaic model train` asks the running Mosaic).
 */
export const modelApi: FastifyPluginAsync<ModelApiOptions> = async (app: FastifyInstance, opts) => {
  app.addHook('onRequest', requireToken(opts.control, opts.envToken, 'admin'));
  app.post<{ Params: { name: ModelName }; Body: { horizonDays?: number; event?: string; write: boolean } }>(
    '/v1/models/:name/train',
    { schema: { params: { type: 'object', properties: { name: { type: 'string', enum: [...MODELS] } }, required: ['name'] }, body: Body } },
    async (req) => {
      const r = await trainAndScore(opts.config, req.params.name, opts.log, req.body ?? {});
      void opts.control.audit({ at: Date.now(), actor: req.actor ?? 'unknown', action: `model.train`, subject: req.params.name, ip: req.ip, status: 200 });
      return r;
    },
  );
};
