import type { FastifyRequest } from 'fastify';

/** User name of an HTTP Basic header (Segment puts the write key there, password empty). */
export function basicUser(header: string | undefined): string | undefined {
  if (!header || !header.startsWith('Basic ')) return undefined;
  const decoded = Buffer.from(header.slice(6).trim(), 'base64').toString('utf8');
  const i = decoded.indexOf(':');
  const user = i === -1 ? decoded : decoded.slice(0, i);
  return user || undefined;
}

export function bearer(header: string | undefined): string | undefined {
  if (!header || !header.startsWith('Bearer ')) return undefined;
  return header.slice(7).trim() || undefined;
}

/**
 * Where SDKs put the write key: Basic auth (server SDKs, RudderStack), the body
 * (analytics.js sends text/plain to avoid a CORS preflight), or the query (RudderStack beacon).
 */
export function writeKeyOf(req: FastifyRequest): string | undefined {
  const fromHeader = basicUser(req.headers.authorization);
  if (fromHeader) return fromHeader;
  const body = req.body as Record<string, unknown> | undefined;
  if (body && typeof body.writeKey === 'string' && body.writeKey) return body.writeKey;
  const first = Array.isArray(body?.batch) ? (body.batch[0] as Record<string, unknown> | undefined) : undefined;
  if (first && typeof first.writeKey === 'string' && first.writeKey) return first.writeKey;
  const q = req.query as Record<string, unknown> | undefined;
  if (q && typeof q.writeKey === 'string' && q.writeKey) return q.writeKey;
  return undefined;
}
