import type { FastifyInstance, FastifyPluginAsync } from 'fastify';
import type { ControlStore } from '../adapters/sqlite/control-store.js';
import { MosaicError } from '../errors.js';
import { SCOPES, type Scope, type TokenInfo } from '../ports/credentials.js';
import { requireToken } from './profile-api.js';

export interface TokenApiOptions {
  control: ControlStore;
  envToken?: string;
}

const CreateBody = {
  type: 'object',
  required: ['scopes'],
  properties: {
    label: { type: 'string', minLength: 1, maxLength: 100, default: 'api' },
    scopes: { type: 'array', minItems: 1, uniqueItems: true, items: { type: 'string', enum: [...SCOPES] } },
  },
  additionalProperties: false,
} as const;

const IdParams = { type: 'object', required: ['id'], properties: { id: { type: 'string', minLength: 1, maxLength: 64 } } } as const;

export const tokenView = (t: TokenInfo) => ({ id: t.id, label: t.label, scopes: t.scopes, createdAt: new Date(t.createdAt).toISOString(), revokedAt: t.revokedAt === undefined ? null : new Date(t.revokedAt).toISOString() });

/** API tokens: created (the secret shown once), listed (never their secrets), revoked. Admin scope. */
export const tokenApi: FastifyPluginAsync<TokenApiOptions> = async (app: FastifyInstance, opts) => {
  const { control } = opts;
  app.addHook('onRequest', requireToken(control, opts.envToken, 'admin'));

  app.get('/v1/tokens', async () => ({ tokens: control.tokens().map(tokenView) }));

  app.post<{ Body: { label: string; scopes: Scope[] } }>('/v1/tokens', { schema: { body: CreateBody } }, async (req, reply) => {
    const created = control.createToken(req.body.label, req.body.scopes);
    void control.audit({ at: Date.now(), actor: req.actor ?? 'unknown', action: 'token.create', subject: created.id, ip: req.ip, status: 201 });
    return reply.code(201).send({ id: created.id, token: created.token, scopes: created.scopes, label: req.body.label });
  });

  app.delete<{ Params: { id: string } }>('/v1/tokens/:id', { schema: { params: IdParams } }, async (req) => {
    if (!control.revokeToken(req.params.id)) throw new MosaicError('MOSAIC_TOKEN_NOT_FOUND', { message: `No API token has the id "${req.params.id}". List them with: mosaic token list.` });
    void control.audit({ at: Date.now(), actor: req.actor ?? 'unknown', action: 'token.revoke', subject: req.params.id, ip: req.ip, status: 200 });
    return { id: req.params.id, revoked: true };
  });
};
