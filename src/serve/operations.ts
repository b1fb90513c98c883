import type { FastifyPluginAsync } from 'fastify';

export interface OperationsOptions {
  /** Prometheus text of every registry of the process (threads included). */
  metricsText: () => Promise<string>;
  contentType: string;
  readiness: () => { ready: boolean; checks: Record<string, unknown> };
}

/** Liveness, readiness (with log lag) and Prometheus metrics. No personal data here. */
export const operations: FastifyPluginAsync<OperationsOptions> = async (app, opts) => {
  app.get('/health', async () => {
    const r = opts.readiness();
    return { status: 'ok', ready: r.ready, ...r.checks };
  });
  app.get('/health/live', async () => ({ status: 'ok' }));
  app.get('/health/ready', async (_req, reply) => {
    const r = opts.readiness();
    return reply.code(r.ready ? 200 : 503).send({ status: r.ready ? 'ready' : 'not_ready', ...r.checks });
  });
  app.get('/metrics', async (_req, reply) => {
    reply.header('content-type', opts.contentType);
    return opts.metricsText();
  });
};
