import { LRUCache } from 'lru-cache';
import type { SuppressionList } from '../privacy/suppression.js';
import type { Envelope } from '../core/envelope.js';
import type { IdentityKey, IdentityRules } from '../core/identity.js';
import type { Cluster, Hyperedge } from '../core/identity-graph.js';
import { AUDIENCE_SOURCE_ID, membershipChanges, pendingAudienceEvent, type MembershipChange } from '../core/audiences.js';
import { ruleView, type ProfileDoc, type ProfileModel } from '../core/profile.js';
import { applyToParts, identifyBatch, newEdges, resolveComponent, resolveInOrder, type LogRef } from '../core/resolve-batch.js';
import type { DeadLetter, MembershipRecord, ProfileStore, SeenMessage } from '../ports/profile-store.js';
import { dropSeen } from './seen-messages.js';
import type { Transformations } from './transformations.js';

export interface BatchOutcome {
  merges: number;
  conflicts: number;
  /** A late edge made a connected component be rebuilt from its stored edges. */
  reclustered: boolean;
  /** Audience entries and exits committed. */
  transitions: MembershipRecord[];
  /** Events transformations dead-lettered, and dropped on purpose. */
  deadLetters: DeadLetter[];
  dropped: number;
  /** Events dropped as already applied (ApplyOptions.dedup). */
  duplicates: number;
  /** Events of erased people, dropped. */
  suppressed: number;
  /** Every identity of every profile the batch changed, before and after: what a profile cache must drop. */
  touched: Set<IdentityKey>;
}

/** Where a batch gets parts from: the store, or the store behind a cache. */
export interface PartSource {
  get(store: ProfileStore, anchors: Iterable<IdentityKey>): Promise<Map<IdentityKey, ProfileDoc>>;
  remember(parts: Iterable<ProfileDoc>): void;
  clear(): void;
}

/**
 * Parts as last committed by this processor, so the next batches do not read and parse them
 * again (a person's events come in bursts). Only one processor writes a store's parts, so the
 * cache cannot be stale; it is cleared when a commit fails, as the reducer mutates parts in place.
 */
export class PartCache implements PartSource {
  private readonly lru: LRUCache<IdentityKey, ProfileDoc>;
  constructor(max: number) {
    this.lru = new LRUCache({ max });
  }

  /** Parts for `anchors`: cached ones, the rest from the store (absent ones stay absent). */
  async get(store: ProfileStore, anchors: Iterable<IdentityKey>): Promise<Map<IdentityKey, ProfileDoc>> {
    const out = new Map<IdentityKey, ProfileDoc>();
    const missing: IdentityKey[] = [];
    for (const a of anchors) {
      const hit = this.lru.get(a);
      if (hit) out.set(a, hit);
      else missing.push(a);
    }
    for (const [a, p] of await store.getParts(missing)) out.set(a, p);
    return out;
  }

  remember(parts: Iterable<ProfileDoc>): void {
    for (const p of parts) this.lru.set(p.id, p);
  }

  clear(): void {
    this.lru.clear();
  }
}

/**
 * Each profile's audiences as this processor last committed them, so re-evaluating a profile
 * does not read them again (a probe per configured audience; about 2% of the processor's time
 * with ten audiences, measured). One writer only, as PartCache; sets are remembered only once
 * committed, so a failed commit leaves nothing to forget.
 */
export class MembershipCache {
  private readonly lru: LRUCache<string, ReadonlySet<string>>;
  constructor(max: number) {
    this.lru = new LRUCache({ max });
  }

  async get(store: ProfileStore, ids: readonly string[]): Promise<Map<string, ReadonlySet<string>>> {
    const out = new Map<string, ReadonlySet<string>>();
    const missing: string[] = [];
    for (const id of ids) {
      const hit = this.lru.get(id);
      if (hit) out.set(id, hit);
      else missing.push(id);
    }
    if (missing.length) {
      const read = await store.memberships(missing);
      for (const id of missing) out.set(id, read.get(id) ?? NONE);
    }
    return out;
  }

  /** Profiles' audiences after a commit; sets are replaced, never changed in place. */
  remember(sets: ReadonlyMap<string, ReadonlySet<string>>): void {
    for (const [id, set] of sets) this.lru.set(id, set);
  }

  clear(): void {
    this.lru.clear();
  }
}

const NONE: ReadonlySet<string> = new Set();

const NO_CACHE: PartSource = { get: (store: ProfileStore, anchors: Iterable<IdentityKey>) => store.getParts([...anchors]), remember: () => undefined, clear: () => undefined };

export interface ApplyOptions {
  /** Keeps committed parts between batches (the processor's; none for one-off calls). */
  cache?: PartSource;
  /** Keeps committed audience memberships between batches, as `cache` keeps parts. */
  memberships?: MembershipCache;
  /** User transformations, run after enrichment and before identity resolution. */
  transform?: Transformations;
  /** Each event's place in the log (same order as the events), for the recent-events index. */
  refs?: readonly (LogRef | undefined)[];
  /** Write audience enter/exit events to the outbox (off for a replay: they were sent once). */
  emit?: boolean;
  /** The clock audiences are evaluated at. */
  now?: number;
  /** Lease tokens of the consumed partitions, checked by a shared store at commit (see ProfileCommit.fence). */
  fence?: ReadonlyMap<number, string>;
  /**
   * Drop events already applied, by (sourceId, messageId), and record the others as seen at
   * `at`: for a log that lets repeats through (EventLogCapabilities.dedup = 'message'). Needs `refs`.
   */
  dedup?: { at: number };
  /** Erased people: their events are dropped. */
  suppression?: SuppressionList;
}

/**
 * Resolves a batch's identities, folds each event into its anchor's part, and commits both
 * with the offsets consumed, in one transaction. A late edge (older than edges already applied
 * to the profiles it touches) makes the whole connected component be reclustered.
 */
export async function applyBatch(
  store: ProfileStore,
  received: readonly Envelope[],
  offsets: ReadonlyMap<number, number>,
  rules: IdentityRules,
  model: ProfileModel = {},
  opts: ApplyOptions = {},
): Promise<BatchOutcome> {
  let refs = opts.refs;
  // Mosaic's own audience events are in the log for the lake and destinations, not for profiles:
  // with ten audiences there are about 0.6 of them per event, not worth enriching or transforming.
  if (received.some(isAudienceEvent)) ({ events: received, refs } = keepWhere(received, refs, (e) => !isAudienceEvent(e)));
  let seen: { at: number; messages: SeenMessage[] } | undefined;
  let duplicates = 0;
  if (opts.dedup) {
    const fresh = await dropSeen(store, received, refs ?? []);
    ({ events: received, refs, duplicates } = fresh);
    seen = { at: opts.dedup.at, messages: fresh.messages };
  }
  let suppressed = 0;
  const list = opts.suppression;
  if (list?.size) {
    const before = received.length;
    ({ events: received, refs } = keepWhere(received, refs, (e) => !list.suppresses(rules.identifiersOf(e))));
    suppressed = before - received.length;
  }
  if (model.enricher?.enabled) for (const e of received) model.enricher.enrich(e);
  let events = received;
  let deadLetters: DeadLetter[] = [];
  let dropped = 0;
  if (opts.transform?.size) {
    const t = opts.transform.run(received, refs);
    ({ events, deadLetters, dropped } = t);
    refs = t.refs;
  }
  const input = identifyBatch(events, rules, refs);
  const nodes = [...input.nodes];
  const nodeCluster = await store.nodeClusters(nodes);
  const slice = {
    nodeCluster,
    clusters: await store.getClusters([...new Set(nodeCluster.values())]),
    edgeStamps: await store.edgeStamps([...input.edges.keys()]),
  };
  const edges = newEdges(input, slice);
  let graph = resolveInOrder(rules, input, slice, edges);
  const reclustered = graph === undefined;
  // The clusters as stored before this batch: what deleted profiles looked like (for their exit events).
  let before: ReadonlyMap<string, Cluster> = slice.clusters;
  if (!graph) {
    const component = await loadComponent(store, nodes);
    before = new Map([...slice.clusters, ...component.clusters.map((c) => [c.id, c] as const)]);
    graph = resolveComponent(rules, input, component.clusters, component.edges, edges);
  }
  const cache = opts.cache ?? NO_CACHE;
  const parts = await cache.get(store, input.anchors);
  const changedParts = applyToParts(input, parts, model);

  let audience: AudienceOutcome = { memberships: [], outbox: [], after: new Map() };
  if (model.audiences?.length) {
    const clusterOf = (k: IdentityKey) => graph.nodes.get(k) ?? nodeCluster.get(k);
    const touched = new Set(graph.upserts.keys());
    for (const anchor of changedParts.keys()) {
      const id = clusterOf(anchor);
      if (id !== undefined) touched.add(id);
    }
    for (const id of graph.deletes) touched.delete(id);
    const missing = [...touched].filter((id) => !graph.upserts.has(id) && !slice.clusters.has(id));
    const loaded = await store.getClusters(missing);
    const clusters = [...touched].map((id) => graph.upserts.get(id) ?? slice.clusters.get(id) ?? loaded.get(id)).filter((c): c is Cluster => c !== undefined);
    const gone = [...graph.deletes].map((id) => before.get(id) ?? { id, members: [], last: { t: 0, m: '' }, edges: [], lineage: [] });
    // A profile this batch created has no membership to read: a profile's memberships are left when it is deleted.
    const created = new Set([...graph.upserts.keys()].filter((id) => !before.has(id)));
    audience = await evaluateAudiences(store, model, clusters, gone, changedParts, { ...opts, cache, created });
  }

  try {
    await store.commit({
      clusters: graph.upserts.values(),
      deleteClusters: graph.deletes,
      nodes: graph.nodes,
      edges,
      parts: changedParts.values(),
      offsets,
      ...(opts.fence?.size ? { fence: opts.fence } : {}),
      memberships: audience.memberships,
      outbox: audience.outbox,
      deadLetters,
      ...(seen ? { seen } : {}),
    });
  } catch (err) {
    cache.clear();
    throw err;
  }
  cache.remember(changedParts.values());
  opts.memberships?.remember(audience.after);
  // The batch's nodes' clusters as they were and as they are now, and those it deleted.
  const touched = new Set<IdentityKey>();
  for (const c of [...slice.clusters.values(), ...graph.upserts.values(), ...before.values()]) for (const m of c.members) touched.add(m);
  for (const n of nodes) touched.add(n);
  return { merges: graph.merges, conflicts: graph.conflicts, reclustered, transitions: audience.memberships, deadLetters, dropped, duplicates, suppressed, touched };
}

const isAudienceEvent = (e: Envelope) => e.sourceId === AUDIENCE_SOURCE_ID;

/** The events `keep` accepts, with their log positions. */
function keepWhere(events: readonly Envelope[], refs: readonly (LogRef | undefined)[] | undefined, keep: (e: Envelope) => boolean) {
  const flags = events.map(keep);
  return { events: events.filter((_, i) => flags[i]), refs: refs?.filter((_, i) => flags[i]) };
}

interface AudienceOutcome {
  memberships: MembershipRecord[];
  outbox: string[];
  /** Each evaluated profile's audiences once this is committed. */
  after: Map<string, ReadonlySet<string>>;
}

/**
 * Which audiences these profiles enter and exit now. `fresh` holds parts changed in this batch
 * (not yet committed); the others are read from the store. Profiles merged away exit everything.
 */
async function evaluateAudiences(
  store: ProfileStore,
  model: ProfileModel,
  clusters: readonly Cluster[],
  gone: readonly Cluster[],
  fresh: ReadonlyMap<IdentityKey, ProfileDoc>,
  opts: Omit<ApplyOptions, 'cache'> & { cache: PartSource; timedOnly?: boolean; created?: ReadonlySet<string> },
): Promise<AudienceOutcome> {
  const configured = model.audiences ?? [];
  const audiences = opts.timedOnly ? configured.filter((a) => a.changesWithTime) : configured;
  const now = opts.now ?? Date.now();
  const need = clusters.flatMap((c) => c.members).filter((m) => !fresh.has(m));
  const stored = await opts.cache.get(store, need);
  const ids = [...clusters, ...gone].map((c) => c.id).filter((id) => !opts.created?.has(id));
  const current: ReadonlyMap<string, ReadonlySet<string>> = opts.memberships ? await opts.memberships.get(store, ids) : await store.memberships(ids);
  const memberships: MembershipRecord[] = [];
  const outbox: string[] = [];
  const after = new Map<string, ReadonlySet<string>>();
  const record = (c: Cluster, changes: MembershipChange[]) => {
    const was = current.get(c.id) ?? NONE;
    if (changes.length === 0) {
      after.set(c.id, was);
      return;
    }
    const next = new Set(was);
    for (const ch of changes) {
      memberships.push({ ...ch, at: now });
      if (ch.kind === 'entered') next.add(ch.audience);
      else next.delete(ch.audience);
      if (opts.emit) outbox.push(JSON.stringify(pendingAudienceEvent(ch, c.members, now)));
    }
    after.set(c.id, next);
  };
  for (const c of clusters) {
    const parts = c.members.map((m) => fresh.get(m) ?? stored.get(m)).filter((p): p is ProfileDoc => p !== undefined);
    record(c, membershipChanges(c.id, ruleView(parts, model, now), current.get(c.id) ?? NONE, audiences, configured));
  }
  for (const c of gone) record(c, membershipChanges(c.id, undefined, current.get(c.id) ?? NONE, audiences, configured));
  return { memberships, outbox, after };
}

/**
 * The audience timer: re-evaluates up to `limit` profiles after `afterId` (a cursor that
 * wraps around), so members leave as windows expire with no new event, and an added or
 * changed audience is computed for existing profiles. Returns the next cursor (undefined at the end).
 * `timedOnly`: only the audiences whose membership changes with time (the timer's regular
 * pass; the others changed only with the events, which re-evaluated them).
 */
export async function sweepAudiences(
  store: ProfileStore,
  model: ProfileModel,
  afterId: string | undefined,
  limit: number,
  opts: ApplyOptions & { timedOnly?: boolean } = {},
): Promise<{ next: string | undefined; scanned: number; transitions: MembershipRecord[]; touched: Set<IdentityKey> }> {
  const clusters = await store.scanClusters(afterId, limit);
  const { memberships, outbox, after } = await evaluateAudiences(store, model, clusters, [], new Map(), { ...opts, cache: opts.cache ?? NO_CACHE });
  if (memberships.length) await store.commit({ memberships, outbox });
  opts.memberships?.remember(after);
  const changed = new Set(memberships.map((m) => m.profileId));
  const touched = new Set(clusters.filter((c) => changed.has(c.id)).flatMap((c) => c.members));
  return { next: clusters.length < limit ? undefined : clusters[clusters.length - 1]!.id, scanned: clusters.length, transitions: memberships, touched };
}

/**
 * Every cluster and edge connected to `seeds`, ignoring merge limits: what a recluster must see.
 * Each cluster lists the edges that name its members, so the walk is clusters → edges → nodes.
 */
async function loadComponent(store: ProfileStore, seeds: readonly IdentityKey[]): Promise<{ clusters: Cluster[]; edges: Hyperedge[] }> {
  const seen = new Set<IdentityKey>(seeds);
  const clusters = new Map<string, Cluster>();
  const edges = new Map<string, Hyperedge>();
  let frontier = [...seeds];
  while (frontier.length) {
    const next: IdentityKey[] = [];
    const visit = (n: IdentityKey) => {
      if (seen.has(n)) return;
      seen.add(n);
      next.push(n);
    };
    const ids = [...new Set((await store.nodeClusters(frontier)).values())].filter((id) => !clusters.has(id));
    const edgeKeys = new Set<string>();
    for (const c of (await store.getClusters(ids)).values()) {
      clusters.set(c.id, c);
      c.members.forEach(visit);
      for (const k of c.edges) if (!edges.has(k)) edgeKeys.add(k);
    }
    for (const e of await store.getEdges([...edgeKeys])) {
      edges.set(e.key, e);
      e.nodes.forEach(visit);
    }
    frontier = next;
  }
  return { clusters: [...clusters.values()], edges: [...edges.values()] };
}
