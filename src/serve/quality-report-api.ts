import type { FastifyInstance, FastifyPluginAsync } from 'fastify';
import { MosaicError } from '../errors.js';
import { WAREHOUSE_TABLES } from '../lake/warehouse.js';
import type { Credentials } from '../ports/credentials.js';
import type { ExpectationRuns } from '../ports/expectation-runs.js';
import { profileOrDrift } from '../quality/profiling.js';
import { requireToken } from './profile-api.js';

export interface QualityReportApiOptions {
  lakeDir: string;
  runs: ExpectationRuns;
  control: Credentials;
  envToken?: string;
}

const HistoryQuery = {
  type: 'object',
  properties: {
    suite: { type: 'string', minLength: 1, maxLength: 200 },
    limit: { type: 'integer', minimum: 1, maximum: 1000, default: 100 },
  },
  additionalProperties: false,
} as const;

const When = { type: 'string', minLength: 1, maxLength: 40 } as const;
const ProfileQuery = {
  type: 'object',
  properties: {
    since: When,
    until: When,
    baselineSince: When,
    baselineUntil: When,
    /** Comma-separated, named as in the answer (event, properties.price). */
    columns: { type: 'string', maxLength: 2000 },
  },
  additionalProperties: false,
} as const;

/**
 * The data-quality reports the console shows: expectation results with their history
 * (GET /v1/quality/expectations) and a lake table's profile, or its drift against a baseline
 * period (GET /v1/quality/profile/{table}). Admin scope: a profile's top values are data.
 */
export const qualityReportApi: FastifyPluginAsync<QualityReportApiOptions> = async (app: FastifyInstance, opts) => {
  app.addHook('onRequest', requireToken(opts.control, opts.envToken, 'admin'));

  app.get<{ Querystring: { suite?: string; limit: number } }>('/v1/quality/expectations', { schema: { querystring: HistoryQuery } }, async (req) => {
    return { runs: await opts.runs.history(req.query.suite, req.query.limit) };
  });

  app.get<{ Params: { table: string }; Querystring: { since?: string; until?: string; baselineSince?: string; baselineUntil?: string; columns?: string } }>(
    '/v1/quality/profile/:table',
    { schema: { params: { type: 'object', properties: { table: { type: 'string', enum: [...WAREHOUSE_TABLES] } } }, querystring: ProfileQuery } },
    async (req) => {
      const { columns, ...periods } = req.query;
      const started = Date.now();
      let status = 200;
      try {
        return await profileOrDrift(opts.lakeDir, req.params.table, { ...periods, ...(columns ? { columns: columns.split(',').map((c) => c.trim()).filter(Boolean) } : {}) });
      } catch (err) {
        status = err instanceof MosaicError ? err.status : 500;
        throw err;
      } finally {
        // Top values are read from the events: an access to data, kept like a SQL query.
        void opts.control.audit({ at: started, actor: req.actor ?? 'unknown', action: 'quality.profile', subject: req.url.slice(0, 500), ip: req.ip, status });
      }
    },
  );
};
