import { campaignFromUrl, referrerType, type ReferrerType } from './enrich.js';
import type { Envelope } from './envelope.js';

/**
 * Sessions by event time. A session is a maximal run of a profile's events whose gaps are at
 * most the timeout: merging intervals reproduces exactly that clustering whatever order the
 * events (or merged profiles) arrive in. Sessions that ended `retainMs` before the newest
 * event are folded into a summary, so a profile's state stays bounded; an event arriving later
 * than that no longer joins them (it is counted, in the summary).
 */
export interface SessionConfig {
  timeoutMs: number;
  retainMs: number;
  /** Fill the campaign from the page URL's utm_* parameters when the SDK sent none. */
  campaignFromUrl?: boolean;
  /** Classify the referrer: direct, internal, search, social, email, referral. */
  referrerType?: boolean;
}

/** What started a session: the referrer and campaign of its earliest event. */
export interface Source {
  referrer?: string;
  referrerType?: ReferrerType;
  campaign?: Record<string, unknown>;
}

interface Touch<V> {
  t: number;
  m: string;
  v: V;
}

export interface Session {
  /** start and end, event time (ms) */
  s: number;
  e: number;
  /** events, page/screen views */
  n: number;
  p: number;
  /** earliest event of the session: where it came from */
  src: Touch<Source>;
  /** earliest page/screen of the session: its path */
  land?: Touch<string>;
}

export interface SessionsState {
  /** Sorted by start; consecutive sessions are more than the timeout apart. */
  list: Session[];
  /** Sessions folded away after the retention: count, total duration (ms), events. */
  old: { count: number; ms: number; events: number };
  /** Newest event time seen. */
  hi: number;
  /** Source of the earliest event ever: first-touch attribution. */
  first: Touch<Source>;
}

const before = (a: { t: number; m: string }, b: { t: number; m: string } | undefined) => b === undefined || a.t < b.t || (a.t === b.t && a.m < b.m);

function sourceOf(e: Envelope, cfg: SessionConfig): Source {
  const ctx = e.context as { page?: { referrer?: unknown; url?: unknown }; campaign?: unknown } | undefined;
  const props = e.properties as { url?: unknown; referrer?: unknown } | undefined;
  const str = (v: unknown) => (typeof v === 'string' && v ? v : undefined);
  const referrer = str(ctx?.page?.referrer) ?? str(props?.referrer);
  const url = str(ctx?.page?.url) ?? str(props?.url);
  const src: Source = {};
  if (referrer) src.referrer = referrer;
  if (ctx?.campaign && typeof ctx.campaign === 'object') src.campaign = ctx.campaign as Record<string, unknown>;
  else if (cfg.campaignFromUrl) {
    const c = campaignFromUrl(url);
    if (c) src.campaign = c;
  }
  if (cfg.referrerType) src.referrerType = referrerType(referrer, url, str(src.campaign?.medium));
  return src;
}

function pathOf(e: Envelope): string | undefined {
  const props = e.properties as { path?: unknown; url?: unknown } | undefined;
  const page = (e.context as { page?: { path?: unknown } } | undefined)?.page;
  const p = props?.path ?? page?.path ?? props?.url ?? e.name;
  return typeof p === 'string' ? p : undefined;
}

function combine(a: Session, b: Session): Session {
  const out: Session = { s: Math.min(a.s, b.s), e: Math.max(a.e, b.e), n: a.n + b.n, p: a.p + b.p, src: before(b.src, a.src) ? b.src : a.src };
  const land = a.land && b.land ? (before(b.land, a.land) ? b.land : a.land) : (a.land ?? b.land);
  if (land) out.land = land;
  return out;
}

/** Re-clusters sessions (any order) into maximal runs with gaps ≤ timeout. */
function cluster(sessions: Session[], timeoutMs: number): Session[] {
  sessions.sort((a, b) => a.s - b.s);
  const out: Session[] = [];
  for (const s of sessions) {
    const last = out[out.length - 1];
    if (last && s.s - last.e <= timeoutMs) out[out.length - 1] = combine(last, s);
    else out.push(s);
  }
  return out;
}

function retire(state: SessionsState, cfg: SessionConfig): void {
  while (state.list.length && state.list[0]!.e < state.hi - cfg.retainMs) {
    const s = state.list.shift()!;
    state.old.count += 1;
    state.old.ms += s.e - s.s;
    state.old.events += s.n;
  }
}

export function emptySessions(): SessionsState {
  // Sentinels stay finite: the state is stored as JSON, where Infinity would become null.
  return { list: [], old: { count: 0, ms: 0, events: 0 }, hi: -1, first: { t: Number.MAX_SAFE_INTEGER, m: '', v: {} } };
}

/** Folds one event (time t) into the sessions (in place). */
export function applySession(state: SessionsState, e: Envelope, t: number, cfg: SessionConfig): void {
  // The source (URL parsing) is worked out only if this event turns out to be the earliest of
  // its session or of the profile: for most events, in the middle of a session, it is not.
  const src: Touch<Source> = { t, m: e.messageId, v: {} };
  if (before(src, state.first)) state.first = src;
  if (t < state.hi - cfg.retainMs - cfg.timeoutMs) {
    state.old.events += 1; // far older than anything kept: it can no longer join a session
    if (state.first === src) src.v = sourceOf(e, cfg);
    return;
  }
  const isView = e.type === 'page' || e.type === 'screen';
  const path = isView ? pathOf(e) : undefined;
  const own: Session = { s: t, e: t, n: 1, p: isView ? 1 : 0, src, ...(path !== undefined ? { land: { t, m: e.messageId, v: path } } : {}) };
  const keep: Session[] = [];
  let merged = own;
  for (const s of state.list) {
    if (t >= s.s - cfg.timeoutMs && t <= s.e + cfg.timeoutMs) merged = combine(merged, s);
    else keep.push(s);
  }
  keep.push(merged);
  if (merged.src === src || state.first === src) src.v = sourceOf(e, cfg);
  state.list = keep.sort((a, b) => a.s - b.s);
  if (t > state.hi) state.hi = t;
  retire(state, cfg);
}

/** Merges b into a (in place). */
export function mergeSessions(a: SessionsState, b: SessionsState, cfg: SessionConfig): void {
  a.list = cluster([...a.list, ...b.list], cfg.timeoutMs);
  a.old = { count: a.old.count + b.old.count, ms: a.old.ms + b.old.ms, events: a.old.events + b.old.events };
  a.hi = Math.max(a.hi, b.hi);
  if (before(b.first, a.first)) a.first = b.first;
  retire(a, cfg);
}

export interface PublicSession {
  start: string;
  end: string;
  durationSeconds: number;
  events: number;
  pageViews: number;
  landingPage: string | null;
  referrer: string | null;
  referrerType: ReferrerType | null;
  campaign: Record<string, unknown> | null;
}

export interface SessionsSummary {
  count: number;
  totalDurationSeconds: number;
  averageEventsPerSession: number;
  firstTouch: Touchpoint | null;
  lastTouch: Touchpoint | null;
  /** The most recent sessions, newest first. */
  recent: PublicSession[];
}

export interface Touchpoint {
  at: string;
  referrer: string | null;
  referrerType: ReferrerType | null;
  campaign: Record<string, unknown> | null;
}

const touch = (t: Touch<Source>): Touchpoint => ({ at: new Date(t.t).toISOString(), referrer: t.v.referrer ?? null, referrerType: t.v.referrerType ?? null, campaign: t.v.campaign ?? null });

export function summarizeSessions(state: SessionsState | undefined, recent = 5): SessionsSummary {
  if (!state || (state.list.length === 0 && state.old.count === 0)) {
    return { count: 0, totalDurationSeconds: 0, averageEventsPerSession: 0, firstTouch: null, lastTouch: null, recent: [] };
  }
  const count = state.old.count + state.list.length;
  const ms = state.old.ms + state.list.reduce((a, s) => a + (s.e - s.s), 0);
  const events = state.old.events + state.list.reduce((a, s) => a + s.n, 0);
  const latest = state.list[state.list.length - 1];
  return {
    count,
    totalDurationSeconds: ms / 1000,
    averageEventsPerSession: events / count,
    firstTouch: state.first.m !== '' ? touch(state.first) : null,
    lastTouch: latest ? touch(latest.src) : null,
    recent: state.list
      .slice(-recent)
      .reverse()
      .map((s) => ({
        start: new Date(s.s).toISOString(),
        end: new Date(s.e).toISOString(),
        durationSeconds: (s.e - s.s) / 1000,
        events: s.n,
        pageViews: s.p,
        landingPage: s.land?.v ?? null,
        referrer: s.src.v.referrer ?? null,
        referrerType: s.src.v.referrerType ?? null,
        campaign: s.src.v.campaign ?? null,
      })),
  };
}
