/**
 * The real engines for backend tests. Each test file gets its own PostgreSQL database, NATS
 * stream names and Redis key prefix, and removes them afterwards. A service that is not
 * reachable skips those tests with a message, unless MOSAIC_REQUIRE_SERVICES=1 (CI) makes it a
 * failure.
 */
import { randomBytes } from 'node:crypto';
import pg from 'pg';
import { connect, type NatsConnection } from '@nats-io/transport-node';

export const POSTGRES_ADMIN_URL = process.env.MOSAIC_TEST_POSTGRES_URL ?? 'postgres://postgres@127.0.0.1:5432/postgres';
export const NATS_URL = process.env.MOSAIC_TEST_NATS_URL ?? 'nats://127.0.0.1:4222';
export const REDIS_URL = process.env.MOSAIC_TEST_REDIS_URL ?? 'redis://127.0.0.1:6379';

const required = process.env.MOSAIC_REQUIRE_SERVICES === '1';

/** A unique, lower-case name for this run's databases, streams and prefixes. */
export const uniqueName = (prefix: string) => `${prefix}_${process.pid}_${randomBytes(4).toString('hex')}`;

function unavailable(service: string, where: string, err: unknown): string {
  const why = `${service} not reachable at ${where} (${(err as Error).message})`;
  if (required) throw new Error(`MOSAIC_REQUIRE_SERVICES=1 but ${why}`);
  return `${why}; set MOSAIC_REQUIRE_SERVICES=1 to fail instead`;
}

export interface TestDatabase {
  url: string;
  drop(): Promise<void>;
}

/** A fresh database, or the reason to skip. */
export async function postgresDatabase(): Promise<TestDatabase | { skip: string }> {
  const admin = new pg.Client({ connectionString: POSTGRES_ADMIN_URL, connectionTimeoutMillis: 3000 });
  const name = uniqueName('mosaic_test');
  try {
    await admin.connect();
    await admin.query(`CREATE DATABASE ${name}`);
  } catch (err) {
    await admin.end().catch(() => undefined);
    return { skip: unavailable('PostgreSQL', POSTGRES_ADMIN_URL, err) };
  }
  await admin.end();
  const url = new URL(POSTGRES_ADMIN_URL);
  url.pathname = `/${name}`;
  return {
    url: url.toString(),
    drop: async () => {
      const c = new pg.Client({ connectionString: POSTGRES_ADMIN_URL });
      await c.connect();
      try {
        await c.query(`DROP DATABASE IF EXISTS ${name} WITH (FORCE)`);
      } finally {
        await c.end();
      }
    },
  };
}

/** true if Redis answers, else the reason to skip. */
export async function redisAvailable(): Promise<true | { skip: string }> {
  const { Redis } = await import('ioredis');
  const r = new Redis(REDIS_URL, { lazyConnect: true, connectTimeout: 3000, maxRetriesPerRequest: 0, retryStrategy: () => null });
  r.on('error', () => undefined);
  try {
    await r.connect();
    await r.ping();
    return true;
  } catch (err) {
    return { skip: unavailable('Redis', REDIS_URL, err) };
  } finally {
    r.disconnect();
  }
}

/** A connection to the NATS server for setup and cleanup, or the reason to skip. */
export async function natsConnection(): Promise<NatsConnection | { skip: string }> {
  try {
    return await connect({ servers: NATS_URL, timeout: 3000 });
  } catch (err) {
    return { skip: unavailable('NATS', NATS_URL, err) };
  }
}
