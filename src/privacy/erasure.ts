import { mkdirSync } from 'node:fs';
import { join } from 'node:path';
import type { Logger } from 'pino';
import { splitKey, type IdentityKey, type IdentityRules } from '../core/identity.js';
import { assembleProfile, toPublicProfile, type ProfileModel } from '../core/profile.js';
import type { ControlStore } from '../adapters/sqlite/control-store.js';
import { eraseFromLake, lakeRowsOf } from '../lake/erase.js';
import { writeDurably } from '../lake/manifest.js';
import type { ConsentLog } from '../ports/consent-log.js';
import type { EventLog } from '../ports/event-log.js';
import type { ProfileCache } from '../ports/profile-cache.js';
import type { ErasureCommit, ProfileStore } from '../ports/profile-store.js';
import type { Quarantine } from '../ports/quarantine.js';
import { logSubjectOf, type Envelope } from '../core/envelope.js';
import { tokensIn } from '../core/pseudonymize.js';
import type { Vault } from '../ports/vault.js';
import type { VaultWriter } from './vault-writer.js';
import { deadLettersOf, lakeMatchOf, outboxOf, personOf, traceOf } from './person.js';
import type { SubjectNode } from './subject.js';
import { suppressionHash, type SuppressionList } from './suppression.js';

/** What data subject requests reach: every store that can hold a person. */
export interface PrivacyDeps {
  log: EventLog;
  store: ProfileStore;
  rules: IdentityRules;
  model?: ProfileModel;
  control: ControlStore;
  /** Commits the store part of an erasure where the processor cannot write the person back. */
  processor: { erase(commit: ErasureCommit, keys: readonly IdentityKey[]): Promise<void> };
  quarantine?: Quarantine;
  consentLog?: ConsentLog;
  cache?: ProfileCache;
  lakeDir?: string;
  /** Where erasure reports are written. */
  dataDir: string;
  /** The collector's list, refreshed once the erasure is committed. */
  suppression?: SuppressionList;
  /** The re-identification vault, and the collector's memory of what it holds. */
  vault?: Vault;
  vaultWriter?: VaultWriter;
  /** In-memory state keyed by a person's raw ids (the item signal builder's recent items), told to forget them. */
  forgetPeople?: (ids: string[]) => void;
  /** In-memory indexes keyed by identity (the profile text index), told to forget these. */
  forgetKeys?: (keys: IdentityKey[]) => void;
  logger?: Logger;
}

/** How many rows each store gave up: the erasure report (no identifier in it). */
export interface ErasureSummary {
  profiles: number;
  identities: number;
  audiences: number;
  /** Entries removed, or made unreadable by destroying their keys. */
  logEvents: number | 'not supported by this log';
  /** Keys destroyed, on a log that encrypts each person's entries (crypto-shredding). */
  logKeysShredded: number;
  lake: { filesRewritten: number; filesRemoved: number; rowsRemoved: number } | 'no lake';
  quarantine: number;
  deadLetters: number;
  outbox: number;
  consentEntriesRedacted: number;
  auditEntriesRedacted: number;
  cacheKeysInvalidated: number;
  suppressedIdentifiers: number;
  vaultEntries: number;
  storeScrubbed: boolean;
}

/** The subjects records may name the person by (the consent log and the audit trail use `<type>:<value>`). */
function recordSubjects(node: SubjectNode, keys: readonly string[]): string[] {
  return [...new Set([node.subject, `${node.type}:${node.id}`, ...keys])];
}

/**
 * Removes the person from every store, in an order that leaves no way back in: first the
 * suppression list (with the profile, in one commit between two batches), so the collector and
 * the processor drop anything of theirs still arriving; then the log, the lake, the quarantine,
 * the consent log's subjects and the audit trail's; last, each SQLite file is scrubbed.
 */
export async function erasePerson(deps: PrivacyDeps, node: SubjectNode, requestId: string, onStep?: (step: string) => void): Promise<ErasureSummary> {
  const { store, rules } = deps;
  const person = await personOf(store, node.key!);
  const keys = new Set(person.keys);
  const profileId = person.cluster?.id;
  onStep?.('profile');
  const memberships = profileId ? [...((await store.memberships([profileId])).get(profileId) ?? [])] : [];
  const edges = person.cluster ? [...person.cluster.edges] : [];
  const deadLetters = await deadLettersOf(store, rules, keys);
  const outbox = await outboxOf(store, profileId);
  // Their tokens on the profile (traits), read before it goes: the vault entries to forget.
  const tokens = tokensIn([...(await store.getParts(person.keys)).values()], new Set([node.subject.slice(node.type.length + 1)]));
  const commit: ErasureCommit = {
    deleteClusters: profileId ? [profileId] : [],
    memberships: memberships.map((audience) => ({ audience, profileId: profileId!, kind: 'exited', at: Date.now() })),
    erase: { nodes: person.keys, edges, parts: person.keys, outbox, deadLetters },
    suppress: person.keys.map(suppressionHash),
  };
  await deps.processor.erase(commit, person.keys);
  await deps.suppression?.refresh(store);

  onStep?.('log');
  const { positions, held, stored, tokens: inEvents, logSubjects } = await traceOf(deps.log, deps.quarantine, rules, keys);
  for (const t of inEvents) tokens.add(t);
  // Their entries go where the log can remove them; where it encrypts per person, their keys go too (or instead).
  const logEvents = deps.log.erase ? await deps.log.erase(positions) : deps.log.shred ? [...positions.values()].reduce((n, o) => n + o.length, 0) : 'not supported by this log';
  for (const id of person.keys) {
    const { type, id: value } = splitKey(id);
    if (type === 'user_id') logSubjects.add(logSubjectOf({ userId: value })!);
    if (type === 'anonymous_id') logSubjects.add(logSubjectOf({ anonymousId: value })!);
  }
  const logKeysShredded = deps.log.shred ? await deps.log.shred([...logSubjects]) : 0;

  onStep?.('lake');
  const lake = deps.lakeDir ? await eraseFromLake(deps.lakeDir, lakeMatchOf(person, positions)) : 'no lake';

  onStep?.('quarantine');
  if (held.length) await deps.quarantine!.remove(held.map((q) => q.id));

  onStep?.('records');
  const subjects = recordSubjects(node, [...person.keys, ...stored]);
  const consentEntriesRedacted = deps.consentLog ? await deps.consentLog.redact(subjects) : 0;
  const auditEntriesRedacted = deps.control.redactAudit(subjects, `erased:${requestId}`);
  await deps.cache?.invalidate(person.keys);
  deps.forgetKeys?.([...person.keys]);
  deps.forgetPeople?.(person.keys.map(splitKey).filter((k) => k.type === 'user_id' || k.type === 'anonymous_id').map((k) => k.id));
  const storeScrubbed = await store.scrub();

  onStep?.('vault');
  const vaultEntries = deps.vault ? await deps.vault.forget([...tokens]) : 0;
  deps.vaultWriter?.forgotten(tokens);
  if (vaultEntries) await deps.vault!.scrub();

  return {
    profiles: profileId ? 1 : 0,
    identities: person.cluster ? person.keys.length : 0,
    audiences: memberships.length,
    logEvents,
    logKeysShredded,
    lake,
    quarantine: held.length,
    deadLetters: deadLetters.length,
    outbox: outbox.length,
    consentEntriesRedacted,
    auditEntriesRedacted,
    cacheKeysInvalidated: person.keys.length,
    suppressedIdentifiers: commit.suppress.length,
    vaultEntries,
    storeScrubbed,
  };
}

/** The erasure report, kept in the data directory: what was removed where, and when. */
export function writeErasureReport(dataDir: string, report: { requestId: string; requestedAt: string; completedAt: string; summary: ErasureSummary }): string {
  const dir = join(dataDir, 'privacy', 'erasures');
  mkdirSync(dir, { recursive: true });
  const file = join(dir, `${report.requestId}.json`);
  writeDurably(file, JSON.stringify(report, null, 2));
  return file;
}

/** Everything held on the person (GDPR art. 15 / CCPA right to know), with a summary. */
export async function exportPerson(deps: PrivacyDeps, node: SubjectNode, opts: { lakeLimit?: number } = {}) {
  const { store, rules } = deps;
  const person = await personOf(store, node.key!);
  const keys = new Set(person.keys);
  let profile: unknown;
  if (person.cluster) {
    const parts = await store.getParts(person.cluster.members);
    const doc = assembleProfile(person.cluster, [...parts.values()].sort((a, b) => (a.id < b.id ? -1 : 1)), deps.model);
    const audiences = [...((await store.memberships([person.cluster.id])).get(person.cluster.id) ?? [])].sort();
    profile = { ...toPublicProfile(doc, deps.model), audiences };
  }
  const logEvents: Envelope[] = [];
  const { positions, held, stored, tokens } = await traceOf(deps.log, deps.quarantine, rules, keys, (e) => logEvents.push(e));
  const lakeEvents = deps.lakeDir ? await lakeRowsOf(deps.lakeDir, lakeMatchOf(person, positions), opts.lakeLimit ?? 10_000) : [];
  const subjects = new Set(recordSubjects(node, [...person.keys, ...stored]));
  const consent = [];
  if (deps.consentLog) {
    for (let after = 0; ; ) {
      const page = await deps.consentLog.read(after, 10_000);
      if (!page.length) break;
      for (const c of page) if (subjects.has(c.subject)) consent.push({ seq: c.seq, at: new Date(c.at).toISOString(), purposes: c.purposes, source: c.source, messageId: c.messageId });
      after = page[page.length - 1]!.seq;
    }
  }
  const audit = deps.control.queryAudit({ subjects: [...subjects], limit: 10_000 }).map((a) => ({ ...a, at: new Date(a.at).toISOString() }));
  const quarantined = held.map((q) => ({ id: q.id, receivedAt: new Date(q.receivedAtMs).toISOString(), violations: q.violations, payload: JSON.parse(q.payload) as unknown }));
  const lineage = person.cluster?.lineage ?? [];
  // The person is owed their own values, not only the tokens that stand for them.
  const vault = [];
  if (deps.vault) {
    for (const t of tokensIn(profile, tokens)) {
      const kept = await deps.vault.reveal(t);
      if (kept) vault.push({ token: t, value: kept.value, keptAt: new Date(kept.at).toISOString() });
    }
  }
  return {
    subject: node.subject,
    generatedAt: new Date().toISOString(),
    summary: {
      profile: profile !== undefined,
      identities: person.cluster ? person.keys.length : 0,
      logEvents: logEvents.length,
      lakeEvents: lakeEvents.length,
      consentEntries: consent.length,
      auditEntries: audit.length,
      quarantined: quarantined.length,
      vaultEntries: vault.length,
    },
    profile: profile ?? null,
    identities: person.cluster ? person.keys : [],
    lineage,
    events: { log: logEvents, lake: lakeEvents },
    consent,
    audit,
    quarantine: quarantined,
    vault,
  };
}
