/**
 * The paced generator in a process of its own: `node paced-load-child.js '<json>'` prints the
 * PacedResult as one JSON line. The bench process holds the generated shop and the other
 * phases' garbage; its scavenges (about 10 ms, several a second while it sends) were counted in
 * the latencies of the requests whose answers arrived meanwhile. A process that only sends has
 * a young generation of its own and sub-millisecond scavenges.
 */
import { pacedLoad } from './paced-load.js';

export interface ChildLoad {
  url: string;
  rate: number;
  seconds: number;
  warmupSeconds?: number;
  headers: Record<string, string>;
  path: string;
  /** Decision requests: four in five for one of `users` known people, one for a new visitor. */
  decide: { users: number; placement: string };
}

/** The decide bench's request bodies, numbered from 0. */
export function decideBodies(users: number, placement: string): () => string {
  let i = 0;
  return () => {
    const n = i++;
    return JSON.stringify(n % 5 === 4 ? { anonymousId: `visitor-${n}`, placement } : { userId: `user-${(n * 7919) % users}`, placement });
  };
}

if (process.argv[1]?.endsWith('paced-load-child.js')) {
  const o = JSON.parse(process.argv[2]!) as ChildLoad;
  const result = await pacedLoad({ url: o.url, method: 'POST', path: () => o.path, body: decideBodies(o.decide.users, o.decide.placement), headers: o.headers, rate: o.rate, seconds: o.seconds, ...(o.warmupSeconds ? { warmupSeconds: o.warmupSeconds } : {}) });
  process.stdout.write(JSON.stringify(result) + '\n');
}
