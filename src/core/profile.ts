import { applyComputed, computedValues, computedValuesOf, mergeComputed, type CompiledTrait, type TraitState } from './computed-traits.js';
import type { AudienceView, CompiledAudience } from './audiences.js';
import { categoryPreferences } from './consent.js';
import type { Envelope } from './envelope.js';
import type { Enriched, EventEnricher } from './event-enricher.js';
import { applyText, mergeText, publicText, textSignalsOf, type PublicText, type TextState } from './text-state.js';
import { applySession, emptySessions, mergeSessions, summarizeSessions, type SessionConfig, type SessionsState, type SessionsSummary } from './sessions.js';

/** What the reducer computes beyond identities, traits and counts; from the configuration. */
export interface ProfileModel {
  /** Declared computed traits, then the hidden ones audiences' event conditions need. */
  computedTraits?: readonly CompiledTrait[];
  /**
   * Of those, the ones audience rules can read (declared and the audiences' hidden ones, not
   * personalization's recent items): what audienceView computes. Default: all of them.
   */
  ruleTraits?: readonly CompiledTrait[];
  sessions?: SessionConfig;
  audiences?: readonly CompiledAudience[];
  /** How many of each profile's most recent events to index (by event time), for GET …/events. */
  recentEvents?: number;
  /** Enrichment applied to each event before it is reduced (processor only). */
  enricher?: EventEnricher;
  /** What a purpose without any consent recorded counts as (default: granted). */
  consentDefault?: 'granted' | 'denied';
  /** Text signals (context.textSignals) fold into the profile, the embedding decaying with this half-life. */
  text?: { halfLifeMs: number };
}

/** A log reference by event time: [event time ms, partition, offset]. */
export type RecentRef = [number, number, number];

const newer = (a: RecentRef, b: RecentRef) => b[0] - a[0] || b[1] - a[1] || b[2] - a[2];

/** Keeps the `keep` newest refs (newest first): the same set whatever the order refs arrive in. */
export function noteRecent(doc: ProfileDoc, ref: RecentRef, keep: number): void {
  const list = (doc.recent ??= []);
  if (list.length >= keep && newer(ref, list[list.length - 1]!) > 0) return;
  let i = list.length;
  while (i > 0 && newer(ref, list[i - 1]!) < 0) i--;
  list.splice(i, 0, ref);
  if (list.length > keep) list.length = keep;
}
import { splitKey, type IdentityKey } from './identity.js';
import type { Cluster } from './identity-graph.js';

/** A trait value with what decides last-write-wins: event time, then messageId. */
export interface TraitEntry {
  v: unknown;
  /** Event time (ms since epoch) of the event that set it. */
  t: number;
  /** That event's messageId, the deterministic tie-break. */
  m: string;
}

/**
 * A profile's aggregates. Every field is an order-independent, mergeable aggregate of events.
 * Stored per anchor identity (each event's highest-priority identifier), so that when the
 * identity graph splits or joins profiles, the pieces are re-combined, never recomputed.
 */
export interface ProfileDoc {
  /** The profile id once assembled; the anchor identity in a stored part. */
  id: string;
  /** Identity keys in priority order, once assembled (empty in a stored part). */
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
  /** The newest events' places in the log, newest first (absent when not configured). */
  recent?: RecentRef[];
  /** Last known browser, OS, device and place, by event time (from enrichment). */
  enriched?: Record<string, TraitEntry>;
  /** Consent per purpose (true/false), the latest by event time: from context.consent.categoryPreferences. */
  consent?: Record<string, TraitEntry>;
  /** What the person wrote, as signals (sentiment, intents, a text embedding); never the text. */
  text?: TextState;
}

/** What the profile API returns. */
export interface PublicProfile {
  id: string;
  identities: { type: string; id: string }[];
  traits: Record<string, unknown>;
  firstSeen: string | null;
  lastSeen: string | null;
  eventCount: number;
  eventCounts: Record<string, number>;
  typeCounts: Record<string, number>;
  computedTraits: Record<string, unknown>;
  sessions: SessionsSummary;
  /** Last known browser, OS, device type and place (enrichment). */
  context: Record<string, unknown>;
  /** Consent per purpose as last given, with when (absent purposes: none recorded). */
  consent: Record<string, { granted: boolean; at: string }>;
  /** Signals from what the person wrote (absent: nothing written). */
  text?: PublicText;
}

export function toPublicProfile(doc: ProfileDoc, model: ProfileModel = {}, now = Date.now()): PublicProfile {
  const traits: Record<string, unknown> = {};
  for (const k of Object.keys(doc.traits).sort()) traits[k] = doc.traits[k]!.v;
  return {
    id: doc.id,
    identities: doc.identities.map(splitKey),
    traits,
    // A profile can hold identifiers and no event yet (one a merge rule kept apart).
    firstSeen: doc.eventCount ? new Date(doc.firstSeen).toISOString() : null,
    lastSeen: doc.eventCount ? new Date(doc.lastSeen).toISOString() : null,
    eventCount: doc.eventCount,
    eventCounts: doc.eventCounts,
    typeCounts: doc.typeCounts,
    computedTraits: computedValues(doc.computed, model.computedTraits ?? [], now),
    sessions: summarizeSessions(doc.sessions),
    context: Object.fromEntries(Object.keys(doc.enriched ?? {}).sort().map((k) => [k, doc.enriched![k]!.v])),
    consent: Object.fromEntries(Object.keys(doc.consent ?? {}).sort().map((k) => [k, { granted: doc.consent![k]!.v === true, at: new Date(doc.consent![k]!.t).toISOString() }])),
    ...(doc.text?.n ? { text: publicText(doc.text)! } : {}),
  };
}

function wins(a: TraitEntry, b: TraitEntry | undefined): boolean {
  return b === undefined || a.t > b.t || (a.t === b.t && a.m >= b.m);
}

function setTraits(into: Record<string, TraitEntry>, traits: unknown, t: number, m: string): void {
  if (!traits || typeof traits !== 'object' || Array.isArray(traits)) return;
  for (const [k, v] of Object.entries(traits)) {
    const entry = { v, t, m };
    if (wins(entry, into[k])) into[k] = entry;
  }
}

/**
 * Segment's consent format: context.consent.categoryPreferences = { analytics: true, … }. Only
 * booleans count; the latest by event time wins per purpose, as traits do, so the order events
 * arrive in does not matter.
 */
function setConsent(doc: ProfileDoc, e: Envelope, t: number): void {
  const prefs = categoryPreferences(e);
  if (!prefs) return;
  for (const [purpose, v] of Object.entries(prefs)) {
    if (typeof v !== 'boolean') continue;
    const entry = { v, t, m: e.messageId };
    if (wins(entry, doc.consent?.[purpose])) (doc.consent ??= {})[purpose] = entry;
  }
}

/** A purpose's latest consent across a profile's parts: what assembling them would keep, without assembling the rest. */
export function latestConsent(parts: Iterable<ProfileDoc | undefined>, purpose: string): TraitEntry | undefined {
  let latest: TraitEntry | undefined;
  for (const p of parts) {
    const entry = p?.consent?.[purpose];
    if (entry && wins(entry, latest)) latest = entry;
  }
  return latest;
}

/** Whether a purpose may use this profile: its latest consent, or the model's default when none was given. */
export function consents(doc: ProfileDoc, purpose: string, model: ProfileModel = {}): boolean {
  return consentedBy(doc.consent?.[purpose], model);
}

/** Whether a purpose's latest consent entry (none given: the model's default) allows it. */
export function consentedBy(entry: TraitEntry | undefined, model: ProfileModel = {}): boolean {
  return entry === undefined ? model.consentDefault !== 'denied' : entry.v === true;
}

/** What the profile keeps of an event's enrichment: where and on what, not the per-event clock. */
function PROFILE_CONTEXT(e: Enriched): Partial<Enriched> {
  const { localHour: _h, localDayOfWeek: _d, localDate: _t, ...rest } = e;
  return rest;
}

function addCounts(into: Record<string, number>, from: Record<string, number>): void {
  for (const [k, n] of Object.entries(from)) into[k] = (into[k] ?? 0) + n;
}

export function emptyProfile(): ProfileDoc {
  return { id: '', identities: [], traits: {}, firstSeen: Infinity, lastSeen: -Infinity, eventCount: 0, eventCounts: {}, typeCounts: {} };
}

/** Traits Mosaic computed in batch (RFM, clusters) arrive as identify events from this source. */
export const BATCH_SOURCE_ID = 'mosaic:batch';

/** Folds one event into a profile (in place). Commutative with every other event. */
export function applyEvent(doc: ProfileDoc, e: Envelope, model: ProfileModel = {}): void {
  const t = Date.parse(e.timestamp);
  // Computed traits written back, not the person's behaviour: no count, no session, no time seen.
  // Consent recorded through the consent API arrives the same way.
  if (e.sourceId === BATCH_SOURCE_ID) {
    if (e.type === 'identify') setTraits(doc.traits, e.traits, t, e.messageId);
    setConsent(doc, e, t);
    return;
  }
  setConsent(doc, e, t);
  doc.eventCount += 1;
  doc.typeCounts[e.type] = (doc.typeCounts[e.type] ?? 0) + 1;
  if (e.type === 'track' && e.event) doc.eventCounts[e.event] = (doc.eventCounts[e.event] ?? 0) + 1;
  if (t < doc.firstSeen) doc.firstSeen = t;
  if (t > doc.lastSeen) doc.lastSeen = t;
  // context.traits first: an identify's own traits win over the cached copy in its context.
  setTraits(doc.traits, e.context?.traits, t, e.messageId);
  if (e.type === 'identify') setTraits(doc.traits, e.traits, t, e.messageId);
  if (e.enriched) setTraits((doc.enriched ??= {}), PROFILE_CONTEXT(e.enriched), t, e.messageId);
  if (model.computedTraits?.length) applyComputed((doc.computed ??= {}), model.computedTraits, e, t);
  if (model.sessions) applySession((doc.sessions ??= emptySessions()), e, t, model.sessions);
  if (model.text) {
    const signals = textSignalsOf(e);
    if (signals) doc.text = applyText(doc.text, signals, t, e.messageId, model.text.halfLifeMs);
  }
}

/** Merges `b`'s aggregates into `a` (in place). Exact: every event lives in exactly one of them. */
export function mergeInto(a: ProfileDoc, b: ProfileDoc, model: ProfileModel = {}): void {
  for (const [k, entry] of Object.entries(b.traits)) if (wins(entry, a.traits[k])) a.traits[k] = entry;
  if (b.enriched) for (const [k, entry] of Object.entries(b.enriched)) if (wins(entry, a.enriched?.[k])) (a.enriched ??= {})[k] = entry;
  if (b.consent) for (const [k, entry] of Object.entries(b.consent)) if (wins(entry, a.consent?.[k])) (a.consent ??= {})[k] = entry;
  a.firstSeen = Math.min(a.firstSeen, b.firstSeen);
  a.lastSeen = Math.max(a.lastSeen, b.lastSeen);
  a.eventCount += b.eventCount;
  addCounts(a.eventCounts, b.eventCounts);
  addCounts(a.typeCounts, b.typeCounts);
  if (b.computed) mergeComputed((a.computed ??= {}), b.computed, model.computedTraits ?? []);
  if (b.sessions && model.sessions) mergeSessions((a.sessions ??= emptySessions()), b.sessions, model.sessions);
  if (b.recent && model.recentEvents) for (const r of b.recent) noteRecent(a, r, model.recentEvents);
  if (b.text && model.text) a.text = mergeText(a.text, b.text, model.text.halfLifeMs);
}

/** A profile as the API shows it: its cluster's identities and the sum of its members' parts. */
export function assembleProfile(cluster: Cluster, parts: Iterable<ProfileDoc>, model: ProfileModel = {}): ProfileDoc {
  const doc = emptyProfile();
  for (const p of parts) mergeInto(doc, p, model);
  doc.id = cluster.id;
  doc.identities = [...cluster.members];
  return doc;
}

/**
 * What audience rules read of a profile made of `parts`, or undefined when it may not be used for
 * personalization (then it is in no audience). Only what rules can read is combined: assembling
 * the whole profile (sessions, counts, recent events) was about 8% of the processor's time with
 * ten audiences and two parts per person (measured).
 */
export function ruleView(parts: readonly ProfileDoc[], model: ProfileModel, now: number): AudienceView | undefined {
  if (!consentedBy(latestConsent(parts, 'personalization'), model)) return undefined;
  if (parts.length === 1) return audienceView(parts[0]!, model, now);
  const doc: RuleInputs = { traits: {} };
  for (const p of parts) {
    for (const [k, entry] of Object.entries(p.traits)) if (wins(entry, doc.traits[k])) doc.traits[k] = entry;
    if (p.text && model.text) doc.text = mergeText(doc.text, p.text, model.text.halfLifeMs);
  }
  return audienceView(doc, model, now, parts.map((p) => p.computed));
}

/** The parts of a profile audience rules read. */
type RuleInputs = Pick<ProfileDoc, 'traits' | 'computed' | 'text'>;

/**
 * What audience rules read: plain traits and every computed value at `now`, hidden ones
 * included. `computedOf`: the computed states of each of the profile's parts, read together
 * (see computedValuesOf); by default the document's own.
 */
export function audienceView(doc: RuleInputs, model: ProfileModel, now: number, computedOf: readonly ProfileDoc['computed'][] = [doc.computed]): AudienceView {
  const traits: Record<string, unknown> = {};
  for (const [k, entry] of Object.entries(doc.traits)) traits[k] = entry.v;
  const computed = computedValuesOf(computedOf, model.ruleTraits ?? model.computedTraits ?? [], now, true);
  // Text signals are readable by rules as computed values (TEXT_VALUES).
  if (model.text && doc.text?.n) {
    const t = publicText(doc.text)!;
    Object.assign(computed, { text_sentiment: t.sentiment, text_intent: t.lastIntent, text_count: t.texts });
  }
  return { traits, computed };
}
