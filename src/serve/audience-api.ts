import type { FastifyInstance, FastifyPluginAsync, FastifyRequest } from 'fastify';
import type { CompiledAudience } from '../core/audiences.js';
import { splitKey } from '../core/identity.js';
import { MosaicError } from '../errors.js';
import type { Credentials } from '../ports/credentials.js';
import { CursorError, type ProfileStore } from '../ports/profile-store.js';
import { BACKFILL_META, type BackfillState } from '../process/processor.js';
import { requireToken } from './profile-api.js';

export interface AudienceApiOptions {
  store: ProfileStore;
  control: Credentials;
  envToken?: string;
  audiences: readonly CompiledAudience[];
}

const MembersQuery = {
  type: 'object',
  properties: { limit: { type: 'integer', minimum: 1, maximum: 1000, default: 100 }, cursor: { type: 'string' } },
  additionalProperties: false,
} as const;
const SizesQuery = { type: 'object', properties: { since: { type: 'string', format: 'date-time' } }, additionalProperties: false } as const;

/** Audiences: definitions, sizes (now and over time), backfill progress and members. Behind the admin token. */
export const audienceApi: FastifyPluginAsync<AudienceApiOptions> = async (app: FastifyInstance, opts) => {
  const { store, control, audiences } = opts;
  app.addHook('onRequest', requireToken(control, opts.envToken, 'profiles:read'));

  const find = (name: string) => {
    const a = audiences.find((x) => x.def.name === name);
    if (!a) throw new MosaicError('MOSAIC_AUDIENCE_NOT_FOUND', { message: `No audience "${name}". Configured: ${audiences.map((x) => x.def.name).join(', ') || 'none'}.` });
    return a;
  };
  const backfillOf = async (name: string) => {
    const b = JSON.parse((await store.getMeta(BACKFILL_META)) ?? 'null') as BackfillState | null;
    return b && b.audiences.includes(name) ? { done: b.done, total: b.total, startedAt: b.startedAt, ...(b.finishedAt ? { finishedAt: b.finishedAt } : {}) } : null;
  };
  const describe = async (a: CompiledAudience, size: number) => ({
    name: a.def.name,
    ...(a.def.description ? { description: a.def.description } : {}),
    rule: a.def.rule,
    size,
    backfill: await backfillOf(a.def.name),
  });

  app.get('/v1/audiences', async () => {
    const counts = await store.audienceCounts();
    return { audiences: await Promise.all(audiences.map((a) => describe(a, counts.get(a.def.name) ?? 0))) };
  });

  app.get<{ Params: { name: string } }>('/v1/audiences/:name', async (req) => {
    const a = find(req.params.name);
    return describe(a, (await store.audienceCounts()).get(a.def.name) ?? 0);
  });

  app.get<{ Params: { name: string }; Querystring: { since?: string } }>('/v1/audiences/:name/sizes', { schema: { querystring: SizesQuery } }, async (req) => {
    const a = find(req.params.name);
    const since = req.query.since ? Date.parse(req.query.since) : Date.now() - 86_400_000;
    const sizes = await store.audienceSizes(a.def.name, since);
    return { name: a.def.name, sizes: sizes.map((s) => ({ at: new Date(s.at).toISOString(), size: s.size })) };
  });

  app.get<{ Params: { name: string }; Querystring: { limit: number; cursor?: string } }>(
    '/v1/audiences/:name/members',
    { schema: { querystring: MembersQuery } },
    async (req: FastifyRequest<{ Params: { name: string }; Querystring: { limit: number; cursor?: string } }>) => {
      const a = find(req.params.name);
      const page = await store.audienceMembers(a.def.name, req.query.cursor, req.query.limit).catch((err: unknown) => {
        throw err instanceof CursorError ? new MosaicError('MOSAIC_BAD_REQUEST', { message: err.message, details: [{ path: '/cursor', rule: 'cursor', message: err.message }] }) : err;
      });
      const clusters = await store.getClusters(page.members.map((m) => m.profileId));
      void control.audit({ at: Date.now(), actor: req.actor ?? 'unknown', action: 'audience.members', subject: `audience:${a.def.name}`, ip: req.ip, status: 200 });
      return {
        members: page.members.map((m) => ({
          profileId: m.profileId,
          since: new Date(m.since).toISOString(),
          identities: (clusters.get(m.profileId)?.members ?? []).map(splitKey),
        })),
        next: page.next ?? null,
      };
    },
  );
};
