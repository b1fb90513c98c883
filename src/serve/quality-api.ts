import type { FastifyInstance, FastifyPluginAsync } from 'fastify';
import type { Compatibility } from '../core/schema-diff.js';
import { COMPATIBILITIES } from '../core/schema-diff.js';
import { MosaicError } from '../errors.js';
import type { Credentials } from '../ports/credentials.js';
import type { EventLog } from '../ports/event-log.js';
import type { Quarantine, QuarantinedEvent, QuarantineFilter } from '../ports/quarantine.js';
import type { PlanHolder } from '../quality/plan-holder.js';
import { replayQuarantined } from '../quality/quarantine-replay.js';
import { checkSchema, normalizeSubject, registerSchema } from '../quality/schemas.js';
import { formatChange } from '../core/schema-diff.js';
import { requireToken } from './profile-api.js';
import type { Pseudonymizer } from '../core/pseudonymize.js';

export interface QualityApiOptions {
  plan: PlanHolder;
  quarantine: Quarantine;
  log: EventLog;
  control: Credentials;
  envToken?: string;
  defaultCompatibility: Compatibility;
  sourceName: (id: string) => string | undefined;
  pseudonymizer?: Pseudonymizer;
}

const SchemaBody = {
  type: 'object',
  required: ['schema'],
  properties: { schema: {}, compatibility: { type: 'string', enum: [...COMPATIBILITIES] } },
  additionalProperties: false,
} as const;
const ListQuery = {
  type: 'object',
  properties: {
    limit: { type: 'integer', minimum: 1, maximum: 1000, default: 100 },
    cursor: { type: 'integer', minimum: 0, default: 0 },
    rule: { type: 'string' },
    subject: { type: 'string' },
    status: { type: 'string', enum: ['pending', 'replayed', 'all'], default: 'pending' },
  },
  additionalProperties: false,
} as const;
const ReplayBody = {
  type: 'object',
  properties: {
    ids: { type: 'array', items: { type: 'integer', minimum: 1 }, maxItems: 10_000 },
    rule: { type: 'string' },
    subject: { type: 'string' },
    all: { type: 'boolean' },
    force: { type: 'boolean', default: false },
  },
  additionalProperties: false,
} as const;

const PAGE = 500;
/** Failures listed in a replay's answer; the rest are counted. */
const SHOWN_FAILURES = 100;

function view(q: QuarantinedEvent) {
  return {
    id: q.id,
    receivedAt: new Date(q.receivedAtMs).toISOString(),
    sourceId: q.sourceId,
    messageId: q.messageId,
    subject: q.subject,
    violations: q.violations,
    status: q.replayedAtMs === undefined ? 'pending' : 'replayed',
    ...(q.replayedAtMs !== undefined ? { replayedAt: new Date(q.replayedAtMs).toISOString() } : {}),
    event: JSON.parse(q.payload) as unknown,
  };
}

/** The tracking plan's schemas and the quarantine, behind the admin token (see docs/quality.md). */
export const qualityApi: FastifyPluginAsync<QualityApiOptions> = async (app: FastifyInstance, opts) => {
  const { plan, quarantine } = opts;
  const registry = plan.registry;
  app.addHook('onRequest', requireToken(opts.control, opts.envToken, 'admin'));
  const audit = (actor: string | undefined, action: string, subject: string, ip: string) => void opts.control.audit({ at: Date.now(), actor: actor ?? 'unknown', action, subject, ip, status: 200 });

  app.get('/v1/schemas', async () => {
    const latest = await registry.latest();
    return { schemas: latest.map((v) => ({ subject: v.subject, version: v.version, compatibility: v.compatibility, createdAt: new Date(v.createdAt).toISOString() })) };
  });

  app.get<{ Params: { subject: string } }>('/v1/schemas/:subject', async (req) => {
    const subject = normalizeSubject(req.params.subject);
    const versions = await registry.versions(subject);
    if (!versions.length) throw new MosaicError('MOSAIC_SCHEMA_NOT_FOUND', { message: `No schema is registered under "${subject}".` });
    const latest = versions[versions.length - 1]!;
    return {
      subject,
      versions: versions.map((v) => ({ version: v.version, compatibility: v.compatibility, createdAt: new Date(v.createdAt).toISOString() })),
      latest: { version: latest.version, compatibility: latest.compatibility, schema: latest.schema },
    };
  });

  app.get<{ Params: { subject: string; version: string } }>('/v1/schemas/:subject/versions/:version', async (req) => {
    const subject = normalizeSubject(req.params.subject);
    const v = (await registry.versions(subject)).find((x) => String(x.version) === req.params.version);
    if (!v) throw new MosaicError('MOSAIC_SCHEMA_NOT_FOUND', { message: `"${subject}" has no version ${req.params.version}.` });
    return { subject, version: v.version, compatibility: v.compatibility, createdAt: new Date(v.createdAt).toISOString(), schema: v.schema };
  });

  app.post<{ Params: { subject: string }; Body: { schema: unknown; compatibility?: Compatibility } }>('/v1/schemas/:subject', { schema: { body: SchemaBody } }, async (req, reply) => {
    const r = await registerSchema(registry, req.params.subject, req.body.schema, { defaultCompatibility: opts.defaultCompatibility, ...(req.body.compatibility ? { compatibility: req.body.compatibility } : {}) });
    if (r.created) await plan.refresh(); // this collector checks with it from the next request
    return reply.code(r.created ? 201 : 200).send({ ...r, changes: r.changes.map((c) => ({ ...c, text: formatChange(c) })) });
  });

  app.post<{ Params: { subject: string }; Body: { schema: unknown; compatibility?: Compatibility } }>('/v1/schemas/:subject/check', { schema: { body: SchemaBody } }, async (req) => {
    const { latest: _latest, ...r } = await checkSchema(registry, req.params.subject, req.body.schema, { defaultCompatibility: opts.defaultCompatibility, ...(req.body.compatibility ? { compatibility: req.body.compatibility } : {}) });
    return { ...r, changes: r.changes.map((c) => ({ ...c, text: formatChange(c) })), breaking: r.breaking.map((c) => ({ ...c, text: formatChange(c) })) };
  });

  app.get<{ Querystring: { limit: number; cursor: number; rule?: string; subject?: string; status: 'pending' | 'replayed' | 'all' } }>('/v1/quarantine', { schema: { querystring: ListQuery } }, async (req) => {
    const q = req.query;
    const rows = await quarantine.list({ afterId: q.cursor, limit: q.limit, status: q.status, ...(q.rule ? { rule: q.rule } : {}), ...(q.subject ? { subject: normalizeSubject(q.subject) } : {}) });
    audit(req.actor, 'quarantine.read', q.subject ?? q.rule ?? 'all', req.ip);
    return { events: rows.map(view), next: rows.length === q.limit ? rows[rows.length - 1]!.id : null, pendingByRule: Object.fromEntries(await quarantine.pendingByRule()), pendingBySubject: Object.fromEntries(await quarantine.pendingBySubject()) };
  });

  app.get<{ Params: { id: string } }>('/v1/quarantine/:id', async (req) => {
    const q = /^\d+$/.test(req.params.id) ? await quarantine.get(Number(req.params.id)) : undefined;
    if (!q) throw new MosaicError('MOSAIC_QUARANTINE_NOT_FOUND');
    audit(req.actor, 'quarantine.read', String(q.id), req.ip);
    return view(q);
  });

  const deps = (force: boolean) => ({ plan: plan.current, log: opts.log, quarantine, sourceName: opts.sourceName, force, ...(opts.pseudonymizer ? { pseudonymizer: opts.pseudonymizer } : {}) });

  app.post<{ Body: { ids?: number[]; rule?: string; subject?: string; all?: boolean; force: boolean } }>('/v1/quarantine/replay', { schema: { body: ReplayBody } }, async (req) => {
    const b = req.body;
    if (!b.ids && !b.rule && !b.subject && !b.all) throw new MosaicError('MOSAIC_BAD_REQUEST', { message: 'Say which events to replay: "ids", "rule", "subject", or "all": true.' });
    await plan.refresh(); // a plan fixed a moment ago by another process applies
    let replayed = 0;
    let failing = 0;
    const failures: { id: number; violations: unknown[] }[] = [];
    const tally = (o: Awaited<ReturnType<typeof replayQuarantined>>) => {
      replayed += o.replayed.length;
      failing += o.failing.length;
      for (const f of o.failing) if (failures.length < SHOWN_FAILURES) failures.push(f);
    };
    if (b.ids) {
      for (let i = 0; i < b.ids.length; i += PAGE) {
        const page = (await Promise.all(b.ids.slice(i, i + PAGE).map((id) => quarantine.get(id)))).filter((q): q is QuarantinedEvent => q !== undefined);
        tally(await replayQuarantined(page, deps(b.force)));
      }
    } else {
      const filter: QuarantineFilter = { limit: PAGE, status: 'pending', ...(b.rule ? { rule: b.rule } : {}), ...(b.subject ? { subject: normalizeSubject(b.subject) } : {}) };
      for (let after = 0; ; ) {
        const page = await quarantine.list({ ...filter, afterId: after });
        if (!page.length) break;
        tally(await replayQuarantined(page, deps(b.force)));
        after = page[page.length - 1]!.id;
      }
    }
    req.log.info({ replayed, failing, actor: req.actor }, 'quarantine replayed');
    return { replayed, failing, failures };
  });

  app.post<{ Params: { id: string }; Body: { payload?: Record<string, unknown>; force?: boolean } | undefined }>(
    '/v1/quarantine/:id/replay',
    { schema: { body: { type: ['object', 'null'], properties: { payload: { type: 'object' }, force: { type: 'boolean' } }, additionalProperties: false } } },
    async (req) => {
      const q = /^\d+$/.test(req.params.id) ? await quarantine.get(Number(req.params.id)) : undefined;
      if (!q) throw new MosaicError('MOSAIC_QUARANTINE_NOT_FOUND');
      if (q.replayedAtMs !== undefined) return { id: q.id, status: 'replayed', replayedAt: new Date(q.replayedAtMs).toISOString() };
      await plan.refresh();
      const o = await replayQuarantined([q], { ...deps(req.body?.force ?? false), ...(req.body?.payload ? { payload: req.body.payload } : {}) });
      return o.replayed.length ? { id: q.id, status: 'replayed' } : { id: q.id, status: 'pending', violations: o.failing[0]?.violations ?? [] };
    },
  );
};
