import type { FastifyInstance, FastifyPluginAsync } from 'fastify';
import type { ControlStore } from '../adapters/sqlite/control-store.js';
import type { Pseudonymizer } from '../core/pseudonymize.js';
import { MosaicError } from '../errors.js';
import { erasePerson, exportPerson, writeErasureReport, type PrivacyDeps } from '../privacy/erasure.js';
import { newRequest, showRequest, type PrivacyRequest } from '../privacy/requests.js';
import { resolveSubject } from '../privacy/subject.js';
import { requireToken } from './profile-api.js';

export interface PrivacyApiOptions {
  deps: PrivacyDeps;
  control: ControlStore;
  envToken?: string;
  pseudonymizer?: Pseudonymizer;
}

const SubjectBody = {
  type: 'object',
  required: ['subject'],
  properties: { subject: { type: 'string', minLength: 3, description: '<idType>:<id>, e.g. email:ann@example.com' } },
  additionalProperties: false,
} as const;

const RevealBody = {
  type: 'object',
  required: ['token', 'reason'],
  properties: {
    token: { type: 'string', pattern: '^pii:', maxLength: 200, description: 'a pseudonymization token as stored, e.g. pii:k1:…' },
    reason: { type: 'string', minLength: 5, maxLength: 500, description: 'why: kept in the audit trail' },
  },
  additionalProperties: false,
} as const;

const AuditQuerySchema = {
  type: 'object',
  properties: {
    subject: { type: 'string' },
    actor: { type: 'string' },
    action: { type: 'string' },
    since: { type: 'string', format: 'date-time' },
    until: { type: 'string', format: 'date-time' },
    before: { type: 'integer', minimum: 1 },
    limit: { type: 'integer', minimum: 1, maximum: 1000, default: 100 },
  },
  additionalProperties: false,
} as const;

/**
 * Data subject requests (export, erasure) tracked with their CCPA deadlines, and the audit
 * trail. Behind the admin token; no CORS (the collector's CORS answers only its own routes).
 */
export const privacyApi: FastifyPluginAsync<PrivacyApiOptions> = async (app: FastifyInstance, opts) => {
  const { deps, control } = opts;
  app.addHook('onRequest', requireToken(control, opts.envToken, 'privacy'));
  const resolve = (ref: string) => resolveSubject(ref, deps.rules, deps.store, opts.pseudonymizer);

  app.post<{ Body: { subject: string } }>('/v1/privacy/exports', { schema: { body: SubjectBody } }, async (req) => {
    const node = await resolve(req.body.subject);
    const request = newRequest('export', node.subject, req.actor ?? 'unknown');
    request.status = 'in_progress';
    request.confirmedAt = request.receivedAt;
    control.saveRequest(request);
    void control.audit({ at: Date.now(), actor: req.actor ?? 'unknown', action: 'privacy.export', subject: node.subject, ip: req.ip, status: 200 });
    try {
      const data = await exportPerson(deps, node);
      Object.assign(request, { status: 'completed', completedAt: Date.now(), summary: data.summary });
      control.saveRequest(request);
      return { request: showRequest(request), ...data };
    } catch (err) {
      Object.assign(request, { status: 'failed', error: (err as Error).message });
      control.saveRequest(request);
      throw err;
    }
  });

  // Re-identification: one value at a time, with a reason, each use in the audit trail (found or not).
  app.post<{ Body: { token: string; reason: string } }>('/v1/privacy/reveal', { schema: { body: RevealBody } }, async (req) => {
    if (!deps.vault) throw new MosaicError('MOSAIC_VAULT_DISABLED');
    const kept = await deps.vault.reveal(req.body.token);
    void control.audit({ at: Date.now(), actor: req.actor ?? 'unknown', action: 'vault.reveal', subject: req.body.token, ip: req.ip, status: kept ? 200 : 404, detail: req.body.reason });
    if (!kept) throw new MosaicError('MOSAIC_VAULT_NOT_FOUND', { message: `The vault holds no value for ${req.body.token}: it was made before the vault was enabled, or its person was erased.` });
    return { token: kept.token, value: kept.value, keptAt: new Date(kept.at).toISOString() };
  });

  // Accepted at once (202) and run in the background: the log and the lake are read whole.
  app.post<{ Body: { subject: string } }>('/v1/privacy/erasures', { schema: { body: SubjectBody } }, async (req, reply) => {
    const node = await resolve(req.body.subject);
    if (node.key === undefined) throw new MosaicError('MOSAIC_IDENTITY_INVALID', { message: `"${req.body.subject}" is not a usable ${node.type}.` });
    const request = newRequest('erasure', node.subject, req.actor ?? 'unknown');
    request.confirmedAt = request.receivedAt;
    control.saveRequest(request);
    void control.audit({ at: Date.now(), actor: req.actor ?? 'unknown', action: 'privacy.erase', subject: `erasure:${request.id}`, ip: req.ip, status: 202 });
    void runErasure(request, node);
    return reply.code(202).send({ request: showRequest(request) });
  });

  async function runErasure(request: PrivacyRequest, node: Awaited<ReturnType<typeof resolve>>): Promise<void> {
    request.status = 'in_progress';
    control.saveRequest(request);
    const log = deps.logger?.child({ request: request.id });
    try {
      const summary = await erasePerson(deps, node, request.id, (step) => {
        log?.info({ step }, 'erasure: step');
        request.summary = { step };
        control.saveRequest(request);
      });
      const completedAt = Date.now();
      const report = writeErasureReport(deps.dataDir, { requestId: request.id, requestedAt: new Date(request.receivedAt).toISOString(), completedAt: new Date(completedAt).toISOString(), summary });
      const { subject: _gone, ...rest } = request;
      control.saveRequest({ ...rest, status: 'completed', completedAt, summary: { ...summary, report } });
      log?.info({ summary }, 'erasure: completed');
    } catch (err) {
      log?.error({ err }, 'erasure failed; it can be run again');
      control.saveRequest({ ...request, status: 'failed', error: (err as Error).message });
    }
  }

  app.get<{ Querystring: { limit: number } }>('/v1/privacy/requests', { schema: { querystring: { type: 'object', properties: { limit: { type: 'integer', minimum: 1, maximum: 1000, default: 100 } }, additionalProperties: false } } }, async (req) => ({
    requests: control.requests(req.query.limit).map((r) => showRequest(r)),
  }));

  app.get<{ Params: { id: string } }>('/v1/privacy/requests/:id', async (req) => {
    const r = control.request(req.params.id);
    if (!r) throw new MosaicError('MOSAIC_PRIVACY_REQUEST_NOT_FOUND');
    return { request: showRequest(r) };
  });

  app.get<{ Querystring: { subject?: string; actor?: string; action?: string; since?: string; until?: string; before?: number; limit: number } }>('/v1/audit', { schema: { querystring: AuditQuerySchema } }, async (req) => {
    const q = req.query;
    // A raw identifier is looked up as stored (its token where the type is pseudonymized).
    const subjects = q.subject === undefined ? undefined : [...new Set([q.subject, ...(q.subject.includes(':') ? [(await resolve(q.subject).catch(() => undefined))?.subject] : [])].filter((s): s is string => s !== undefined))];
    const entries = control.queryAudit({
      ...(subjects ? { subjects } : {}),
      ...(q.actor ? { actor: q.actor } : {}),
      ...(q.action ? { action: q.action } : {}),
      ...(q.since ? { sinceMs: Date.parse(q.since) } : {}),
      ...(q.until ? { untilMs: Date.parse(q.until) } : {}),
      ...(q.before ? { beforeId: q.before } : {}),
      limit: q.limit,
    });
    const last = entries[entries.length - 1];
    return { entries: entries.map((e) => ({ ...e, at: new Date(e.at).toISOString() })), ...(entries.length === q.limit && last ? { next: last.id } : {}) };
  });
};
