/**
 * MinHash signatures and locality-sensitive hashing (banding), for near-duplicate profiles: two
 * sets with Jaccard similarity s share a band with probability 1 − (1 − s^rows)^bands, so pairs
 * above a threshold become candidates without comparing every pair. Pure and deterministic.
 */

/** FNV-1a, 32 bits: the shingle's base hash (and the hashing vectorizer's, and bucketing's). */
export function fnv1a(s: string): number {
  let h = 0x811c9dc5;
  for (let i = 0; i < s.length; i++) {
    h ^= s.charCodeAt(i);
    h = Math.imul(h, 0x01000193);
  }
  return h >>> 0;
}

/** A small seeded PRNG (mulberry32): the permutations' coefficients, and reproducible test data. */
export function mulberry32(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

export class MinHasher {
  private readonly a: Uint32Array;
  private readonly b: Uint32Array;

  constructor(
    readonly bands = 32,
    readonly rows = 4,
    seed = 42,
  ) {
    const k = bands * rows;
    const rand = mulberry32(seed);
    this.a = Uint32Array.from({ length: k }, () => (Math.floor(rand() * 0xffffffff) | 1) >>> 0);
    this.b = Uint32Array.from({ length: k }, () => Math.floor(rand() * 0xffffffff) >>> 0);
  }

  /** k = bands × rows minima of (a·h + b) mod 2³² over the tokens' hashes (empty set: all 0xffffffff). */
  signature(tokens: Iterable<string>): Uint32Array {
    const k = this.a.length;
    const sig = new Uint32Array(k).fill(0xffffffff);
    for (const t of tokens) {
      const h = fnv1a(t);
      for (let i = 0; i < k; i++) {
        // Multiply-add in 32 bits, then a xorshift so the low bits mix too.
        // (^ yields a signed int: every step ends in >>> 0 so minima compare as unsigned.)
        let x = (Math.imul(this.a[i]!, h) + this.b[i]!) >>> 0;
        x = (x ^ (x >>> 16)) >>> 0;
        x = Math.imul(x, 0x45d9f3b) >>> 0;
        x = (x ^ (x >>> 16)) >>> 0;
        if (x < sig[i]!) sig[i] = x;
      }
    }
    return sig;
  }

  /** Pairs (i < j) of signatures that agree on every row of at least one band. */
  candidates(signatures: readonly Uint32Array[]): [number, number][] {
    const pairs = new Set<number>();
    const out: [number, number][] = [];
    const n = signatures.length;
    for (let band = 0; band < this.bands; band++) {
      const buckets = new Map<string, number[]>();
      for (let i = 0; i < n; i++) {
        const sig = signatures[i]!;
        if (sig[0] === 0xffffffff) continue; // no tokens: nothing to match on
        let key = '';
        for (let r = 0; r < this.rows; r++) key += sig[band * this.rows + r]!.toString(36) + '.';
        const bucket = buckets.get(key);
        if (bucket) bucket.push(i);
        else buckets.set(key, [i]);
      }
      for (const bucket of buckets.values()) {
        if (bucket.length < 2) continue;
        for (let x = 0; x < bucket.length; x++) {
          for (let y = x + 1; y < bucket.length; y++) {
            const id = bucket[x]! * n + bucket[y]!;
            if (pairs.has(id)) continue;
            pairs.add(id);
            out.push([bucket[x]!, bucket[y]!]);
          }
        }
      }
    }
    return out;
  }
}

/** The share of signature positions that agree: an unbiased estimate of the sets' Jaccard similarity. */
export function estimatedJaccard(a: Uint32Array, b: Uint32Array): number {
  let same = 0;
  for (let i = 0; i < a.length; i++) if (a[i] === b[i]) same++;
  return same / a.length;
}

export function jaccard(a: ReadonlySet<string>, b: ReadonlySet<string>): number {
  if (!a.size && !b.size) return 0;
  let inter = 0;
  for (const x of a) if (b.has(x)) inter++;
  return inter / (a.size + b.size - inter);
}

/** Lower case, accents removed, anything but letters and digits as one space. */
export function normalizeText(s: string): string {
  return s
    .normalize('NFKD')
    .replace(/[\u0300-\u036f]/g, '')
    .toLowerCase()
    .replace(/[^a-z0-9]+/g, ' ')
    .trim();
}

/** Character n-grams of a normalized text, padded so short words still make some. */
export function charGrams(text: string, n = 3): string[] {
  const t = `#${text}#`;
  const out: string[] = [];
  for (let i = 0; i + n <= t.length; i++) out.push(t.slice(i, i + n));
  return out;
}

/** Copies of an email or phone token in a profile's set. */
const STRONG_WEIGHT = 4;

/** Lower case, without a +tag: the same mailbox. */
export function normalizeEmail(e: string): string {
  const email = e.trim().toLowerCase();
  const at = email.indexOf('@');
  return at > 0 ? email.slice(0, at).replace(/\+.*$/, '') + email.slice(at) : email;
}

/** Common address words, abbreviated the way people write them. */
const ADDRESS_WORDS: Record<string, string> = { street: 'st', road: 'rd', avenue: 'ave', boulevard: 'blvd', drive: 'dr', lane: 'ln', place: 'pl', square: 'sq', court: 'ct', apartment: 'apt', suite: 'ste', rue: 'r' };

/** What identifies a person, from a profile's traits and identities. */
export interface IdentifyingFields {
  name?: string;
  /** Raw or pseudonymized; the same person's values compare equal after normalization. */
  emails?: readonly string[];
  phones?: readonly string[];
  address?: string;
  postalCode?: string;
}

/**
 * The tokens MinHash compares: name trigrams (typos and swapped order move few of them), each
 * email's local-part trigrams and the whole email, the phone's last 9 digits, address words
 * (abbreviated alike) and the postal code. Prefixes keep a name gram from matching an address one.
 */
export function identifyingTokens(f: IdentifyingFields): Set<string> {
  const out = new Set<string>();
  if (f.name) {
    const words = normalizeText(f.name).split(' ').filter(Boolean).sort();
    for (const w of words) for (const g of charGrams(w)) out.add(`n:${g}`);
  }
  for (const e of f.emails ?? []) {
    const email = normalizeEmail(e);
    // A shared email or phone is strong evidence: repeated, so it weighs in the Jaccard like several grams.
    for (let k = 0; k < STRONG_WEIGHT; k++) out.add(`e${k}:${email}`);
    const local = email.includes('@') ? email.slice(0, email.indexOf('@')).replace(/\+.*$/, '') : '';
    for (const g of local ? charGrams(normalizeText(local).replace(/ /g, '')) : []) out.add(`el:${g}`);
  }
  for (const p of f.phones ?? []) {
    const digits = p.replace(/\D/g, '');
    const phone = digits.length >= 9 ? digits.slice(-9) : p.trim().toLowerCase();
    for (let k = 0; k < STRONG_WEIGHT; k++) out.add(`p${k}:${phone}`);
  }
  if (f.address) for (const w of normalizeText(f.address).split(' ').filter(Boolean)) out.add(`a:${ADDRESS_WORDS[w] ?? w}`);
  if (f.postalCode) out.add(`z:${normalizeText(f.postalCode).replace(/ /g, '')}`);
  return out;
}
