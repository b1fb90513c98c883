import { createHash } from 'node:crypto';
import { canonicalProfileId, typeOf, type IdentityKey, type IdentityRules } from './identity.js';

/**
 * The identity graph. Nodes are identifiers; each event carrying two or more of them is a
 * hyperedge. Profiles are clusters of nodes, built by applying the distinct hyperedges in
 * order of their first occurrence (event time, then messageId), each one greedily in priority
 * order: an identifier joins only if the per-type limits still hold, else it is dropped and
 * the conflict recorded. The clusters are therefore a function of the set of events, not of
 * the order they arrived in: an edge that arrives later than newer edges of the same clusters
 * makes the caller recompute that connected component from scratch (`recluster`).
 */

/** When an edge first occurred: event time, then messageId as the tie-break. */
export interface Stamp {
  t: number;
  m: string;
}

export const stampAfter = (a: Stamp, b: Stamp) => a.t > b.t || (a.t === b.t && a.m > b.m);

export interface Hyperedge extends Stamp {
  /** Stable id of the node set. */
  key: string;
  /** Nodes in priority order. */
  nodes: IdentityKey[];
}

export function edgeKey(nodes: readonly IdentityKey[]): string {
  return createHash('sha1').update([...nodes].sort().join('\n')).digest('base64url');
}

/** Lineage: how a profile came to be, newest last. */
export interface LineageEntry {
  kind: 'merge' | 'conflict';
  /** Event time (ms) and messageId of the event that linked (or tried to link) identifiers. */
  at: number;
  messageId: string;
  /** merge: the identifiers this event joined; conflict: the identifiers it kept. */
  identities: IdentityKey[];
  /** merge: the profiles absorbed (their ids before the merge). */
  profiles?: string[];
  /** conflict: identifiers left out, the profile each belongs to, and the rule that refused them. */
  dropped?: { key: IdentityKey; profile?: string; rule: string }[];
}

export interface Cluster {
  /** The profile id: derived from the highest-priority member. */
  id: string;
  /** Members in priority order. */
  members: IdentityKey[];
  /** The newest edge that mentioned any member: an older edge arriving now is late. */
  last: Stamp;
  /** Keys of the edges that mention any member (refused ones included): what a recluster walks. */
  edges: string[];
  lineage: LineageEntry[];
}

/** Keeps lineage bounded (invariant 6: memory is bounded by configuration). */
export const MAX_LINEAGE = 100;
const NEVER: Stamp = { t: Number.MIN_SAFE_INTEGER, m: '' };

export interface GraphChanges {
  upserts: Map<string, Cluster>;
  deletes: Set<string>;
  /** node -> cluster id, to write. */
  nodes: Map<IdentityKey, string>;
  /** Merges made and merges refused by the edges counted (a recluster counts only the new edges). */
  merges: number;
  conflicts: number;
}

const byStamp = (a: Stamp, b: Stamp) => (stampAfter(a, b) ? 1 : stampAfter(b, a) ? -1 : 0);

function sortLineage(entries: LineageEntry[]): LineageEntry[] {
  entries.sort((a, b) => byStamp({ t: a.at, m: a.messageId }, { t: b.at, m: b.messageId }) || (a.kind < b.kind ? -1 : a.kind > b.kind ? 1 : 0));
  return entries.length > MAX_LINEAGE ? entries.slice(-MAX_LINEAGE) : entries;
}

/** A working copy of the part of the graph a batch touches, and what changed in it. */
export class GraphWork {
  private readonly nodeCluster: Map<IdentityKey, string>;
  private readonly clusters: Map<string, Cluster>;
  readonly changes: GraphChanges = { upserts: new Map(), deletes: new Set(), nodes: new Map(), merges: 0, conflicts: 0 };
  /** Edges whose merges and conflicts are counted; all when undefined. */
  countOnly: ReadonlySet<string> | undefined;

  constructor(
    private readonly rules: IdentityRules,
    loaded: { nodeCluster: ReadonlyMap<IdentityKey, string>; clusters: ReadonlyMap<string, Cluster> },
  ) {
    this.nodeCluster = new Map(loaded.nodeCluster);
    this.clusters = new Map([...loaded.clusters].map(([id, c]) => [id, structuredClone(c)]));
  }

  clusterOf(node: IdentityKey): Cluster | undefined {
    const id = this.nodeCluster.get(node);
    return id === undefined ? undefined : this.clusters.get(id);
  }

  /** An edge is late when a newer edge already shaped one of the clusters it touches. */
  isLate(edge: Stamp & { nodes: readonly IdentityKey[] }): boolean {
    for (const n of edge.nodes) {
      const c = this.clusterOf(n);
      if (c && !stampAfter(edge, c.last)) return true;
    }
    return false;
  }

  /** Makes sure a node exists (a profile of its own when new). */
  ensureNode(node: IdentityKey): void {
    if (this.nodeCluster.has(node)) return;
    this.created.add(canonicalProfileId(node));
    this.put({ id: canonicalProfileId(node), members: [node], last: NEVER, edges: [], lineage: [] }, [node]);
  }

  /**
   * Applies one edge, in stamp order relative to every edge already applied to its clusters.
   * Every node is treated as a profile of its own until an edge joins it, so the outcome
   * (and the lineage) is the same whether a node was seen before the edge or with it.
   */
  apply(edge: Hyperedge): void {
    for (const n of edge.nodes) this.ensureNode(n);
    const joined: Cluster[] = [];
    const counts = new Map<string, number>();
    const kept: IdentityKey[] = [];
    const dropped: { key: IdentityKey; cluster: Cluster; rule: string }[] = [];
    for (const node of edge.nodes) {
      const c = this.clusterOf(node)!;
      if (joined.includes(c)) {
        kept.push(node);
        continue;
      }
      const adding = new Map<string, number>();
      for (const m of c.members) adding.set(typeOf(m), (adding.get(typeOf(m)) ?? 0) + 1);
      let refused: string | undefined;
      for (const [type, n] of adding) {
        const limit = this.rules.limitOf(type);
        if ((counts.get(type) ?? 0) + n > limit) {
          refused = `at most ${limit} ${type} per profile`;
          break;
        }
      }
      if (refused) {
        dropped.push({ key: node, cluster: c, rule: refused });
        continue;
      }
      for (const [type, n] of adding) counts.set(type, (counts.get(type) ?? 0) + n);
      kept.push(node);
      joined.push(c);
    }

    const at = edge.t;
    const messageId = edge.m;
    const members: IdentityKey[] = [];
    const lineage: LineageEntry[] = [];
    const edges = new Set<string>([edge.key]);
    let last: Stamp = { t: edge.t, m: edge.m };
    for (const c of joined) {
      members.push(...c.members);
      lineage.push(...c.lineage);
      for (const k of c.edges) edges.add(k);
      if (stampAfter(c.last, last)) last = c.last;
    }
    members.sort(this.rules.compare);
    const id = canonicalProfileId(members[0]!);
    if (this.countOnly === undefined || this.countOnly.has(edge.key)) {
      if (joined.length > 1) this.changes.merges++;
      if (dropped.length) this.changes.conflicts++;
    }
    if (joined.length > 1) lineage.push({ kind: 'merge', at, messageId, identities: kept, profiles: joined.map((c) => c.id).filter((x) => x !== id) });
    if (dropped.length) {
      lineage.push({ kind: 'conflict', at, messageId, identities: kept, dropped: dropped.map((d) => ({ key: d.key, profile: d.cluster.id, rule: d.rule })) });
    }
    for (const c of joined) if (c.id !== id) this.remove(c.id);
    const merged: Cluster = { id, members, last, edges: [...edges], lineage: sortLineage(lineage) };
    const same = joined.find((c) => c.id === id);
    this.put(merged, same ? members.filter((m) => !same.members.includes(m)) : members);

    // The profiles an edge was refused from still saw it: an older edge arriving now is late for them too.
    for (const d of dropped) {
      const other = this.clusterOf(d.key);
      if (!other || other.id === id) continue;
      if (stampAfter(edge, other.last)) other.last = { t: edge.t, m: edge.m };
      if (!other.edges.includes(edge.key)) other.edges.push(edge.key);
      other.lineage = sortLineage([...other.lineage, { kind: 'conflict', at, messageId, identities: kept, dropped: [{ key: d.key, profile: other.id, rule: d.rule }] }]);
      this.touch(other);
    }
  }

  private put(c: Cluster, repoint: readonly IdentityKey[]): void {
    this.clusters.set(c.id, c);
    this.touch(c);
    for (const n of repoint) {
      if (this.nodeCluster.get(n) === c.id) continue;
      this.nodeCluster.set(n, c.id);
      this.changes.nodes.set(n, c.id);
    }
  }

  private touch(c: Cluster): void {
    this.changes.deletes.delete(c.id);
    this.changes.upserts.set(c.id, c);
  }

  /** Clusters made in this working copy: never stored, so removing one deletes nothing. */
  private readonly created = new Set<string>();

  private remove(id: string): void {
    this.clusters.delete(id);
    this.changes.upserts.delete(id);
    if (!this.created.has(id)) this.changes.deletes.add(id);
  }
}

/**
 * Rebuilds one connected component from scratch: every node a profile of its own, then every
 * edge in stamp order. `oldClusters` are the component's clusters as stored (deleted or
 * replaced), `edges` every edge that mentions any of their nodes, old and new.
 */
export function recluster(
  rules: IdentityRules,
  oldClusters: Iterable<Cluster>,
  edges: Iterable<Hyperedge>,
  extraNodes: Iterable<IdentityKey> = [],
  countOnly?: ReadonlySet<string>,
): GraphChanges {
  const before = new Map<IdentityKey, string>();
  const oldIds = new Set<string>();
  for (const c of oldClusters) {
    oldIds.add(c.id);
    for (const m of c.members) before.set(m, c.id);
  }
  const work = new GraphWork(rules, { nodeCluster: new Map(), clusters: new Map() });
  work.countOnly = countOnly;
  const nodes = new Set<IdentityKey>([...before.keys(), ...extraNodes]);
  const sorted = [...edges].sort(byStamp);
  for (const e of sorted) for (const n of e.nodes) nodes.add(n);
  for (const n of [...nodes].sort(rules.compare)) work.ensureNode(n);
  for (const e of sorted) work.apply(e);

  const changes: GraphChanges = { ...work.changes, deletes: new Set(), nodes: new Map() };
  for (const id of oldIds) if (!changes.upserts.has(id)) changes.deletes.add(id);
  for (const c of changes.upserts.values()) for (const m of c.members) if (before.get(m) !== c.id) changes.nodes.set(m, c.id);
  return changes;
}
