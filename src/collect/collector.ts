import { randomUUID } from 'node:crypto';
import cors from '@fastify/cors';
import type { FastifyInstance, FastifyPluginAsync, FastifyReply, FastifyRequest } from 'fastify';
import { categoryPreferences } from '../core/consent.js';
import { logSubjectOf, toEnvelope, type Envelope, type MessageType } from '../core/envelope.js';
import type { VaultWriter } from '../privacy/vault-writer.js';
import { partitionOf } from '../core/partition.js';
import { MosaicError, type ErrorDetail } from '../errors.js';
import type { Metrics } from '../observe/metrics.js';
import type { AppendRecord, EventLog } from '../ports/event-log.js';
import type { Credentials, Source } from '../ports/credentials.js';
import type { Quarantine, QuarantineEntry } from '../ports/quarantine.js';
import type { PlanHolder } from '../quality/plan-holder.js';
import type { Pseudonymizer } from '../core/pseudonymize.js';
import type { ConsentRecord } from '../core/hash-chain.js';
import type { ConsentLog } from '../ports/consent-log.js';
import type { IdentityRules } from '../core/identity.js';
import type { SuppressionList } from '../privacy/suppression.js';
import { writeKeyOf } from './auth.js';
import { validateMessage } from './validate-message.js';
import type { TextDeriver } from '../personalize/text-signals.js';

export interface CollectorOptions {
  log: EventLog;
  control: Credentials;
  metrics: Metrics;
  limits: { messageBytes: number; batchBytes: number };
  /** Unapplied events beyond which ingest answers 429 (back-pressure from the processor). */
  maxLagEvents: number;
  lagEvents: () => number;
  /** Where consent given on events (context.consent.categoryPreferences) is chained; absent: not recorded. */
  consentLog?: ConsentLog;
  /** Configured paths replaced (HMAC tokens, truncated IPs) before anything is stored. */
  pseudonymizer?: Pseudonymizer;
  /** The tracking plan and where events that break it are held; absent: no plan is checked. */
  quality?: { plan: PlanHolder; quarantine: Quarantine };
  /** Erased people: their events are answered 200 and dropped, so a retry or a re-import does not bring them back. */
  suppression?: { list: SuppressionList; rules: IdentityRules };
  /** Where pseudonymized values are kept encrypted for an audited reveal; absent: nowhere. */
  vault?: VaultWriter;
  /** Text people write turned into signals (and dropped, if so configured) before anything is stored. */
  text?: TextDeriver;
}

/** Single-message endpoints: Segment's long paths and analytics.js's one-letter ones. */
const SINGLE_ROUTES: [string, MessageType][] = [
  ['identify', 'identify'], ['track', 'track'], ['page', 'page'], ['screen', 'screen'], ['group', 'group'], ['alias', 'alias'],
  ['i', 'identify'], ['t', 'track'], ['p', 'page'], ['s', 'screen'], ['g', 'group'], ['a', 'alias'],
];
/** /v1/b is analytics.js's batching mode; /beacon/v1/batch is RudderStack's sendBeacon queue. */
const BATCH_ROUTES = ['/v1/batch', '/v1/import', '/v1/b', '/beacon/v1/batch'];

/** The routes that take events in: what the console's ingest latency is measured over. */
export const INGEST_ROUTES: ReadonlySet<string> = new Set([...SINGLE_ROUTES.map(([p]) => `/v1/${p}`), ...BATCH_ROUTES, '/v1/consent']);

const OK = { success: true } as const;

/** The event Segment's consent integration sends when preferences change. */
export const CONSENT_EVENT = 'Segment Consent Preference Updated';

const ConsentBody = {
  type: 'object',
  required: ['categoryPreferences'],
  properties: {
    userId: { type: 'string', minLength: 1 },
    anonymousId: { type: 'string', minLength: 1 },
    categoryPreferences: { type: 'object', minProperties: 1, additionalProperties: { type: 'boolean' } },
    timestamp: { type: 'string' },
    messageId: { type: 'string', minLength: 1 },
    context: { type: 'object' },
    writeKey: { type: 'string' },
  },
  additionalProperties: false,
} as const;

/** The client IP as the envelope would store it: the context.ip rule applied to it. */
function ipAsStored(ip: string, p: Pseudonymizer): string | undefined {
  const holder: Record<string, unknown> = { context: { ip } };
  p.apply(holder);
  return (holder.context as { ip?: string }).ip;
}

/** The consent an event gives, as the consent log records it (undefined when it gives none). */
function consentOf(env: Envelope, at: number): ConsentRecord | undefined {
  const prefs = categoryPreferences(env);
  if (!prefs) return undefined;
  const purposes = Object.fromEntries(Object.entries(prefs).filter(([, v]) => typeof v === 'boolean')) as Record<string, boolean>;
  if (!Object.keys(purposes).length) return undefined;
  const subject = env.userId !== undefined ? `user_id:${env.userId}` : `anonymous_id:${env.anonymousId ?? ''}`;
  return { at, subject, purposes, source: 'event', messageId: `${env.sourceId}/${env.messageId}` };
}

function authenticate(req: FastifyRequest, control: Credentials): Source {
  const key = writeKeyOf(req);
  if (!key) throw new MosaicError('MOSAIC_AUTH_WRITE_KEY_MISSING');
  const source = control.sourceByWriteKey(key);
  if (!source) throw new MosaicError('MOSAIC_AUTH_WRITE_KEY_INVALID');
  return source;
}

export const collector: FastifyPluginAsync<CollectorOptions> = async (app: FastifyInstance, opts) => {
  const { log, control, metrics, limits } = opts;
  // Browsers send from any site that embeds the SDK; write keys are public by design. Only the
  // collector's routes: @fastify/cors answers every OPTIONS request of the server, and the
  // admin API must not invite browsers.
  const collectorPaths = new Set([...INGEST_ROUTES, '/sourceConfig']);
  const suppressed = (msg: object): boolean => {
    const s = opts.suppression;
    return s !== undefined && s.list.size > 0 && s.list.suppresses(s.rules.identifiersOf(msg as Envelope));
  };
  const isCollectorPath = (url: string) => {
    const path = url.split('?')[0]!.replace(/\/+$/, '');
    return collectorPaths.has(path) || /^\/v1\/projects\/[^/]+\/settings$/.test(path);
  };
  await app.register(cors, {
    delegator: (req, cb) => cb(null, { origin: isCollectorPath(req.url ?? ''), credentials: true, methods: ['POST', 'GET', 'OPTIONS'], maxAge: 86400 }),
  });

  async function ingest(req: FastifyRequest, reply: FastifyReply, messages: unknown[], routeType: MessageType | undefined, batchSentAt: string | undefined) {
    const receivedAtMs = Date.now();
    const receivedAt = new Date(receivedAtMs).toISOString();
    const source = authenticate(req, control);
    if (opts.lagEvents() > opts.maxLagEvents) throw new MosaicError('MOSAIC_OVERLOADED_PROCESSOR', { retryAfter: 5 });

    const records: AppendRecord[] = [];
    const types: MessageType[] = [];
    const details: ErrorDetail[] = [];
    const quarantined: QuarantineEntry[] = [];
    // Consent given on each appended record (by index into records), chained once the append is acknowledged.
    const consents: (ConsentRecord | undefined)[] = [];
    // Values behind the tokens of the events kept (not of suppressed people's), for the vault.
    const vaulted = opts.vault ? new Map<string, string>() : undefined;
    let tokens: [string, string][] = [];
    const onToken = vaulted ? (token: string, value: string) => void tokens.push([token, value]) : undefined;
    const vault = (): void => {
      if (vaulted) for (const [t, v] of tokens) if (!opts.vault!.knows(t)) vaulted.set(t, v);
    };
    const single = routeType !== undefined;
    const plan = opts.quality?.plan.current;
    const sources = [source.id, source.name];
    for (let i = 0; i < messages.length; i++) {
      const raw = messages[i];
      const problems = validateMessage(raw, routeType);
      const at = single ? {} : { index: i };
      if (problems.length) {
        const messageId = typeof (raw as { messageId?: unknown })?.messageId === 'string' ? (raw as { messageId: string }).messageId : undefined;
        for (const p of problems) {
          details.push({ ...at, ...(messageId ? { messageId } : {}), ...p });
          metrics.eventsRejected.inc({ reason: p.rule ?? 'invalid' });
        }
        continue;
      }
      const msg = raw as Record<string, unknown>;
      const type = routeType ?? (msg.type as MessageType);
      const check = plan?.check(msg, type, sources);
      // A violation quotes the offending value: stored, it must be pseudonymized like its path.
      if (check && opts.pseudonymizer) for (const v of check.violations) if ('value' in v) v.value = opts.pseudonymizer.storedValue(v.path.slice(1).replaceAll('/', '.'), v.value);
      if (check) {
        const policy = opts.quality!.plan.policyFor(source);
        for (const v of check.violations) metrics.planViolations.inc({ rule: v.rule, policy });
        if (policy === 'reject') {
          const messageId = typeof msg.messageId === 'string' ? msg.messageId : undefined;
          for (const v of check.violations) details.push({ ...at, ...(messageId ? { messageId } : {}), ...v });
          metrics.eventsRejected.inc({ reason: 'plan' });
          continue;
        }
        if (policy === 'quarantine') {
          // The id it will have in the log once replayed, so a client's retry meanwhile is the same event.
          if (typeof msg.messageId !== 'string' || msg.messageId === '') msg.messageId = randomUUID();
          if (msg.type === undefined) msg.type = type;
          // Held as sent, except what must never be stored raw.
          if (vaulted) tokens = [];
          opts.text?.apply(msg as unknown as Envelope);
          opts.pseudonymizer?.apply(msg, onToken);
          if (suppressed(msg)) {
            metrics.eventsSuppressed.inc({ stage: 'collector' });
            continue;
          }
          vault();
          quarantined.push({
            receivedAtMs,
            sourceId: source.id,
            messageId: msg.messageId as string,
            subject: check.subject,
            violations: check.violations,
            payload: JSON.stringify(msg),
            ...(batchSentAt !== undefined ? { batchSentAt } : {}),
            ip: opts.pseudonymizer ? ipAsStored(req.ip, opts.pseudonymizer) : req.ip,
          });
          continue;
        }
      }
      const env = toEnvelope(msg, {
        type,
        receivedAtMs,
        receivedAt,
        sourceId: source.id,
        batchSentAt,
        newMessageId: randomUUID,
        ip: req.ip,
      });
      // RudderStack tags kept violations the same way (context.violationErrors).
      if (check) env.context = { ...env.context, violations: check.violations };
      if (vaulted) tokens = []; // no allocation per event unless the vault is on
      opts.text?.apply(env);
      opts.pseudonymizer?.apply(env, onToken);
      if (suppressed(env)) {
        metrics.eventsSuppressed.inc({ stage: 'collector' });
        continue;
      }
      vault();
      const payload = JSON.stringify(env);
      if (payload.length > limits.messageBytes && Buffer.byteLength(payload) > limits.messageBytes) {
        details.push({ ...at, messageId: env.messageId, path: '/', rule: 'maxBytes', message: `message is ${Buffer.byteLength(payload)} bytes; the limit is ${limits.messageBytes}` });
        metrics.eventsRejected.inc({ reason: 'maxBytes' });
        continue;
      }
      records.push({
        partition: partitionOf(env.userId ?? env.anonymousId ?? env.messageId, log.partitions),
        sourceId: source.id,
        messageId: env.messageId,
        receivedAtMs,
        payload,
        subject: logSubjectOf(env),
      });
      types.push(env.type);
      if (opts.consentLog) consents.push(consentOf(env, receivedAtMs));
    }

    // Values kept before their tokens are stored anywhere: a token in the log can always be revealed.
    if (vaulted?.size) await opts.vault!.keep(vaulted);
    // Durable in the quarantine before the answer, as appended events are in the log.
    const held = quarantined.length ? opts.quality!.quarantine.add(quarantined) : undefined;
    held?.catch(() => undefined); // awaited below; this only keeps a failed append from leaving it unhandled
    if (records.length) {
      const started = performance.now();
      const outcomes = await log.append(records);
      metrics.appendSeconds.observe((performance.now() - started) / 1000);
      // Counted per request, not per event: a labelled inc() hashes its labels each call.
      const accepted = new Map<MessageType, number>();
      let duplicates = 0;
      for (let i = 0; i < outcomes.length; i++) {
        if (outcomes[i] === 'duplicate') duplicates++;
        else accepted.set(types[i]!, (accepted.get(types[i]!) ?? 0) + 1);
      }
      if (duplicates) metrics.eventsDuplicate.inc(duplicates);
      for (const [type, n] of accepted) metrics.eventsAccepted.inc({ type }, n);
      const given = consents.filter((c, i): c is ConsentRecord => c !== undefined && outcomes[i] !== 'duplicate');
      if (given.length) await opts.consentLog!.append(given);
    }
    if (held) {
      await held;
      metrics.eventsQuarantined.inc(quarantined.length);
    }
    if (details.length) {
      if (single) {
        const tooBig = details.some((d) => d.rule === 'maxBytes');
        const planned = details.some((d) => d.schema !== undefined || d.rule === 'unplanned');
        throw new MosaicError(tooBig ? 'MOSAIC_MESSAGE_TOO_LARGE' : planned ? 'MOSAIC_PLAN_VIOLATION' : 'MOSAIC_MESSAGE_INVALID', { details });
      }
      const rejected = new Set(details.map((d) => d.index)).size;
      const err = new MosaicError('MOSAIC_BATCH_PARTIALLY_INVALID', {
        message: `${rejected} of ${messages.length} messages were rejected (see details); the other ${records.length} were stored.`,
        details,
      });
      metrics.requestsRejected.inc({ code: err.code });
      return reply.code(err.status).send({ ...err.toJSON(), accepted: records.length, rejected, ...(quarantined.length ? { quarantined: quarantined.length } : {}) });
    }
    return quarantined.length ? { success: true, quarantined: quarantined.length } : OK;
  }

  const objectBody = (req: FastifyRequest): Record<string, unknown> => {
    const body = req.body;
    if (body === null || typeof body !== 'object' || Array.isArray(body)) throw new MosaicError('MOSAIC_BODY_NOT_OBJECT');
    return body as Record<string, unknown>;
  };

  for (const [path, type] of SINGLE_ROUTES) {
    app.post(`/v1/${path}`, { bodyLimit: limits.messageBytes, config: { tooLarge: 'MOSAIC_MESSAGE_TOO_LARGE' } }, (req, reply) => {
      const body = objectBody(req);
      return ingest(req, reply, [body], type, undefined);
    });
  }
  for (const path of BATCH_ROUTES) {
    app.post(path, { bodyLimit: limits.batchBytes, config: { tooLarge: 'MOSAIC_BATCH_TOO_LARGE' } }, (req, reply) => {
      const body = objectBody(req);
      if (!Array.isArray(body.batch)) throw new MosaicError('MOSAIC_BATCH_NOT_ARRAY');
      if (body.batch.length === 0) throw new MosaicError('MOSAIC_BATCH_EMPTY');
      const sentAt = typeof body.sentAt === 'string' ? body.sentAt : undefined;
      return ingest(req, reply, body.batch as unknown[], undefined, sentAt);
    });
  }

  /**
   * Consent from a consent manager or a back end: the same event Segment's consent integration
   * sends, so it reaches the profile, the consent log, the lake and replays like any event.
   */
  app.post('/v1/consent', { bodyLimit: limits.messageBytes, schema: { body: ConsentBody } }, (req, reply) => {
    const body = req.body as { userId?: string; anonymousId?: string; categoryPreferences: Record<string, boolean>; timestamp?: string; messageId?: string; context?: Record<string, unknown>; writeKey?: string };
    if (body.userId === undefined && body.anonymousId === undefined) {
      throw new MosaicError('MOSAIC_MESSAGE_INVALID', { details: [{ path: '/', rule: 'required', message: 'give userId or anonymousId: whose consent this is' }] });
    }
    const { categoryPreferences, context, writeKey: _key, ...rest } = body;
    const message = { ...rest, type: 'track', event: CONSENT_EVENT, context: { ...context, consent: { categoryPreferences } } };
    return ingest(req, reply, [message], 'track', undefined);
  });

  /**
   * analytics.js fetches its settings from the CDN before sending anything. Pointing its
   * `cdnURL` at Mosaic makes it send to Mosaic with no other change.
   */
  app.get<{ Params: { writeKey: string } }>('/v1/projects/:writeKey/settings', async (req) => {
    const source = control.sourceByWriteKey(req.params.writeKey);
    if (!source) throw new MosaicError('MOSAIC_AUTH_WRITE_KEY_INVALID');
    const host = `${req.headers.host ?? 'localhost'}/v1`;
    return {
      integrations: { 'Segment.io': { apiKey: source.writeKey, apiHost: host, protocol: req.protocol, unbundledIntegrations: [], addBundledMetadata: false } },
      plan: { track: { __default: { enabled: true } }, identify: { __default: { enabled: true } }, group: { __default: { enabled: true } } },
      edgeFunction: {},
      analyticsNextEnabled: true,
      middlewareSettings: {},
      enabledMiddleware: {},
      metrics: { sampleRate: 0 },
      legacyVideoPluginsEnabled: false,
      remotePlugins: [],
    };
  });

  /** RudderStack's SDK reads its source configuration from `configUrl` + /sourceConfig. */
  app.get('/sourceConfig', async (req) => {
    const source = authenticate(req, control);
    return {
      isHosted: false,
      source: {
        id: source.id,
        name: source.name,
        writeKey: source.writeKey,
        enabled: true,
        workspaceId: 'mosaic',
        config: { statsCollection: { errors: { enabled: false }, metrics: { enabled: false } } },
        destinations: [],
      },
    };
  });
};
