import type { Envelope } from '../core/envelope.js';
import { charGrams, identifyingTokens, jaccard, MinHasher, normalizeEmail, normalizeText, type IdentifyingFields } from '../core/minhash.js';
import { BATCH_SOURCE_ID } from '../core/profile.js';
import { Warehouse, type QueryResult } from '../lake/warehouse.js';

/**
 * Near-duplicate profiles: MinHash signatures over identifying traits, LSH banding for
 * candidates, then the exact Jaccard similarity of each candidate's tokens as its score.
 */

export interface ProfileIdentity {
  profileId: string;
  fields: IdentifyingFields;
  /** The profile's user and anonymous ids (what a merge can link). */
  userIds: string[];
  anonymousIds: string[];
}

export interface DuplicatePair {
  a: string;
  b: string;
  /** 0..1: the weighted similarity of their identifying fields (see pairScore). */
  score: number;
  /** The fields that agree (similarity ≥ 0.5): name, email, phone, address, postal code. */
  shared: string[];
}

export interface DuplicateOptions {
  threshold: number;
  bands: number;
  rows: number;
  /** A token in more profiles than this (or 0.2% of them) is left out of the signatures. */
  maxShared?: number;
}

/** How much each field counts in a pair's score: what identifies a person more weighs more. */
const WEIGHTS = { name: 3, email: 3, phone: 3, address: 2, postalCode: 1 } as const;

const grams = (text: string) => new Set(normalizeText(text).split(' ').filter(Boolean).sort().flatMap((w) => charGrams(w)));

/**
 * A pair's score: the weighted mean of per-field similarities over the fields both have (a
 * missing phone is not a mismatch): names by trigram Jaccard, emails 1 when the same mailbox
 * else 0.8 × the local parts' trigram Jaccard, phones 1 or 0, addresses by word Jaccard, postal
 * codes 1 or 0. Two people who only share a name score about a third.
 */
export function pairScore(a: IdentifyingFields, b: IdentifyingFields): { score: number; shared: string[] } {
  let sum = 0;
  let weight = 0;
  const shared: string[] = [];
  const field = (name: keyof typeof WEIGHTS, sim: number | undefined) => {
    if (sim === undefined) return;
    sum += WEIGHTS[name] * sim;
    weight += WEIGHTS[name];
    if (sim >= 0.5) shared.push(name === 'postalCode' ? 'postal code' : name);
  };
  field('name', a.name && b.name ? jaccard(grams(a.name), grams(b.name)) : undefined);
  if (a.emails?.length && b.emails?.length) {
    let best = 0;
    for (const x of a.emails) {
      for (const y of b.emails) {
        const [ex, ey] = [normalizeEmail(x), normalizeEmail(y)];
        best = Math.max(best, ex === ey ? 1 : 0.8 * jaccard(grams(ex.split('@')[0]!.replace(/[._-]/g, '')), grams(ey.split('@')[0]!.replace(/[._-]/g, ''))));
      }
    }
    field('email', best);
  }
  const digits = (p: string) => p.replace(/\D/g, '').slice(-9);
  field('phone', a.phones?.length && b.phones?.length ? (a.phones.some((x) => b.phones!.some((y) => digits(x) === digits(y))) ? 1 : 0) : undefined);
  field('address', a.address && b.address ? jaccard(identifyingTokens({ address: a.address }), identifyingTokens({ address: b.address })) : undefined);
  field('postalCode', a.postalCode && b.postalCode ? (normalizeText(a.postalCode) === normalizeText(b.postalCode) ? 1 : 0) : undefined);
  return { score: weight ? sum / weight : 0, shared };
}

/**
 * Candidates come from three passes, as entity resolution blocks records: MinHash LSH over all
 * identifying tokens, MinHash LSH over the name's trigrams alone (a typo'd name with a new email
 * and address still meets its twin), and exact blocking on a shared email or phone. Each
 * candidate is then scored (pairScore); those at or above the threshold are reported.
 */
export function findDuplicates(profiles: readonly ProfileIdentity[], opts: DuplicateOptions): { pairs: DuplicatePair[]; candidates: number } {
  const hasher = new MinHasher(opts.bands, opts.rows);
  const tokens = profiles.map((p) => identifyingTokens(p.fields));
  // Tokens many profiles share (a big city, "st") say little and would make every pair a
  // candidate: like stop words, they are left out of the signatures.
  const df = new Map<string, number>();
  for (const t of tokens) for (const x of t) df.set(x, (df.get(x) ?? 0) + 1);
  const common = Math.max(opts.maxShared ?? 50, Math.ceil(profiles.length * 0.01));
  const seen = new Set<string>();
  const candidates: [number, number][] = [];
  const add = (pairs: Iterable<[number, number]>) => {
    for (const [i, j] of pairs) {
      const key = `${i},${j}`;
      if (seen.has(key)) continue;
      seen.add(key);
      candidates.push([i, j]);
    }
  };
  add(hasher.candidates(tokens.map((t) => hasher.signature([...t].filter((x) => df.get(x)! <= common)))));
  const names = new MinHasher(NAME_BANDS, NAME_ROWS, 7);
  add(
    names.candidates(
      tokens.map((t) => {
        const grams = [...t].filter((x) => x.startsWith('n:') && df.get(x)! <= common);
        // A name left with a gram or two would share its whole signature with every name holding them.
        return names.signature(grams.length >= MIN_NAME_GRAMS ? grams : []);
      }),
    ),
  );
  // Exact blocking: profiles sharing an email or phone token (skipping values shared by very many).
  const byStrong = new Map<string, number[]>();
  tokens.forEach((t, i) => {
    for (const x of t) if ((x.startsWith('e0:') || x.startsWith('p0:')) && df.get(x)! <= common) byStrong.set(x, [...(byStrong.get(x) ?? []), i]);
  });
  for (const ids of byStrong.values()) for (let x = 0; x < ids.length; x++) for (let y = x + 1; y < ids.length; y++) add([[ids[x]!, ids[y]!]]);

  const pairs: DuplicatePair[] = [];
  for (const [i, j] of candidates) {
    const { score, shared } = pairScore(profiles[i]!.fields, profiles[j]!.fields);
    if (score < opts.threshold) continue;
    const [a, b] = [profiles[i]!.profileId, profiles[j]!.profileId].sort() as [string, string];
    pairs.push({ a, b, score: Math.round(score * 1000) / 1000, shared });
  }
  pairs.sort((x, y) => y.score - x.score || x.a.localeCompare(y.a) || x.b.localeCompare(y.b));
  return { pairs, candidates: candidates.length };
}

/** The name pass: names are short sets, so fewer rows per band. */
const NAME_BANDS = 10;
const NAME_ROWS = 5;
const MIN_NAME_GRAMS = 3;

const str = (v: unknown) => (typeof v === 'string' && v.trim() ? v : typeof v === 'number' ? String(v) : undefined);

/** Name, email, phone and address as Segment's spec names them (and snake_case). */
export function fieldsFromTraits(traits: Record<string, unknown>, emails: readonly string[] = [], phones: readonly string[] = []): IdentifyingFields {
  const first = str(traits.firstName) ?? str(traits.first_name);
  const last = str(traits.lastName) ?? str(traits.last_name);
  const name = str(traits.name) ?? ([first, last].filter(Boolean).join(' ') || undefined);
  const addr = traits.address;
  let address: string | undefined;
  let postalCode: string | undefined;
  if (addr && typeof addr === 'object') {
    const a = addr as Record<string, unknown>;
    address = [str(a.street), str(a.city)].filter(Boolean).join(' ') || undefined;
    postalCode = str(a.postalCode) ?? str(a.postal_code);
  } else address = str(addr);
  postalCode ??= str(traits.postalCode) ?? str(traits.postal_code);
  const email = str(traits.email);
  const phone = str(traits.phone);
  return {
    ...(name ? { name } : {}),
    emails: [...new Set([...(email ? [email] : []), ...emails])],
    phones: [...new Set([...(phone ? [phone] : []), ...phones])],
    ...(address ? { address } : {}),
    ...(postalCode ? { postalCode } : {}),
  };
}

/** Every profile of the snapshot with its identifying traits and ids (pseudonymized email/phone identities included). */
export async function loadProfileIdentities(query: (sql: string) => Promise<QueryResult>): Promise<ProfileIdentity[]> {
  const { rows } = await query(`SELECT p.profile_id, p.traits,
      list(i.id) FILTER (WHERE i.type = 'user_id'), list(i.id) FILTER (WHERE i.type = 'anonymous_id'),
      list(i.id) FILTER (WHERE i.type = 'email'), list(i.id) FILTER (WHERE i.type = 'phone')
    FROM profiles p LEFT JOIN identities i USING (profile_id) GROUP BY ALL ORDER BY p.profile_id`);
  return rows.map(([id, traits, users, anons, emails, phones]) => ({
    profileId: String(id),
    // Identity ids of email/phone are pseudonymized tokens: equal for the same value, so they compare as whole emails.
    fields: fieldsFromTraits((typeof traits === 'string' ? JSON.parse(traits) : (traits ?? {})) as Record<string, unknown>, (emails as string[] | null) ?? [], (phones as string[] | null) ?? []),
    userIds: (users as string[] | null) ?? [],
    anonymousIds: (anons as string[] | null) ?? [],
  }));
}

/**
 * The events that ask identity resolution to merge pairs scoring at least `threshold`: an
 * identify from `mosaic:batch` (not counted as the person's event) carrying one profile's
 * user_id and the other's anonymous_id. The identity rules still decide: two user_ids where
 * the limit is one stay apart, and the conflict is recorded like any other. Pairs with no such
 * link are returned as skipped, with why.
 */
export function mergeEvents(pairs: readonly DuplicatePair[], profiles: ReadonlyMap<string, ProfileIdentity>, threshold: number, now = Date.now()): { events: string[]; skipped: { pair: DuplicatePair; reason: string }[] } {
  const at = new Date(now).toISOString();
  const events: string[] = [];
  const skipped: { pair: DuplicatePair; reason: string }[] = [];
  for (const pair of pairs) {
    if (pair.score < threshold) continue;
    const [a, b] = [profiles.get(pair.a)!, profiles.get(pair.b)!];
    if (a.userIds.length && b.userIds.length) {
      skipped.push({ pair, reason: 'both have a user_id: merging them is up to the user_id limit, not to a similarity' });
      continue;
    }
    const link = a.userIds[0] && b.anonymousIds[0] ? { userId: a.userIds[0], anonymousId: b.anonymousIds[0] } : b.userIds[0] && a.anonymousIds[0] ? { userId: b.userIds[0], anonymousId: a.anonymousIds[0] } : undefined;
    if (!link) {
      skipped.push({ pair, reason: 'no user_id on one side and anonymous_id on the other to link' });
      continue;
    }
    const e: Envelope = { type: 'identify', messageId: `dedup-${pair.a}-${pair.b}`, ...link, timestamp: at, receivedAt: at, sourceId: BATCH_SOURCE_ID, traits: {}, context: { dedup: { score: pair.score, shared: pair.shared } } };
    events.push(JSON.stringify(e));
  }
  return { events, skipped };
}

/** Candidate pairs over the lake's profile snapshot. */
export async function duplicatesInLake(lakeDir: string, opts: DuplicateOptions): Promise<{ pairs: DuplicatePair[]; candidates: number; profiles: ProfileIdentity[] }> {
  const w = await Warehouse.open(lakeDir);
  try {
    const profiles = await loadProfileIdentities((sql) => w.query(sql));
    return { ...findDuplicates(profiles, opts), profiles };
  } finally {
    w.close();
  }
}
