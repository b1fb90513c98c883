import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { pino } from 'pino';
import { createMosaic, type Mosaic } from '../src/app.js';
import { loadConfig } from '../src/config.js';
import type { Envelope } from '../src/core/envelope.js';
import { reduceBatch, type ProfileDoc, type ProfileModel } from '../src/core/profile.js';
import { Metrics } from '../src/observe/metrics.js';

export const WRITE_KEY = 'wk_test_writekey';
export const API_TOKEN = 'mt_test_token_0123456789';

export function tempDir(prefix = 'mosaic-test-'): { dir: string; cleanup: () => void } {
  const dir = mkdtempSync(join(tmpdir(), prefix));
  return { dir, cleanup: () => rmSync(dir, { recursive: true, force: true }) };
}

/** A Mosaic on a fresh temp data dir, with known credentials. */
export async function startMosaic(overrides: Record<string, unknown> = {}): Promise<Mosaic & { cleanup: () => Promise<void> }> {
  const { dir, cleanup } = tempDir();
  const config = loadConfig({
    env: {},
    cwd: dir,
    overrides: { dataDir: dir, writeKey: WRITE_KEY, apiToken: API_TOKEN, port: 0, logLevel: 'silent', ...overrides, processor: { mode: 'inline', ...(overrides.processor as object | undefined) } },
  });
  const mosaic = await createMosaic(config, { logger: pino({ level: 'silent' }), metrics: new Metrics() });
  return Object.assign(mosaic, {
    cleanup: async () => {
      await mosaic.close();
      cleanup();
    },
  });
}

export const basic = (user: string) => 'Basic ' + Buffer.from(`${user}:`).toString('base64');

let seq = 0;
/** A stored envelope, for reducer tests. */
export function env(partial: Partial<Envelope> & Pick<Envelope, 'type'>): Envelope {
  seq += 1;
  const ts = partial.timestamp ?? new Date(Date.UTC(2026, 0, 1) + seq * 1000).toISOString();
  return {
    messageId: `m${String(seq).padStart(6, '0')}`,
    receivedAt: ts,
    sourceId: 'src_test',
    ...partial,
    timestamp: ts,
  } as Envelope;
}

/**
 * The reducer over an in-memory graph that commits like the real store, fed `events` in
 * batches whose sizes cycle through `cuts`. Returns every profile, sorted by id.
 */
export function reduceInBatches(events: readonly Envelope[], cuts: readonly number[], model: ProfileModel = {}): ProfileDoc[] {
  const owners = new Map<string, string>();
  const docs = new Map<string, ProfileDoc>();
  let at = 0;
  let c = 0;
  while (at < events.length) {
    const n = cuts[c++ % cuts.length]!;
    const changes = reduceBatch(events.slice(at, at + n), { profileOf: (k) => owners.get(k), load: (id) => structuredClone(docs.get(id)) }, model);
    for (const id of changes.deletes) docs.delete(id);
    for (const d of changes.upserts.values()) docs.set(d.id, structuredClone(d));
    for (const [k, id] of changes.identities) owners.set(k, id);
    at += n;
  }
  return [...docs.values()].sort((a, b) => (a.id < b.id ? -1 : 1));
}
