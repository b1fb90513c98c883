import { createHash } from 'node:crypto';
import type { Static } from '@sinclair/typebox';
import type { ImportMappingSchema } from '../../config.js';

export type ImportMapping = Static<typeof ImportMappingSchema>;
export type Row = Record<string, unknown>;

/** A dotted path into a row (`a.b` reads { a: { b } }); a flat CSV row is read by its header. */
export function field(row: Row, path: string): unknown {
  if (path in row) return row[path];
  let v: unknown = row;
  for (const part of path.split('.')) {
    if (v === null || typeof v !== 'object') return undefined;
    v = (v as Row)[part];
  }
  return v;
}

const present = (v: unknown) => v !== undefined && v !== null && v !== '';

function pick(row: Row, spec: ImportMapping['traits']): Record<string, unknown> | undefined {
  if (!spec) return undefined;
  const pairs = Array.isArray(spec) ? spec.map((f) => [f, f] as const) : Object.entries(spec);
  const out: Record<string, unknown> = {};
  for (const [name, f] of pairs) {
    const v = field(row, f);
    if (v !== undefined) out[name] = v;
  }
  return out;
}

/** ISO 8601 as is; epoch milliseconds (a number, or digits) as ISO; anything else is refused. */
function timestampOf(v: unknown): string | undefined {
  if (typeof v === 'number' || (typeof v === 'string' && /^\d{10,}$/.test(v))) return new Date(Number(v)).toISOString();
  if (v instanceof Date) return v.toISOString();
  if (typeof v === 'string' && !Number.isNaN(Date.parse(v))) return new Date(Date.parse(v)).toISOString();
  return undefined;
}

export interface MappedRow {
  message: Record<string, unknown>;
  /** Identifies the row's version: the same row unchanged gives the same messageId. */
  messageId: string;
}

/**
 * One source row as a Segment message, or why it cannot be one. The messageId is derived from
 * the import's name, the row's key and its version, so importing the same row again (a re-run,
 * an overlapping window) is the same event and is stored once; a changed row is a new event.
 */
export function mapRow(row: Row, m: ImportMapping, importName: string, versionField: string | undefined): MappedRow | { reason: string } {
  const userId = m.userId ? field(row, m.userId) : undefined;
  const anonymousId = m.anonymousId ? field(row, m.anonymousId) : undefined;
  if (!present(userId) && !present(anonymousId)) return { reason: `no ${[m.userId, m.anonymousId].filter(Boolean).join(' or ')} (the row has no id)` };
  const message: Record<string, unknown> = { type: m.type };
  if (present(userId)) message.userId = String(userId);
  if (present(anonymousId)) message.anonymousId = String(anonymousId);
  if (m.timestamp) {
    const ts = timestampOf(field(row, m.timestamp));
    if (!ts) return { reason: `${m.timestamp} is not a time (ISO 8601 or epoch milliseconds): ${JSON.stringify(field(row, m.timestamp))}` };
    message.timestamp = ts;
  }
  if (m.type === 'track') {
    const event = m.eventField ? field(row, m.eventField) : m.event;
    if (!present(event)) return { reason: `no event name (${m.eventField ?? 'mapping.event'})` };
    message.event = String(event);
    const properties = pick(row, m.properties);
    if (properties) message.properties = properties;
  } else {
    const traits = pick(row, m.traits);
    if (traits) message.traits = traits;
  }
  const key = (m.key ?? [m.userId ?? m.anonymousId!]).map((k) => JSON.stringify(field(row, k) ?? null));
  const version = versionField ? JSON.stringify(field(row, versionField) ?? null) : JSON.stringify(row);
  const messageId = `imp-${createHash('sha256').update(importName).update('\u0000').update(key.join('\u0000')).update('\u0000').update(version).digest('base64url').slice(0, 32)}`;
  message.messageId = messageId;
  return { message, messageId };
}
