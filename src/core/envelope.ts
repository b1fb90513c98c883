import type { Enriched } from './event-enricher.js';
/** The Segment spec message types Mosaic accepts. */
export const MESSAGE_TYPES = ['identify', 'track', 'page', 'screen', 'group', 'alias'] as const;
export type MessageType = (typeof MESSAGE_TYPES)[number];

export function isMessageType(v: unknown): v is MessageType {
  return typeof v === 'string' && (MESSAGE_TYPES as readonly string[]).includes(v);
}

/**
 * An event as it is stored in the log: the client's Segment message plus the server fields.
 * `timestamp` is the skew-corrected event time; the client's own value is kept as
 * `originalTimestamp`.
 */
export interface Envelope {
  type: MessageType;
  messageId: string;
  userId?: string;
  anonymousId?: string;
  previousId?: string;
  groupId?: string;
  event?: string;
  name?: string;
  timestamp: string;
  originalTimestamp?: string;
  sentAt?: string;
  receivedAt: string;
  sourceId: string;
  properties?: Record<string, unknown>;
  traits?: Record<string, unknown>;
  context?: Record<string, unknown> & { traits?: Record<string, unknown> };
  /** Added by the processor's enrichment while the event is reduced; never stored in the log. */
  enriched?: Enriched;
  [key: string]: unknown;
}

/** Fields the server owns; a client cannot set them. */
const SERVER_FIELDS = ['receivedAt', 'sourceId', 'writeKey'] as const;

/**
 * Segment's clock-skew correction: the client's clock may be wrong, but the distance
 * between when it says the event happened and when it says it sent it is right.
 */
export function correctTimestamp(receivedAtMs: number, timestamp?: string, sentAt?: string, receivedAt?: string): { timestamp: string; skewMs: number } {
  if (timestamp === undefined) return { timestamp: receivedAt ?? new Date(receivedAtMs).toISOString(), skewMs: 0 };
  const t = Date.parse(timestamp);
  if (sentAt === undefined) return { timestamp: new Date(t).toISOString(), skewMs: 0 };
  const s = Date.parse(sentAt);
  const corrected = receivedAtMs - (s - t);
  return { timestamp: new Date(corrected).toISOString(), skewMs: corrected - t };
}

/**
 * Turns a validated client message into the stored envelope. Mutates and returns `msg`
 * (the parsed body is ours and would otherwise be copied on the hot path).
 */
export function toEnvelope(
  msg: Record<string, unknown>,
  ctx: { type: MessageType; receivedAtMs: number; receivedAt: string; sourceId: string; batchSentAt?: string; newMessageId: () => string; ip?: string },
): Envelope {
  // `delete` turns an object into a slow dictionary (and slows JSON.stringify): only when present.
  for (const f of SERVER_FIELDS) if (msg[f] !== undefined) delete msg[f];
  if (msg._metadata !== undefined) delete msg._metadata;
  msg.type = ctx.type;
  if (typeof msg.userId === 'number') msg.userId = String(msg.userId);
  if (typeof msg.anonymousId === 'number') msg.anonymousId = String(msg.anonymousId);
  if (typeof msg.previousId === 'number') msg.previousId = String(msg.previousId);
  if (typeof msg.groupId === 'number') msg.groupId = String(msg.groupId);
  if (msg.userId === null || msg.userId === '') delete msg.userId;
  if (msg.anonymousId === null || msg.anonymousId === '') delete msg.anonymousId;
  if (typeof msg.messageId !== 'string' || msg.messageId === '') msg.messageId = ctx.newMessageId();
  // The client's event time: Segment SDKs send `timestamp`, RudderStack's send `originalTimestamp`.
  const clientTs = typeof msg.timestamp === 'string' ? msg.timestamp : typeof msg.originalTimestamp === 'string' ? msg.originalTimestamp : undefined;
  const sentAt = typeof msg.sentAt === 'string' ? msg.sentAt : ctx.batchSentAt;
  const { timestamp } = correctTimestamp(ctx.receivedAtMs, clientTs, sentAt, ctx.receivedAt);
  if (clientTs !== undefined) msg.originalTimestamp = clientTs;
  if (sentAt !== undefined) msg.sentAt = sentAt;
  msg.timestamp = timestamp;
  msg.receivedAt = ctx.receivedAt;
  msg.sourceId = ctx.sourceId;
  // As Segment's API does: the sender's address when the SDK sent none (browsers never do).
  if (ctx.ip !== undefined) {
    const context = msg.context;
    if (context === undefined || context === null) msg.context = { ip: ctx.ip };
    else if (typeof context === 'object' && (context as Record<string, unknown>).ip === undefined) (context as Record<string, unknown>).ip = ctx.ip;
  }
  return msg as Envelope;
}

/**
 * Whom a log entry belongs to, for a log that encrypts each person's entries under their own
 * key (crypto-shredding): its user id, else its anonymous id; none for an event with neither.
 */
export function logSubjectOf(e: { userId?: unknown; anonymousId?: unknown }): string | undefined {
  if (typeof e.userId === 'string' && e.userId !== '') return `userId:${e.userId}`;
  if (typeof e.anonymousId === 'string' && e.anonymousId !== '') return `anonymousId:${e.anonymousId}`;
  return undefined;
}
