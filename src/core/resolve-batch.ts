import { AUDIENCE_SOURCE_ID } from './audiences.js';
import type { Envelope } from './envelope.js';
import { GraphWork, edgeKey, recluster, stampAfter, type Cluster, type GraphChanges, type Hyperedge, type Stamp } from './identity-graph.js';
import type { IdentityKey, IdentityRules } from './identity.js';
import { applyEvent, emptyProfile, noteRecent, type ProfileDoc, type ProfileModel } from './profile.js';

/** One event with its identifiers; it lands on the profile of `ids[0]`, its anchor. */
export interface IdentifiedEvent {
  event: Envelope;
  ids: IdentityKey[];
  t: number;
  /** Where the event is in the log, when known. */
  ref?: LogRef;
}

export interface LogRef {
  partition: number;
  offset: number;
}

/** What a batch brings to the graph: its events, the edges they carry (earliest stamp per node set) and every node they name. */
export interface BatchGraphInput {
  events: IdentifiedEvent[];
  edges: Map<string, Hyperedge>;
  nodes: Set<IdentityKey>;
  anchors: Set<IdentityKey>;
}

export function identifyBatch(events: readonly Envelope[], rules: IdentityRules, refs?: readonly (LogRef | undefined)[]): BatchGraphInput {
  const out: BatchGraphInput = { events: [], edges: new Map(), nodes: new Set(), anchors: new Set() };
  for (let i = 0; i < events.length; i++) {
    const event = events[i]!;
    if (event.sourceId === AUDIENCE_SOURCE_ID) continue; // Mosaic's own audience events are not the person's behaviour
    const ids = rules.identifiersOf(event);
    if (ids.length === 0) continue; // the collector refuses these; an old log may not have
    const t = Date.parse(event.timestamp);
    const ref = refs?.[i];
    out.events.push(ref ? { event, ids, t, ref } : { event, ids, t });
    out.anchors.add(ids[0]!);
    for (const n of ids) out.nodes.add(n);
    if (ids.length < 2) continue;
    const key = edgeKey(ids);
    const known = out.edges.get(key);
    if (!known || stampAfter(known, { t, m: event.messageId })) out.edges.set(key, { key, nodes: ids, t, m: event.messageId });
  }
  return out;
}

/** The stored graph around a batch: clusters of its nodes, and the stamps of its edges already stored. */
export interface GraphSlice {
  nodeCluster: ReadonlyMap<IdentityKey, string>;
  clusters: ReadonlyMap<string, Cluster>;
  edgeStamps: ReadonlyMap<string, Stamp>;
}

/** The batch's edges that change anything: never stored, or now seen earlier than stored. */
export function newEdges(input: BatchGraphInput, slice: GraphSlice): Hyperedge[] {
  const out: Hyperedge[] = [];
  for (const e of input.edges.values()) {
    const stored = slice.edgeStamps.get(e.key);
    if (!stored || stampAfter(stored, e)) out.push(e);
  }
  return out.sort((a, b) => (stampAfter(a, b) ? 1 : stampAfter(b, a) ? -1 : 0));
}

/**
 * The graph changes of a batch whose new edges are all newer than the clusters they touch
 * (the usual case: events arrive roughly in order); undefined when one is late, and the
 * component must be reclustered from its stored edges.
 */
export function resolveInOrder(rules: IdentityRules, input: BatchGraphInput, slice: GraphSlice, edges: readonly Hyperedge[]): GraphChanges | undefined {
  const work = new GraphWork(rules, slice);
  for (const e of edges) {
    if (work.isLate(e)) return undefined;
    work.apply(e);
  }
  for (const a of input.anchors) work.ensureNode(a);
  return work.changes;
}

/** Reclusters a whole component: its stored clusters and edges plus the batch's. */
export function resolveComponent(rules: IdentityRules, input: BatchGraphInput, clusters: Iterable<Cluster>, storedEdges: Iterable<Hyperedge>, edges: readonly Hyperedge[]): GraphChanges {
  const all = new Map<string, Hyperedge>();
  for (const e of storedEdges) all.set(e.key, e);
  for (const e of edges) all.set(e.key, e); // the batch's stamp is the earlier one
  return recluster(rules, clusters, all.values(), input.anchors, new Set(edges.map((e) => e.key)));
}

/** Folds each event into its anchor's part (in place); returns the parts changed. */
export function applyToParts(input: BatchGraphInput, parts: Map<IdentityKey, ProfileDoc>, model: ProfileModel = {}): Map<IdentityKey, ProfileDoc> {
  const changed = new Map<IdentityKey, ProfileDoc>();
  for (const { event, ids, t, ref } of input.events) {
    const anchor = ids[0]!;
    let part = parts.get(anchor);
    if (!part) {
      part = emptyProfile();
      part.id = anchor;
      parts.set(anchor, part);
    }
    applyEvent(part, event, model);
    if (ref && model.recentEvents) noteRecent(part, [t, ref.partition, ref.offset], model.recentEvents);
    changed.set(anchor, part);
  }
  return changed;
}
