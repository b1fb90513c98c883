import type { FastifyInstance, FastifyPluginAsync } from 'fastify';
import type { Credentials } from '../ports/credentials.js';
import type { MetricsHistory } from '../ports/metrics-history.js';
import { requireToken } from './profile-api.js';

export interface MetricsHistoryApiOptions {
  history: MetricsHistory;
  control: Credentials;
  envToken?: string;
  intervalSeconds: number;
  retentionHours: number;
}

const Query = {
  type: 'object',
  properties: {
    minutes: { type: 'integer', minimum: 1, maximum: 7 * 24 * 60, default: 60 },
    limit: { type: 'integer', minimum: 1, maximum: 10_000, default: 2_000 },
  },
  additionalProperties: false,
} as const;

/**
 * GET /v1/metrics/history?minutes=60: the pipeline's figures over time (events/s accepted and
 * rejected by reason, ingest and decide latency, freshness, lags), one point per sampling
 * interval, from this process's own history. Admin scope.
 */
export const metricsHistoryApi: FastifyPluginAsync<MetricsHistoryApiOptions> = async (app: FastifyInstance, opts) => {
  app.addHook('onRequest', requireToken(opts.control, opts.envToken, 'admin'));
  app.get<{ Querystring: { minutes: number; limit: number } }>('/v1/metrics/history', { schema: { querystring: Query } }, async (req) => {
    const now = Date.now();
    const points = await opts.history.since(now - req.query.minutes * 60_000, req.query.limit);
    return { intervalSeconds: opts.intervalSeconds, retentionHours: opts.retentionHours, now, points };
  });
};
