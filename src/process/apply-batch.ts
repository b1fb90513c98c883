import type { Envelope } from '../core/envelope.js';
import type { IdentityKey, IdentityRules } from '../core/identity.js';
import type { Cluster, Hyperedge } from '../core/identity-graph.js';
import type { ProfileModel } from '../core/profile.js';
import { applyToParts, identifyBatch, newEdges, resolveComponent, resolveInOrder } from '../core/resolve-batch.js';
import type { ProfileStore } from '../ports/profile-store.js';

export interface BatchOutcome {
  merges: number;
  conflicts: number;
  /** A late edge made a connected component be rebuilt from its stored edges. */
  reclustered: boolean;
}

/**
 * Resolves a batch's identities, folds each event into its anchor's part, and commits both
 * with the offsets consumed, in one transaction. A late edge (older than edges already applied
 * to the profiles it touches) makes the whole connected component be reclustered.
 */
export async function applyBatch(
  store: ProfileStore,
  events: readonly Envelope[],
  offsets: ReadonlyMap<number, number>,
  rules: IdentityRules,
  model?: ProfileModel,
): Promise<BatchOutcome> {
  const input = identifyBatch(events, rules);
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
  if (!graph) {
    const component = await loadComponent(store, nodes);
    graph = resolveComponent(rules, input, component.clusters, component.edges, edges);
  }
  const parts = await store.getParts([...input.anchors]);
  const changedParts = applyToParts(input, parts, model);
  await store.commit({
    clusters: graph.upserts.values(),
    deleteClusters: graph.deletes,
    nodes: graph.nodes,
    edges,
    parts: changedParts.values(),
    offsets,
  });
  return { merges: graph.merges, conflicts: graph.conflicts, reclustered };
}

/** Every cluster and edge connected to `seeds`, ignoring merge limits: what a recluster must see. */
async function loadComponent(store: ProfileStore, seeds: readonly IdentityKey[]): Promise<{ clusters: Cluster[]; edges: Hyperedge[] }> {
  const seen = new Set<IdentityKey>(seeds);
  const clusters = new Map<string, Cluster>();
  const edges = new Map<string, Hyperedge>();
  let frontier = [...seeds];
  while (frontier.length) {
    const next: IdentityKey[] = [];
    const ids = [...new Set((await store.nodeClusters(frontier)).values())].filter((id) => !clusters.has(id));
    for (const c of (await store.getClusters(ids)).values()) {
      clusters.set(c.id, c);
      for (const m of c.members) {
        if (seen.has(m)) continue;
        seen.add(m);
        next.push(m);
      }
    }
    for (const e of await store.edgesTouching(frontier)) {
      if (edges.has(e.key)) continue;
      edges.set(e.key, e);
      for (const n of e.nodes) {
        if (seen.has(n)) continue;
        seen.add(n);
        next.push(n);
      }
    }
    frontier = next;
  }
  return { clusters: [...clusters.values()], edges: [...edges.values()] };
}
