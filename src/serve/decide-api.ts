import type { FastifyInstance, FastifyPluginAsync } from 'fastify';
import type { Credentials } from '../ports/credentials.js';
import type { Decider, DecideRequest } from '../personalize/decider.js';
import { requireToken } from './profile-api.js';

export interface DecideApiOptions {
  decider: Decider;
  control: Credentials;
  envToken?: string;
}

const strings = { type: 'array', items: { type: 'string', minLength: 1, maxLength: 256 }, maxItems: 1000 } as const;
const DecideBody = {
  type: 'object',
  required: ['placement'],
  properties: {
    id: { type: 'string', minLength: 3, maxLength: 512 },
    userId: { type: 'string', minLength: 1, maxLength: 512 },
    anonymousId: { type: 'string', minLength: 1, maxLength: 512 },
    placement: { type: 'string', minLength: 1, maxLength: 128 },
    limit: { type: 'integer', minimum: 1, maximum: 100 },
    context: {
      type: 'object',
      properties: { item: { type: 'string', minLength: 1, maxLength: 256 }, page: { type: 'object' }, device: { type: 'object' } },
      additionalProperties: true,
    },
    filters: {
      type: 'object',
      properties: { categories: strings, exclude: strings, minPrice: { type: 'number', minimum: 0 }, maxPrice: { type: 'number', minimum: 0 } },
      additionalProperties: false,
    },
  },
  additionalProperties: false,
} as const;

/**
 * POST /v1/decide: ranked items for a person and a placement, each with a score and a reason,
 * and the experiment variant. The answer holds catalog items, not personal data; the `decide`
 * scope is all it needs, so a page's backend can hold a token that reads no profile.
 */
export const decideApi: FastifyPluginAsync<DecideApiOptions> = async (app: FastifyInstance, opts) => {
  app.addHook('onRequest', requireToken(opts.control, opts.envToken, 'decide'));
  app.post<{ Body: DecideRequest }>('/v1/decide', { schema: { body: DecideBody } }, async (req) => opts.decider.decide(req.body));
  app.get('/v1/placements', async () => ({ placements: opts.decider.placementNames() }));
};
