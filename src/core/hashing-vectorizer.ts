import { fnv1a } from './minhash.js';

/**
 * Feature hashing ("the hashing trick") over words and word pairs: nothing to train or download,
 * the same text always gives the same vector, and similar texts share features. Term counts are
 * dampened (1 + ln tf), each feature gets a sign from its hash so collisions cancel out on
 * average, and vectors are L2-normalized so a dot product is the cosine.
 */

// The commonest English function words: they carry no topic.
const STOP = new Set(
  'a an and are as at be but by for from has have he her his i in is it its me my of on or our she so that the their them they this to was we were what when which who will with you your not no do does did just very can could would should am been than then there these those into out up about over more most some such only own same too also'.split(' '),
);

/** Lower-cased words of letters and digits (any script), stop words out. */
export function tokens(text: string): string[] {
  return (text.toLowerCase().match(/[\p{L}\p{N}]+/gu) ?? []).filter((t) => t.length > 1 && !STOP.has(t));
}

export function hashingVector(text: string, dimensions: number): Float32Array {
  const v = new Float32Array(dimensions);
  const words = tokens(text);
  const counts = new Map<string, number>();
  for (let i = 0; i < words.length; i++) {
    counts.set(words[i]!, (counts.get(words[i]!) ?? 0) + 1);
    // Pairs weigh half: "running shoes" says more than "running" and "shoes", but not twice as much.
    if (i + 1 < words.length) counts.set(`${words[i]} ${words[i + 1]}`, (counts.get(`${words[i]} ${words[i + 1]}`) ?? 0) + 0.5);
  }
  for (const [feature, tf] of counts) {
    const h = fnv1a(feature);
    v[h % dimensions]! += (h & 0x80000000 ? -1 : 1) * (1 + Math.log(tf));
  }
  return normalize(v);
}

export function normalize(v: Float32Array): Float32Array {
  let n = 0;
  for (const x of v) n += x * x;
  if (n === 0) return v;
  const k = 1 / Math.sqrt(n);
  for (let i = 0; i < v.length; i++) v[i]! *= k;
  return v;
}

export function cosine(a: ArrayLike<number>, b: ArrayLike<number>): number {
  let dot = 0;
  let na = 0;
  let nb = 0;
  for (let i = 0; i < a.length; i++) {
    dot += a[i]! * b[i]!;
    na += a[i]! * a[i]!;
    nb += b[i]! * b[i]!;
  }
  return na && nb ? dot / Math.sqrt(na * nb) : 0;
}
