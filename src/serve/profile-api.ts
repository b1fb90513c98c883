import type { FastifyInstance, FastifyPluginAsync, FastifyRequest } from 'fastify';
import { identityKey, parseIdentityRef } from '../core/identity.js';
import { toPublicProfile, type ProfileModel } from '../core/profile.js';
import { MosaicError } from '../errors.js';
import type { Credentials } from '../ports/credentials.js';
import type { ProfileStore } from '../ports/profile-store.js';
import { basicUser, bearer } from '../collect/auth.js';

export interface ProfileApiOptions {
  store: ProfileStore;
  control: Credentials;
  /** Token accepted besides stored ones (MOSAIC_API_TOKEN). */
  envToken?: string;
  /** Computed traits and sessions, as the processor maintains them. */
  model?: ProfileModel;
}

/** Secret-token guard for every route that reads personal data. Write keys never pass. */
export function requireToken(control: Credentials, envToken: string | undefined) {
  return async (req: FastifyRequest): Promise<void> => {
    const token = bearer(req.headers.authorization) ?? basicUser(req.headers.authorization);
    if (!token) throw new MosaicError('MOSAIC_AUTH_TOKEN_MISSING');
    const actor = control.verifyToken(token, envToken);
    if (!actor) throw new MosaicError('MOSAIC_AUTH_TOKEN_INVALID');
    req.actor = actor;
  };
}

declare module 'fastify' {
  interface FastifyRequest {
    actor?: string;
  }
}

export const profileApi: FastifyPluginAsync<ProfileApiOptions> = async (app: FastifyInstance, opts) => {
  const { store, control } = opts;
  app.addHook('onRequest', requireToken(control, opts.envToken));

  async function load(req: FastifyRequest, ref: string, action: string) {
    const parsed = parseIdentityRef(ref);
    if (!parsed) throw new MosaicError('MOSAIC_IDENTITY_INVALID', { details: [{ path: '/id', rule: 'format', message: `"${ref}" is not "<idType>:<id>"` }] });
    const doc = await store.getProfileByIdentity(identityKey(parsed.type, parsed.id));
    // Audited whether found or not: probing for a person is itself an access to record.
    void control.audit({ at: Date.now(), actor: req.actor ?? 'unknown', action, subject: `${parsed.type}:${parsed.id}`, ip: req.ip, status: doc ? 200 : 404 });
    if (!doc) throw new MosaicError('MOSAIC_PROFILE_NOT_FOUND', { message: `No profile holds ${parsed.type} "${parsed.id}".` });
    return doc;
  }

  app.get<{ Params: { ref: string } }>('/v1/profiles/:ref', async (req) => toPublicProfile(await load(req, req.params.ref, 'profile.read'), opts.model));

  // Segment Profile API shape, so its clients work unchanged.
  app.get<{ Params: { space: string; ref: string } }>('/v1/spaces/:space/collections/users/profiles/:ref/traits', async (req) => {
    const profile = toPublicProfile(await load(req, req.params.ref, 'profile.traits'), opts.model);
    // Segment's Profile API returns computed traits among the traits.
    return { traits: { ...profile.traits, ...profile.computedTraits }, cursor: { url: '', has_more: false, next: '' } };
  });
};
