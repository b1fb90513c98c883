import { createGunzip } from 'node:zlib';
import type { FastifyInstance } from 'fastify';
import { MosaicError } from '../errors.js';

/**
 * Body handling as Segment's tracking API does it: JSON whatever the declared content type
 * (browsers send text/plain to skip the CORS preflight, beacons send text/plain blobs), and
 * gzip bodies. Size limits apply to the decompressed JSON, so a gzip bomb stops at the limit.
 */
export function registerBodyParsing(app: FastifyInstance): void {
  const parseJson = (_req: unknown, body: string, done: (err: Error | null, value?: unknown) => void) => {
    if (body.length === 0) return done(new MosaicError('MOSAIC_BODY_INVALID_JSON', { message: 'The request body is empty; send a JSON object.' }));
    try {
      done(null, JSON.parse(body));
    } catch (err) {
      done(new MosaicError('MOSAIC_BODY_INVALID_JSON', { message: `The request body is not valid JSON: ${(err as Error).message}`, cause: err }));
    }
  };
  app.removeContentTypeParser(['application/json', 'text/plain']);
  app.addContentTypeParser(['application/json', 'text/plain', '*'], { parseAs: 'string' }, parseJson);

  app.addHook('preParsing', async (req, _reply, payload) => {
    const enc = req.headers['content-encoding']?.toLowerCase().trim();
    if (!enc || enc === 'identity') return payload;
    if (enc !== 'gzip' && enc !== 'x-gzip') throw new MosaicError('MOSAIC_BODY_UNSUPPORTED_ENCODING', { message: `Content-Encoding "${enc}" is not supported; use gzip or none.` });
    const gunzip = createGunzip();
    // Fastify reads the returned stream and answers its error (Z_* → MOSAIC_BODY_BAD_GZIP);
    // this listener only keeps an error before Fastify attaches its own from being unhandled.
    gunzip.on('error', () => undefined);
    payload.on('error', (err) => gunzip.destroy(err));
    const out = payload.pipe(gunzip) as typeof gunzip & { receivedEncodedLength?: number };
    out.receivedEncodedLength = 0;
    payload.on('data', (chunk: Buffer) => {
      out.receivedEncodedLength! += chunk.length;
    });
    return out;
  });
}
