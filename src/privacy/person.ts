import { logSubjectOf, type Envelope } from '../core/envelope.js';
import { tokensIn } from '../core/pseudonymize.js';
import { splitKey, type IdentityKey, type IdentityRules } from '../core/identity.js';
import type { Cluster } from '../core/identity-graph.js';
import type { PendingAudienceEvent } from '../core/audiences.js';
import type { EventLog } from '../ports/event-log.js';
import type { ProfileStore } from '../ports/profile-store.js';
import type { Quarantine, QuarantinedEvent } from '../ports/quarantine.js';
import type { LakeMatch } from '../lake/erase.js';

/** Everything that ties rows to one person: their profile and every identifier it holds. */
export interface Person {
  cluster: Cluster | undefined;
  keys: IdentityKey[];
}

/** The profile holding `key` and its identifiers (only `key` when no profile holds it yet). */
export async function personOf(store: ProfileStore, key: IdentityKey): Promise<Person> {
  const cluster = await store.findCluster(key);
  return { cluster, keys: cluster ? [...cluster.members] : [key] };
}

const carries = (rules: IdentityRules, keys: ReadonlySet<IdentityKey>, e: Envelope) => rules.identifiersOf(e).some((k) => keys.has(k));

/**
 * Reads the whole log for the person's events (an event is theirs when it carries one of their
 * identifiers, as the processor would resolve it). Calls `onEvent` with each one found.
 */
export async function scanLog(log: EventLog, rules: IdentityRules, keys: ReadonlySet<IdentityKey>, opts: { onEvent?: (e: Envelope) => void; onProgress?: (read: number) => void } = {}): Promise<Map<number, number[]>> {
  const found = new Map<number, number[]>();
  const ends = await log.endOffsets();
  let read = 0;
  for (let p = 0; p < log.partitions; p++) {
    let at = 1;
    while (at < (ends[p] ?? 1)) {
      const page = await log.read(p, at, 5000);
      if (!page.length) break;
      for (const entry of page) {
        const e = JSON.parse(entry.payload) as Envelope;
        if (carries(rules, keys, e)) {
          let list = found.get(p);
          if (!list) found.set(p, (list = []));
          list.push(entry.offset);
          opts.onEvent?.(e);
        }
      }
      read += page.length;
      opts.onProgress?.(read);
      at = page[page.length - 1]!.offset + 1;
    }
  }
  return found;
}

/** Quarantined messages that carry one of the person's identifiers. */
export async function quarantinedOf(quarantine: Quarantine, rules: IdentityRules, keys: ReadonlySet<IdentityKey>): Promise<QuarantinedEvent[]> {
  const out: QuarantinedEvent[] = [];
  let afterId = 0;
  for (;;) {
    const page = await quarantine.list({ afterId, limit: 1000, status: 'all' });
    if (!page.length) return out;
    for (const q of page) if (carries(rules, keys, JSON.parse(q.payload) as Envelope)) out.push(q);
    afterId = page[page.length - 1]!.id;
  }
}

/** Dead letters (of destinations and transformations) holding one of the person's events. */
export async function deadLettersOf(store: ProfileStore, rules: IdentityRules, keys: ReadonlySet<IdentityKey>): Promise<number[]> {
  const out: number[] = [];
  let afterId = 0;
  for (;;) {
    const page = await store.deadLetters(afterId, 1000);
    if (!page.length) return out;
    for (const d of page) if (carries(rules, keys, JSON.parse(d.payload) as Envelope)) out.push(d.id);
    afterId = page[page.length - 1]!.id;
  }
}

/** Audience events of the profile not yet appended to the log. */
export async function outboxOf(store: ProfileStore, profileId: string | undefined): Promise<number[]> {
  if (!profileId) return [];
  // The outbox is drained continuously: what is in it is a few batches' worth.
  return (await store.readOutbox(100_000)).filter((e) => (JSON.parse(e.payload) as PendingAudienceEvent)[2] === profileId).map((e) => e.id);
}

/** How the lake finds the person's rows. */
export function lakeMatchOf(person: Person, positions: ReadonlyMap<number, readonly number[]>): LakeMatch {
  const ids = (type: string) => person.keys.filter((k) => splitKey(k).type === type).map((k) => splitKey(k).id);
  return { positions, userIds: ids('user_id'), anonymousIds: ids('anonymous_id'), profileIds: person.cluster ? [person.cluster.id] : [] };
}

/** Where the person appears outside the profile store, and how records may name them. */
export interface Traces {
  /** Log positions of their events. */
  positions: Map<number, number[]>;
  /** Their quarantined messages. */
  held: QuarantinedEvent[];
  /** `<type>:<value>` as stored on their events: how records (audit, consent) name them, which a hashed graph node cannot give back. */
  stored: Set<string>;
  /** Pseudonymization tokens anywhere in their events: what the vault keeps their values under. */
  tokens: Set<string>;
  /** Whom the log's entries of theirs belong to (logSubjectOf): what a shredding log destroys keys for. */
  logSubjects: Set<string>;
}

/** Reads the log and the quarantine for the person (an export and an erasure look in the same places). */
export async function traceOf(log: EventLog, quarantine: Quarantine | undefined, rules: IdentityRules, keys: ReadonlySet<IdentityKey>, onEvent?: (e: Envelope) => void): Promise<Traces> {
  const stored = new Set<string>();
  const tokens = new Set<string>();
  const logSubjects = new Set<string>();
  const note = (e: Envelope) => {
    for (const s of rules.storedIdentifiersOf(e)) stored.add(s);
    tokensIn(e, tokens);
    const subject = logSubjectOf(e);
    if (subject) logSubjects.add(subject);
  };
  const positions = await scanLog(log, rules, keys, {
    onEvent: (e) => {
      note(e);
      onEvent?.(e);
    },
  });
  const held = quarantine ? await quarantinedOf(quarantine, rules, keys) : [];
  for (const q of held) note(JSON.parse(q.payload) as Envelope);
  return { positions, held, stored, tokens, logSubjects };
}
