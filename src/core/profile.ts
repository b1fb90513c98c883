import { applyComputed, computedValues, mergeComputed, type CompiledTrait, type TraitState } from './computed-traits.js';
import type { Envelope } from './envelope.js';
import { applySession, emptySessions, mergeSessions, summarizeSessions, type SessionConfig, type SessionsState, type SessionsSummary } from './sessions.js';

/** What the reducer computes beyond identities, traits and counts; from the configuration. */
export interface ProfileModel {
  computedTraits?: readonly CompiledTrait[];
  sessions?: SessionConfig;
}
import { ALIAS, canonicalProfileId, compareIdentityKeys, eventIdentities, splitKey, type IdentityKey } from './identity.js';

/** A trait value with what decides last-write-wins: event time, then messageId. */
export interface TraitEntry {
  v: unknown;
  /** Event time (ms since epoch) of the event that set it. */
  t: number;
  /** That event's messageId, the deterministic tie-break. */
  m: string;
}

/** The stored profile. Every field is an order-independent aggregate of its events. */
export interface ProfileDoc {
  id: string;
  /** Sorted identity keys, alias nodes included. */
  identities: IdentityKey[];
  traits: Record<string, TraitEntry>;
  firstSeen: number;
  lastSeen: number;
  eventCount: number;
  /** Track events by event name. */
  eventCounts: Record<string, number>;
  /** Events by message type. */
  typeCounts: Record<string, number>;
  /** Computed traits' states, by trait name (absent when none is configured); opaque outside computed-traits.ts. */
  computed?: Record<string, TraitState>;
  /** Sessions by event time (absent when sessions are not configured). */
  sessions?: SessionsState;
}

/** What the profile API returns. */
export interface PublicProfile {
  id: string;
  identities: { type: string; id: string }[];
  traits: Record<string, unknown>;
  firstSeen: string;
  lastSeen: string;
  eventCount: number;
  eventCounts: Record<string, number>;
  typeCounts: Record<string, number>;
  computedTraits: Record<string, unknown>;
  sessions: SessionsSummary;
}

export function toPublicProfile(doc: ProfileDoc, model: ProfileModel = {}, now = Date.now()): PublicProfile {
  const traits: Record<string, unknown> = {};
  for (const k of Object.keys(doc.traits).sort()) traits[k] = doc.traits[k]!.v;
  return {
    id: doc.id,
    identities: doc.identities.map(splitKey).filter((i) => i.type !== ALIAS),
    traits,
    firstSeen: new Date(doc.firstSeen).toISOString(),
    lastSeen: new Date(doc.lastSeen).toISOString(),
    eventCount: doc.eventCount,
    eventCounts: doc.eventCounts,
    typeCounts: doc.typeCounts,
    computedTraits: computedValues(doc.computed, model.computedTraits ?? [], now),
    sessions: summarizeSessions(doc.sessions),
  };
}

function wins(a: TraitEntry, b: TraitEntry | undefined): boolean {
  return b === undefined || a.t > b.t || (a.t === b.t && a.m >= b.m);
}

function setTraits(doc: ProfileDoc, traits: unknown, t: number, m: string): void {
  if (!traits || typeof traits !== 'object' || Array.isArray(traits)) return;
  for (const [k, v] of Object.entries(traits)) {
    const entry = { v, t, m };
    if (wins(entry, doc.traits[k])) doc.traits[k] = entry;
  }
}

function addCounts(into: Record<string, number>, from: Record<string, number>): void {
  for (const [k, n] of Object.entries(from)) into[k] = (into[k] ?? 0) + n;
}

function insertSorted(keys: IdentityKey[], key: IdentityKey): boolean {
  let lo = 0;
  let hi = keys.length;
  while (lo < hi) {
    const mid = (lo + hi) >>> 1;
    const c = compareIdentityKeys(keys[mid]!, key);
    if (c === 0) return false;
    if (c < 0) lo = mid + 1;
    else hi = mid;
  }
  keys.splice(lo, 0, key);
  return true;
}

export function emptyProfile(): ProfileDoc {
  return { id: '', identities: [], traits: {}, firstSeen: Infinity, lastSeen: -Infinity, eventCount: 0, eventCounts: {}, typeCounts: {} };
}

/** Folds one event into a profile (in place). Commutative with every other event. */
export function applyEvent(doc: ProfileDoc, e: Envelope, model: ProfileModel = {}): void {
  const t = Date.parse(e.timestamp);
  doc.eventCount += 1;
  doc.typeCounts[e.type] = (doc.typeCounts[e.type] ?? 0) + 1;
  if (e.type === 'track' && e.event) doc.eventCounts[e.event] = (doc.eventCounts[e.event] ?? 0) + 1;
  if (t < doc.firstSeen) doc.firstSeen = t;
  if (t > doc.lastSeen) doc.lastSeen = t;
  // context.traits first: an identify's own traits win over the cached copy in its context.
  setTraits(doc, e.context?.traits, t, e.messageId);
  if (e.type === 'identify') setTraits(doc, e.traits, t, e.messageId);
  if (model.computedTraits?.length) applyComputed((doc.computed ??= {}), model.computedTraits, e, t);
  if (model.sessions) applySession((doc.sessions ??= emptySessions()), e, t, model.sessions);
}

/** Merges `b` into `a` (in place). Exact: every event lives in exactly one of them. */
export function mergeInto(a: ProfileDoc, b: ProfileDoc, model: ProfileModel = {}): void {
  for (const k of b.identities) insertSorted(a.identities, k);
  for (const [k, entry] of Object.entries(b.traits)) if (wins(entry, a.traits[k])) a.traits[k] = entry;
  a.firstSeen = Math.min(a.firstSeen, b.firstSeen);
  a.lastSeen = Math.max(a.lastSeen, b.lastSeen);
  a.eventCount += b.eventCount;
  addCounts(a.eventCounts, b.eventCounts);
  addCounts(a.typeCounts, b.typeCounts);
  if (b.computed) mergeComputed((a.computed ??= {}), b.computed, model.computedTraits ?? []);
  if (b.sessions && model.sessions) mergeSessions((a.sessions ??= emptySessions()), b.sessions, model.sessions);
}

/** Reads the current graph: which profile holds a key, and that profile's document. */
export interface GraphView {
  profileOf(key: IdentityKey): string | undefined;
  /** A document the reducer may mutate (a fresh copy, not one shared with a cache). */
  load(profileId: string): ProfileDoc | undefined;
}

export interface MergeRecord {
  into: string;
  from: string[];
  messageId: string;
}

export interface BatchChanges {
  upserts: Map<string, ProfileDoc>;
  deletes: Set<string>;
  /** identity key -> profile id, to write. */
  identities: Map<IdentityKey, string>;
  merges: MergeRecord[];
  /** profile id each event landed on, in input order. */
  landedOn: string[];
}

/**
 * Applies a batch of events to the identity graph and profiles, returning only what
 * changed. Pure: the caller loads what `view` needs and commits the result atomically,
 * together with the log offsets consumed.
 */
export function reduceBatch(events: readonly Envelope[], view: GraphView, model: ProfileModel = {}): BatchChanges {
  const keyOwner = new Map<IdentityKey, string | undefined>();
  const docs = new Map<string, ProfileDoc | undefined>();
  const changes: BatchChanges = { upserts: new Map(), deletes: new Set(), identities: new Map(), merges: [], landedOn: [] };

  const ownerOf = (k: IdentityKey) => {
    if (!keyOwner.has(k)) keyOwner.set(k, view.profileOf(k));
    return keyOwner.get(k);
  };
  const docOf = (id: string) => {
    if (!docs.has(id)) docs.set(id, view.load(id));
    return docs.get(id);
  };

  for (const e of events) {
    const { nodes, probes } = eventIdentities(e);
    const owners: string[] = [];
    for (const k of nodes) {
      const o = ownerOf(k);
      if (o !== undefined && !owners.includes(o)) owners.push(o);
    }
    for (const k of probes) {
      const o = ownerOf(k);
      if (o !== undefined && !owners.includes(o)) owners.push(o);
    }
    owners.sort();
    let doc: ProfileDoc;
    let firstBefore: IdentityKey | undefined;
    if (owners.length === 0) doc = emptyProfile();
    else {
      doc = docOf(owners[0]!) ?? emptyProfile();
      firstBefore = doc.identities[0];
      for (const o of owners.slice(1)) {
        const other = docOf(o);
        if (other) mergeInto(doc, other, model);
      }
    }
    let added = false;
    for (const k of nodes) if (insertSorted(doc.identities, k)) added = true;
    applyEvent(doc, e, model);

    const oldId = doc.id;
    // The id is a hash of the first identity: recompute only when that identity changed.
    const newId = oldId !== '' && doc.identities[0] === firstBefore ? oldId : canonicalProfileId(doc.identities);
    doc.id = newId;
    for (const o of owners) {
      if (o !== newId) {
        docs.set(o, undefined);
        changes.upserts.delete(o);
        changes.deletes.add(o);
      }
    }
    changes.deletes.delete(newId);
    docs.set(newId, doc);
    changes.upserts.set(newId, doc);
    if (owners.length > 1 || (oldId !== '' && oldId !== newId)) {
      changes.merges.push({ into: newId, from: owners.filter((o) => o !== newId), messageId: e.messageId });
    }
    // Re-point every identity when the profile was renamed or merged; else only new nodes.
    const repointAll = owners.length !== 1 || owners[0] !== newId;
    if (repointAll || added) {
      for (const k of repointAll ? doc.identities : nodes) {
        if (keyOwner.get(k) !== newId) {
          keyOwner.set(k, newId);
          changes.identities.set(k, newId);
        }
      }
    }
    changes.landedOn.push(newId);
  }
  return changes;
}
