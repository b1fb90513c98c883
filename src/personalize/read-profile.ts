import type { IdentityKey } from '../core/identity.js';
import type { Cluster } from '../core/identity-graph.js';
import { assembleProfile, type ProfileDoc, type ProfileModel } from '../core/profile.js';
import type { ProfileStore } from '../ports/profile-store.js';

/**
 * The profile holding an identity, assembled, with its audiences: in one round trip where the
 * store offers it (readProfile), else cluster, parts and memberships read one by one.
 */
export async function readAssembled(store: ProfileStore, key: IdentityKey, model: ProfileModel): Promise<{ doc: ProfileDoc; audiences: string[] } | undefined> {
  const found = await readParts(store, key);
  return found && { doc: assembleProfile(found.cluster, found.parts, model), audiences: found.audiences };
}

/** The cluster holding an identity, its parts in id order (what is assembled from them does not depend on the order the store returned them in) and its audiences. */
export async function readParts(store: ProfileStore, key: IdentityKey): Promise<{ cluster: Cluster; parts: ProfileDoc[]; audiences: string[] } | undefined> {
  const found = store.readProfile
    ? await store.readProfile(key)
    : await (async () => {
        const cluster = await store.findCluster(key);
        if (!cluster) return undefined;
        const parts = [...(await store.getParts(cluster.members)).values()];
        return { cluster, parts, audiences: [...((await store.memberships([cluster.id])).get(cluster.id) ?? [])] };
      })();
  if (!found) return undefined;
  found.parts.sort((a, b) => (a.id < b.id ? -1 : 1));
  return found;
}
