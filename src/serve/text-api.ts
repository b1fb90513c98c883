import type { FastifyInstance, FastifyPluginAsync } from 'fastify';
import type { Credentials } from '../ports/credentials.js';
import type { ProfileIndex } from '../personalize/profile-index.js';
import { requireToken } from './profile-api.js';

export interface TextApiOptions {
  profiles: ProfileIndex;
  control: Credentials;
  envToken?: string;
}

/** POST /v1/text/topics (admin): k-means over everyone's text embeddings; profiles then show their topic. */
export const textApi: FastifyPluginAsync<TextApiOptions> = async (app: FastifyInstance, opts) => {
  app.addHook('onRequest', requireToken(opts.control, opts.envToken, 'admin'));
  app.post<{ Body: { k: number } }>(
    '/v1/text/topics',
    { schema: { body: { type: 'object', properties: { k: { type: 'integer', minimum: 2, maximum: 100, default: 8 } }, additionalProperties: false } } },
    async (req) => {
      await opts.profiles.sync();
      return opts.profiles.fitTopics(req.body?.k ?? 8);
    },
  );
};
