import type { FastifyInstance, FastifyPluginAsync } from 'fastify';
import { MosaicError } from '../errors.js';
import { Warehouse } from '../lake/warehouse.js';
import type { Credentials } from '../ports/credentials.js';
import { requireToken } from './profile-api.js';

export interface SqlApiOptions {
  lakeDir: string;
  control: Credentials;
  envToken?: string;
  /** A query running longer is interrupted. */
  timeoutMs?: number;
}

const Body = {
  type: 'object',
  required: ['query'],
  properties: {
    query: { type: 'string', minLength: 1, maxLength: 100_000 },
    /** Rows returned at most; `truncated` says when there were more. */
    limit: { type: 'integer', minimum: 1, maximum: 100_000, default: 10_000 },
  },
  additionalProperties: false,
} as const;

/**
 * POST /v1/sql: one read-only query over the lake (DuckDB), behind the admin token and audited.
 * Each request opens its own in-memory DuckDB over the files the lake's manifest names, so it
 * sees everything offloaded so far and cannot change anything.
 */
export const sqlApi: FastifyPluginAsync<SqlApiOptions> = async (app: FastifyInstance, opts) => {
  app.addHook('onRequest', requireToken(opts.control, opts.envToken, 'sql'));
  app.post<{ Body: { query: string; limit: number } }>('/v1/sql', { schema: { body: Body } }, async (req) => {
    const warehouse = await Warehouse.open(opts.lakeDir);
    const timer = setTimeout(() => warehouse.interrupt(), opts.timeoutMs ?? 30_000);
    let status = 200;
    try {
      const r = await warehouse.query(req.body.query);
      return { columns: r.columns, rows: r.rows.slice(0, req.body.limit), truncated: r.rows.length > req.body.limit };
    } catch (err) {
      status = err instanceof MosaicError ? err.status : 500;
      throw err;
    } finally {
      clearTimeout(timer);
      warehouse.close();
      // The lake holds events: a query is an access to personal data.
      void opts.control.audit({ at: Date.now(), actor: req.actor ?? 'unknown', action: 'sql.query', subject: req.body.query.slice(0, 500), ip: req.ip, status });
    }
  });
};
