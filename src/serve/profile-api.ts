import type { Pseudonymizer } from '../core/pseudonymize.js';
import type { FastifyInstance, FastifyPluginAsync, FastifyRequest } from 'fastify';
import type { IdentityRules } from '../core/identity.js';
import { resolveSubject, type SubjectNode } from '../privacy/subject.js';
import { assembleProfile, toPublicProfile, type ProfileModel } from '../core/profile.js';
import { MosaicError } from '../errors.js';
import type { Credentials, Scope } from '../ports/credentials.js';
import type { ProfileStore } from '../ports/profile-store.js';
import type { EventLog } from '../ports/event-log.js';
import type { ProfileCache } from '../ports/profile-cache.js';
import { basicUser, bearer } from '../collect/auth.js';
import type { Cluster } from '../core/identity-graph.js';
import { textEmbedding } from '../core/text-state.js';
import type { ProfileIndex } from '../personalize/profile-index.js';

export interface ProfileApiOptions {
  store: ProfileStore;
  control: Credentials;
  /** Token accepted besides stored ones (MOSAIC_API_TOKEN). */
  envToken?: string;
  /** How identifiers in paths become graph nodes (normalized, pseudonymized). */
  rules: IdentityRules;
  /** Computed traits and sessions, as the processor maintains them. */
  model?: ProfileModel;
  /** Read for a profile's recent events. */
  log: EventLog;
  /** Assembled profiles, read through (absent: every read assembles from the store). */
  cache?: ProfileCache;
  /** The collector's pseudonymization: lookups by a raw identifier go through its tokens. */
  pseudonymizer?: Pseudonymizer;
  /** People by what they wrote (personalization.text); absent: GET …/similar says how to turn it on. */
  similar?: ProfileIndex;
}

const EventsQuery = { type: 'object', properties: { limit: { type: 'integer', minimum: 1, maximum: 200, default: 20 } }, additionalProperties: false } as const;

/** Secret-token guard for every route that reads personal data. Write keys never pass. */
/** An onRequest hook: a valid token holding `scope` (or `admin`), else 401/403. Sets `req.actor` to the token id. */
export function requireToken(control: Credentials, envToken: string | undefined, scope: Scope) {
  return async (req: FastifyRequest): Promise<void> => {
    const token = bearer(req.headers.authorization) ?? basicUser(req.headers.authorization);
    // Without a token, the console's session (serve/console.ts) stands for the token it logged in with.
    if (!token && !req.sessionHolder) throw new MosaicError('MOSAIC_AUTH_TOKEN_MISSING');
    const holder = token ? control.verifyToken(token, envToken) : req.sessionHolder;
    if (!holder) throw new MosaicError('MOSAIC_AUTH_TOKEN_INVALID');
    if (!holder.scopes.includes(scope) && !holder.scopes.includes('admin')) {
      throw new MosaicError('MOSAIC_AUTH_SCOPE', { message: `This token (${holder.id}) has the scope${holder.scopes.length === 1 ? '' : 's'} ${holder.scopes.join(', ') || '(none)'}; ${req.method} ${req.routeOptions.url ?? req.url} needs "${scope}". Create one with: mosaic token create --scopes ${scope}` });
    }
    req.actor = holder.id;
  };
}

declare module 'fastify' {
  interface FastifyRequest {
    actor?: string;
  }
}

export const profileApi: FastifyPluginAsync<ProfileApiOptions> = async (app: FastifyInstance, opts) => {
  const { store, control, rules } = opts;
  app.addHook('onRequest', requireToken(control, opts.envToken, 'profiles:read'));

  const nodeOf = (ref: string) => resolveSubject(ref, rules, store, opts.pseudonymizer);

  // Audited whether found or not: probing for a person is itself an access to record.
  function audit(req: FastifyRequest, action: string, node: SubjectNode, found: boolean): void {
    void control.audit({ at: Date.now(), actor: req.actor ?? 'unknown', action, subject: node.subject, ip: req.ip, status: found ? 200 : 404 });
  }

  async function findCluster(req: FastifyRequest, ref: string, action: string): Promise<Cluster> {
    const node = await nodeOf(ref);
    const cluster = node.key === undefined ? undefined : await store.findCluster(node.key);
    audit(req, action, node, cluster !== undefined);
    if (!cluster) throw new MosaicError('MOSAIC_PROFILE_NOT_FOUND', { message: `No profile holds ${node.type} "${node.id}".` });
    return cluster;
  }

  async function assemble(cluster: Cluster) {
    const parts = await store.getParts(cluster.members);
    return assembleProfile(cluster, [...parts.values()].sort((a, b) => (a.id < b.id ? -1 : 1)), opts.model);
  }

  async function fromStore(req: FastifyRequest, ref: string, action: string) {
    if (store.readProfile) {
      // One round trip to a remote store instead of three.
      const node = await nodeOf(ref);
      const found = node.key === undefined ? undefined : await store.readProfile(node.key);
      audit(req, action, node, found !== undefined);
      if (!found) throw new MosaicError('MOSAIC_PROFILE_NOT_FOUND', { message: `No profile holds ${node.type} "${node.id}".` });
      const doc = assembleProfile(found.cluster, found.parts.sort((a, b) => (a.id < b.id ? -1 : 1)), opts.model);
      return { ...toPublicProfile(doc, opts.model), audiences: found.audiences };
    }
    const cluster = await findCluster(req, ref, action);
    const doc = await assemble(cluster);
    const audiences = [...((await store.memberships([cluster.id])).get(cluster.id) ?? [])].sort();
    return { ...toPublicProfile(doc, opts.model), audiences };
  }

  /** Through the cache when there is one; the store answers whenever the cache cannot. */
  async function load(req: FastifyRequest, ref: string, action: string): Promise<Awaited<ReturnType<typeof fromStore>>> {
    const cache = opts.cache;
    const node = await nodeOf(ref);
    if (!cache || node.key === undefined) return fromStore(req, ref, action);
    let token: string | undefined;
    try {
      const hit = await cache.get(node.key);
      if (hit.value !== undefined) {
        audit(req, action, node, true);
        return JSON.parse(hit.value) as Awaited<ReturnType<typeof fromStore>>;
      }
      token = hit.token;
    } catch {
      // Unreachable or slow: read the store.
    }
    const profile = await fromStore(req, ref, action);
    if (token !== undefined) void cache.fill(node.key, token, JSON.stringify(profile)).catch(() => undefined);
    return profile;
  }

  // The profile's newest events by event time, read back from the log (the profile keeps only their places).
  app.get<{ Params: { ref: string }; Querystring: { limit: number } }>('/v1/profiles/:ref/events', { schema: { querystring: EventsQuery } }, async (req) => {
    const keep = opts.model?.recentEvents ?? 0;
    if (keep === 0) throw new MosaicError('MOSAIC_BAD_REQUEST', { message: 'Recent events are not indexed: set profiles.recentEvents above 0 in mosaic.yaml and run `mosaic replay`.' });
    const cluster = await findCluster(req, req.params.ref, 'profile.events');
    const refs = ((await assemble(cluster)).recent ?? []).slice(0, Math.min(req.query.limit, keep));
    const events: unknown[] = [];
    for (const [, partition, offset] of refs) {
      const [entry] = await opts.log.read(partition, offset, 1);
      // read() returns the next entry at or after the offset: skip one that is not this event.
      if (entry?.offset === offset) events.push(JSON.parse(entry.payload));
    }
    return { id: cluster.id, events, indexed: keep };
  });

  app.get<{ Params: { ref: string } }>('/v1/profiles/:ref', async (req) => load(req, req.params.ref, 'profile.read'));

  // Lineage: which identifiers and profiles were merged, when, by which event, and which merges a rule refused.
  app.get<{ Params: { ref: string } }>('/v1/profiles/:ref/merges', async (req) => {
    const cluster = await findCluster(req, req.params.ref, 'profile.merges');
    const show = (key: string) => {
      const i = key.indexOf(':');
      return { type: key.slice(0, i), id: key.slice(i + 1) };
    };
    return {
      id: cluster.id,
      merges: cluster.lineage.map((l) => ({
        kind: l.kind,
        at: new Date(l.at).toISOString(),
        messageId: l.messageId,
        identities: l.identities.map(show),
        ...(l.profiles ? { profiles: l.profiles } : {}),
        ...(l.dropped ? { dropped: l.dropped.map((d) => ({ ...show(d.key), ...(d.profile ? { profile: d.profile } : {}), rule: d.rule })) } : {}),
      })),
    };
  });

  // People whose writing is most like this person's: nearest text embeddings in the ANN index.
  app.get<{ Params: { ref: string }; Querystring: { limit: number } }>(
    '/v1/profiles/:ref/similar',
    { schema: { querystring: { type: 'object', properties: { limit: { type: 'integer', minimum: 1, maximum: 100, default: 10 } }, additionalProperties: false } } },
    async (req) => {
      if (!opts.similar) throw new MosaicError('MOSAIC_PERSONALIZATION_DISABLED', { message: 'Similar profiles are found by what people write: declare personalization.text.sources in mosaic.yaml.' });
      const cluster = await findCluster(req, req.params.ref, 'profile.similar');
      const doc = await assemble(cluster);
      const vector = textEmbedding(doc.text);
      return { id: cluster.id, texts: doc.text?.n ?? 0, ...(vector ? { topic: (await opts.similar.topicOf(vector)) ?? null } : {}), similar: vector ? await opts.similar.similar(cluster.id, vector, req.query.limit) : [] };
    },
  );

  // Segment Profile API shape, so its clients work unchanged.
  app.get<{ Params: { space: string; ref: string } }>('/v1/spaces/:space/collections/users/profiles/:ref/traits', async (req) => {
    const profile = await load(req, req.params.ref, 'profile.traits');
    // Segment's Profile API returns computed traits among the traits.
    return { traits: { ...profile.traits, ...profile.computedTraits }, cursor: { url: '', has_more: false, next: '' } };
  });
};
