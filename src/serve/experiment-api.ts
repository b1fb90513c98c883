import type { FastifyInstance, FastifyPluginAsync } from 'fastify';
import type { Config } from '../config.js';
import { MosaicError } from '../errors.js';
import { DEFAULT_STRATEGY } from '../personalize/decider.js';
import { configuredExperiments, reportOf } from '../personalize/experiment-report.js';
import type { Credentials } from '../ports/credentials.js';
import { parseWhen } from '../quality/profiling.js';
import { requireToken } from './profile-api.js';

export interface ExperimentApiOptions {
  config: Config;
  control: Credentials;
  envToken?: string;
}

const ReportQuery = {
  type: 'object',
  required: ['conversion'],
  properties: {
    /** The track event that counts as converting, e.g. Order Completed. */
    conversion: { type: 'string', minLength: 1, maxLength: 200 },
    /** Exposures since: a duration before now (7d) or a date. */
    since: { type: 'string', minLength: 1, maxLength: 40 },
  },
  additionalProperties: false,
} as const;

/**
 * GET /v1/experiments (the configured ones) and GET /v1/experiments/{name}/report?conversion=…:
 * conversion by variant from the lake with a significance test against the control, as
 * `mosaic experiment report` prints it. Counts of people only: the `reports` scope.
 */
export const experimentApi: FastifyPluginAsync<ExperimentApiOptions> = async (app: FastifyInstance, opts) => {
  app.addHook('onRequest', requireToken(opts.control, opts.envToken, 'reports'));

  app.get('/v1/experiments', async () => ({ experiments: configuredExperiments(opts.config.personalization.placements, DEFAULT_STRATEGY) }));

  app.get<{ Params: { name: string }; Querystring: { conversion: string; since?: string } }>('/v1/experiments/:name/report', { schema: { querystring: ReportQuery } }, async (req) => {
    let sinceMs: number | undefined;
    try {
      sinceMs = req.query.since === undefined ? undefined : parseWhen(req.query.since);
    } catch (err) {
      throw new MosaicError('MOSAIC_BAD_REQUEST', { message: `since: ${(err as Error).message}` });
    }
    return reportOf(opts.config, req.params.name, { conversion: req.query.conversion, ...(sinceMs !== undefined ? { sinceMs } : {}) });
  });
};
