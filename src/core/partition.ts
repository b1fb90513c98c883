/** FNV-1a, 32 bit: cheap, stable across processes and versions (partition numbers are persisted). */
export function fnv1a(s: string): number {
  let h = 0x811c9dc5;
  for (let i = 0; i < s.length; i++) {
    h ^= s.charCodeAt(i);
    h = Math.imul(h, 0x01000193);
  }
  return h >>> 0;
}

/**
 * Events of one identity land in one partition, so they stay ordered for one consumer.
 * userId first: server-side events of identified users rarely carry an anonymousId.
 */
export function partitionOf(identity: string, partitions: number): number {
  return fnv1a(identity) % partitions;
}
