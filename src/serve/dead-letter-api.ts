import type { FastifyInstance, FastifyPluginAsync } from 'fastify';
import type { Credentials } from '../ports/credentials.js';
import type { DeadLetter, ProfileStore } from '../ports/profile-store.js';
import { requireToken } from './profile-api.js';

export interface DeadLetterApiOptions {
  store: ProfileStore;
  control: Credentials;
  envToken?: string;
}

const Query = {
  type: 'object',
  properties: {
    limit: { type: 'integer', minimum: 1, maximum: 1000, default: 100 },
    cursor: { type: 'integer', minimum: 0, default: 0 },
    kind: { type: 'string', enum: ['transformation', 'destination'] },
  },
  additionalProperties: false,
} as const;

/** The dead-letter list: events a transformation or destination could not handle, with the reason. Behind the admin token. */
export const deadLetterApi: FastifyPluginAsync<DeadLetterApiOptions> = async (app: FastifyInstance, opts) => {
  app.addHook('onRequest', requireToken(opts.control, opts.envToken, 'admin'));
  app.get<{ Querystring: { limit: number; cursor: number; kind?: DeadLetter['kind'] } }>('/v1/dead-letters', { schema: { querystring: Query } }, async (req) => {
    const rows = await opts.store.deadLetters(req.query.cursor, req.query.limit, req.query.kind);
    // Dead letters hold events: reading them is an access to personal data.
    void opts.control.audit({ at: Date.now(), actor: req.actor ?? 'unknown', action: 'dead-letters.read', subject: req.query.kind ?? 'all', ip: req.ip, status: 200 });
    return {
      deadLetters: rows.map((r) => ({ id: r.id, at: new Date(r.at).toISOString(), kind: r.kind, name: r.name, reason: r.reason, event: JSON.parse(r.payload) as unknown })),
      next: rows.length === req.query.limit ? rows[rows.length - 1]!.id : null,
    };
  });
};
