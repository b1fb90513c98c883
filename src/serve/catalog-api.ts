import type { FastifyInstance, FastifyPluginAsync } from 'fastify';
import { MosaicError } from '../errors.js';
import type { Credentials } from '../ports/credentials.js';
import { buildCatalog, type CatalogDeps } from '../quality/catalog.js';
import { requireToken } from './profile-api.js';

export interface CatalogApiOptions {
  control: Credentials;
  envToken?: string;
  /** The catalog's inputs, read at each request. */
  deps: () => CatalogDeps;
}

/** GET /v1/catalog[/{id}]: every dataset with schema, owner, freshness, rows, retention, personal data and lineage. */
export const catalogApi: FastifyPluginAsync<CatalogApiOptions> = async (app: FastifyInstance, opts) => {
  app.addHook('onRequest', requireToken(opts.control, opts.envToken, 'admin'));
  app.get('/v1/catalog', async () => ({ datasets: await buildCatalog(opts.deps()) }));
  app.get<{ Params: { id: string } }>('/v1/catalog/:id', async (req) => {
    const d = (await buildCatalog(opts.deps())).find((x) => x.id === req.params.id);
    if (!d) throw new MosaicError('MOSAIC_NOT_FOUND', { message: `No dataset "${req.params.id}" in the catalog. GET /v1/catalog lists them.` });
    return d;
  });
};
