import { spawn } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { pino } from 'pino';
import { createMosaic, type Mosaic } from '../src/app.js';
import { loadConfig } from '../src/config.js';
import type { Envelope } from '../src/core/envelope.js';
import assert from 'node:assert/strict';
import { SqliteProfileStore } from '../src/adapters/sqlite/profile-store.js';
import { DEFAULT_IDENTIFIER_TYPES, IdentityRules } from '../src/core/identity.js';
import { assembleProfile, toPublicProfile, type ProfileDoc, type ProfileModel } from '../src/core/profile.js';
import { applyBatch } from '../src/process/apply-batch.js';
import { Metrics } from '../src/observe/metrics.js';
import type { InlineProcessorHost } from '../src/process/processor-host.js';

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

/** Sends one event in a batch to a started Mosaic; fails the test unless it is accepted. */
export async function sendEvent(m: Mosaic, event: object): Promise<void> {
  const r = await m.app.inject({ method: 'POST', url: '/v1/batch', headers: { authorization: basic(WRITE_KEY) }, payload: { batch: [event] } });
  assert.equal(r.statusCode, 200, r.body);
}

/** Polls `ok` every 10 ms until it holds; throws after 20 s. */
export async function until(what: string, ok: () => Promise<boolean>): Promise<void> {
  const deadline = Date.now() + 20_000;
  while (!(await ok())) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 10));
  }
}

/** Whether an inline processor has read everything in the log (its positions, stored or not). */
export async function allApplied(m: Mosaic): Promise<boolean> {
  const processor = (m.processor as InlineProcessorHost).processor;
  return (await m.log.endOffsets()).every((end, p) => (processor.progress().positions[p] ?? 0) >= end);
}

/** Mosaic's own audience events in the log. */
export async function audienceEventsInLog(m: Mosaic): Promise<number> {
  let n = 0;
  const ends = await m.log.endOffsets();
  for (let p = 0; p < ends.length; p++) for (const e of await m.log.read(p, 1, 1000)) if ((JSON.parse(e.payload) as { sourceId: string }).sourceId === 'mosaic:audiences') n++;
  return n;
}

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

export const TEST_RULES = new IdentityRules(DEFAULT_IDENTIFIER_TYPES, 'test-hash-key');

/** The profile an event lands on is its anchor's: its highest-priority identifier. */
export const anchorOf = (e: Envelope, rules = TEST_RULES) => rules.identifiersOf(e)[0]!;

/** The real batch path (applyBatch on an in-memory SQLite store), for reducer tests. */
export class MemoryProfiles {
  readonly store = new SqliteProfileStore({ dir: ':memory:' });
  constructor(
    readonly model: ProfileModel = {},
    readonly rules: IdentityRules = TEST_RULES,
  ) {}

  async apply(events: readonly Envelope[]) {
    return applyBatch(this.store, events, new Map(), this.rules, this.model);
  }

  async docOf(key: string): Promise<ProfileDoc | undefined> {
    const cluster = await this.store.findCluster(key);
    if (!cluster) return undefined;
    return assembleProfile(cluster, (await this.store.getParts(cluster.members)).values(), this.model);
  }

  async byKey(key: string) {
    const doc = await this.docOf(key);
    return doc && toPublicProfile(doc, this.model);
  }

  /** Every profile, assembled, sorted by id. */
  async docs(): Promise<ProfileDoc[]> {
    const out: ProfileDoc[] = [];
    for (let after: string | undefined; ; ) {
      const page = await this.store.scanClusters(after, 100);
      for (const c of page) out.push(assembleProfile(c, (await this.store.getParts(c.members)).values(), this.model));
      if (page.length < 100) return out;
      after = page[page.length - 1]!.id;
    }
  }

  /** Invariants: every member of every cluster points back at it. */
  async check(): Promise<void> {
    for (const doc of await this.docs()) {
      const owners = await this.store.nodeClusters(doc.identities);
      for (const k of doc.identities) assert.equal(owners.get(k), doc.id, `${k} should point at ${doc.id}`);
    }
  }

  close() {
    return this.store.close();
  }
}

/** Feeds `events` in batches whose sizes cycle through `cuts`; returns every profile, sorted by id. */
export async function reduceInBatches(events: readonly Envelope[], cuts: readonly number[], model: ProfileModel = {}, rules = TEST_RULES): Promise<ProfileDoc[]> {
  const g = new MemoryProfiles(model, rules);
  try {
    for (let at = 0, c = 0; at < events.length; ) {
      const n = cuts[c++ % cuts.length]!;
      await g.apply(events.slice(at, at + n));
      at += n;
    }
    return await g.docs();
  } finally {
    await g.close();
  }
}

/** `mosaic <args>` as a separate process on a data dir (the CLI as people run it): its exit status and output. */
export function runCli(dataDir: string, args: readonly string[]): Promise<{ status: number | null; stdout: string; stderr: string }> {
  return new Promise((resolve) => {
    const child = spawn(process.execPath, [join(import.meta.dirname, '../src/cli/main.js'), ...args], { cwd: dataDir, env: { ...process.env, MOSAIC_DATA_DIR: dataDir } });
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (d: Buffer) => (stdout += d.toString()));
    child.stderr.on('data', (d: Buffer) => (stderr += d.toString()));
    child.on('close', (status) => resolve({ status, stdout, stderr }));
  });
}
