import { randomBytes, timingSafeEqual } from 'node:crypto';
import { existsSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import fastifyStatic from '@fastify/static';
import type { FastifyInstance, FastifyPluginAsync, FastifyRequest } from 'fastify';
import { LRUCache } from 'lru-cache';
import { MosaicError } from '../errors.js';
import type { Credentials, TokenHolder } from '../ports/credentials.js';

export const SESSION_COOKIE = 'mosaic_console';
export const CSRF_HEADER = 'x-mosaic-csrf';
const SAFE_METHODS = new Set(['GET', 'HEAD', 'OPTIONS']);

/** Where `npm run build` puts the console's files (dist/console, beside dist/src). */
export const CONSOLE_DIR = fileURLToPath(new URL('../../console/', import.meta.url));

interface Session {
  holder: TokenHolder;
  csrf: string;
}

/**
 * Console logins, in this process's memory: a restart logs everyone out, and behind a load
 * balancer the console needs sticky sessions (docs/console.md). A session lasts `hours` from its
 * last use; at most 10,000 are kept (the least recently used go first).
 */
export class ConsoleSessions {
  private readonly sessions: LRUCache<string, Session>;

  constructor(hours: number) {
    this.sessions = new LRUCache({ max: 10_000, ttl: hours * 3_600_000, updateAgeOnGet: true });
  }

  create(holder: TokenHolder): { id: string; csrf: string } {
    const id = randomBytes(32).toString('base64url');
    const csrf = randomBytes(24).toString('base64url');
    this.sessions.set(id, { holder, csrf });
    return { id, csrf };
  }

  get(id: string): Session | undefined {
    return this.sessions.get(id);
  }

  end(id: string): void {
    this.sessions.delete(id);
  }
}

declare module 'fastify' {
  interface FastifyRequest {
    /** The console session's token holder, when the request came with its cookie (and no Authorization). */
    sessionHolder?: TokenHolder;
  }
}

function sameSecret(a: string, b: string): boolean {
  const x = Buffer.from(a);
  const y = Buffer.from(b);
  return x.length === y.length && timingSafeEqual(x, y);
}

/** The session a request's cookie names, if it is live. */
function sessionOf(req: FastifyRequest, sessions: ConsoleSessions): { id: string; session: Session } | undefined {
  const id = req.cookies?.[SESSION_COOKIE];
  const session = id ? sessions.get(id) : undefined;
  return id && session ? { id, session } : undefined;
}

/**
 * An onRequest hook for the whole server: a request without an Authorization header but with a
 * live console session cookie is that session's token holder (requireToken reads it). One that
 * changes something must also carry the session's CSRF header: the cookie is SameSite=Strict
 * already, and no CORS is offered to the API routes, so a page elsewhere can neither send the
 * cookie nor read the token to send the header.
 */
export function consoleSessionHook(sessions: ConsoleSessions, control: Credentials) {
  return async (req: FastifyRequest): Promise<void> => {
    if (req.headers.authorization !== undefined) return;
    const found = sessionOf(req, sessions);
    if (!found) return;
    // The token it logged in with was revoked: the session ends with it.
    if (!control.tokenActive(found.session.holder.id)) {
      sessions.end(found.id);
      return;
    }
    if (!SAFE_METHODS.has(req.method) && req.url !== '/console/login') {
      const sent = req.headers[CSRF_HEADER];
      if (typeof sent !== 'string' || !sameSecret(sent, found.session.csrf)) throw new MosaicError('MOSAIC_CSRF_INVALID');
    }
    req.sessionHolder = found.session.holder;
  };
}

export interface ConsoleOptions {
  control: Credentials;
  envToken?: string;
  sessions: ConsoleSessions;
  sessionHours: number;
  secureCookies: boolean;
  /** Where the built console is (CONSOLE_DIR; tests may point elsewhere). */
  dir?: string;
}

const LoginBody = { type: 'object', required: ['token'], properties: { token: { type: 'string', minLength: 1, maxLength: 512 } }, additionalProperties: false } as const;

/**
 * The console: its files at /console (built by `npm run build`, served from dist/console, no CDN),
 * and its login. Logging in takes an admin API token and answers with a session cookie (HttpOnly,
 * SameSite=Strict) and the session's CSRF token; the console then calls the ordinary /v1 APIs.
 */
export const consolePlugin: FastifyPluginAsync<ConsoleOptions> = async (app: FastifyInstance, opts) => {
  const dir = opts.dir ?? CONSOLE_DIR;
  const built = existsSync(`${dir}index.html`);
  const cookie = (value: string, maxAge: number) => ({ path: '/', httpOnly: true, sameSite: 'strict' as const, secure: opts.secureCookies, maxAge, value });

  // The console's pages: only what they load themselves, never framed.
  app.addHook('onSend', async (req, reply, payload) => {
    if (req.url.startsWith('/console')) {
      reply.header('content-security-policy', "default-src 'self'; img-src 'self' data:; style-src 'self' 'unsafe-inline'; frame-ancestors 'none'; base-uri 'none'; form-action 'self'");
      reply.header('x-content-type-options', 'nosniff');
      reply.header('referrer-policy', 'no-referrer');
      reply.header('x-frame-options', 'DENY');
    }
    return payload;
  });

  app.post<{ Body: { token: string } }>('/console/login', { schema: { body: LoginBody } }, async (req, reply) => {
    const holder = opts.control.verifyToken(req.body.token, opts.envToken);
    if (!holder) throw new MosaicError('MOSAIC_AUTH_TOKEN_INVALID');
    if (!holder.scopes.includes('admin')) {
      throw new MosaicError('MOSAIC_AUTH_SCOPE', { message: `The console needs an admin token; this one (${holder.id}) has ${holder.scopes.join(', ') || 'no scopes'}. Create one with: mosaic token create --scopes admin` });
    }
    const old = sessionOf(req, opts.sessions);
    if (old) opts.sessions.end(old.id);
    const { id, csrf } = opts.sessions.create(holder);
    const c = cookie(id, Math.round(opts.sessionHours * 3600));
    reply.setCookie(SESSION_COOKIE, c.value, c);
    return { actor: holder.id, csrf };
  });

  app.get('/console/session', async (req) => {
    const found = sessionOf(req, opts.sessions);
    if (!found) throw new MosaicError('MOSAIC_AUTH_TOKEN_MISSING', { message: 'Not logged in to the console (or the session expired): log in with an admin API token.' });
    return { actor: found.session.holder.id, csrf: found.session.csrf };
  });

  app.post('/console/logout', async (req, reply) => {
    const found = sessionOf(req, opts.sessions);
    if (found) opts.sessions.end(found.id);
    reply.clearCookie(SESSION_COOKIE, { path: '/' });
    return { loggedOut: true };
  });

  if (!built) {
    app.get('/console', async () => {
      throw new MosaicError('MOSAIC_CONSOLE_NOT_BUILT', { message: `The console's files are not in ${dir}: run npm run build, then start Mosaic again.` });
    });
    return;
  }
  // Hashed asset names (Vite): cached for a year; index.html never, so a new build shows at once.
  await app.register(fastifyStatic, {
    root: dir,
    prefix: '/console/',
    index: 'index.html',
    wildcard: true,
    setHeaders: (res, path) => res.header('cache-control', path.endsWith('index.html') ? 'no-cache' : 'public, max-age=31536000, immutable'),
  });
  app.get('/console', (_req, reply) => reply.sendFile('index.html'));
};
