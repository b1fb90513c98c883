import type { Envelope, MessageType } from './envelope.js';

/**
 * Computed traits: aggregates over a profile's events, declared in config. Every state below
 * is commutative and mergeable, so a profile's values do not depend on arrival order, batch
 * boundaries or merges (the property test checks it against a direct computation).
 */
export const COMPUTED_OPS = ['count', 'sum', 'avg', 'min', 'max', 'first', 'last', 'distinct_count', 'top_n', 'recent', 'rfm'] as const;
export type ComputedOp = (typeof COMPUTED_OPS)[number];

export const CONDITION_OPS = ['eq', 'neq', 'gt', 'gte', 'lt', 'lte', 'in', 'exists', 'contains'] as const;
export type ConditionOp = (typeof CONDITION_OPS)[number];

export interface Condition {
  /** Dotted path into the event, e.g. "properties.category" or "context.page.path". */
  path: string;
  op: ConditionOp;
  value?: unknown;
}

export interface ComputedTraitDef {
  name: string;
  op: ComputedOp;
  /** Only track events with this name. */
  event?: string;
  /** Only events of this type. */
  type?: MessageType;
  /**
   * The value aggregated (not for count), e.g. "properties.revenue". A segment ending in `[]`
   * fans out over a list: "properties.products[].product_id" is every product's id (distinct_count,
   * top_n and recent count each one).
   */
  property?: string;
  /** All must hold. */
  where?: Condition[];
  /** Only events within this much of now, e.g. "30m", "24h", "7d" (counted in whole buckets). */
  window?: string;
  /** top_n: how many values to show (default 3); recent: how many to keep (default 10). */
  n?: number;
}

/**
 * Distinct values kept per trait (distinct_count, top_n). Beyond it, new values are not counted:
 * a bound on memory (invariant 6) that only very high-cardinality properties reach.
 */
export const MAX_DISTINCT_VALUES = 1000;

/** Per-trait state stored on the profile. */
export interface ComputedState {
  /** count of matching events (count, avg) */
  n?: number;
  /**
   * sum (sum, avg) in millionths, as an integer: float addition is not associative, and the
   * total must not depend on the order events arrived in. Exact up to about 9e9 per profile.
   */
  s?: number;
  /** value (min, max, first, last) */
  v?: unknown;
  /** event time and messageId of `v` (first, last); newest matching event time (rfm) */
  t?: number;
  m?: string;
  /** occurrences by value (distinct_count, top_n); newest event time by value (recent) */
  c?: Record<string, number>;
}

export interface CompiledTrait {
  def: ComputedTraitDef;
  /** Maintained for an audience's event condition; not shown on the profile. */
  hidden?: boolean;
  /** For a windowed trait: bucket size and how many buckets the window spans (the current one included). */
  window?: { bucketMs: number; buckets: number };
  matches(e: Envelope): boolean;
  value(e: Envelope): unknown;
}

export class ComputedTraitError extends Error {
  constructor(readonly problems: { path: string; message: string }[]) {
    super(problems.map((p) => `${p.path}: ${p.message}`).join('; '));
    this.name = 'ComputedTraitError';
  }
}

/** Reads a dotted path from an event; a segment ending in `[]` fans out over a list (see ComputedTraitDef.property). */
export function getter(path: string): (e: Envelope) => unknown {
  const fan = path.indexOf('[].');
  if (fan >= 0) {
    // "a.list[].id": the list, then each element's "id" (elements without one are left out).
    const list = getter(path.slice(0, fan));
    const each = getter(path.slice(fan + 3)) as (x: unknown) => unknown;
    return (e) => {
      const xs = list(e);
      if (!Array.isArray(xs)) return undefined;
      const out = xs.map(each).filter((x) => x !== undefined && x !== null);
      return out.length ? out : undefined;
    };
  }
  const parts = (path.endsWith('[]') ? path.slice(0, -2) : path).split('.');
  return (e) => {
    let v: unknown = e;
    for (const p of parts) {
      if (v === null || typeof v !== 'object') return undefined;
      v = (v as Record<string, unknown>)[p];
    }
    return v;
  };
}

/** A compiled condition over any object (an event, or a profile's values). */
export function compileCondition(c: Condition): (e: Envelope) => boolean {
  const get = getter(c.path);
  const want = c.value;
  switch (c.op) {
    case 'contains':
      return (e) => {
        const v = get(e);
        return Array.isArray(v) ? v.includes(want) : typeof v === 'string' && typeof want === 'string' && v.includes(want);
      };
    case 'exists':
      return (e) => get(e) !== undefined && get(e) !== null;
    case 'eq':
      return (e) => get(e) === want;
    case 'neq':
      return (e) => get(e) !== want;
    case 'in': {
      const set = new Set(want as unknown[]);
      return (e) => set.has(get(e));
    }
    default: {
      const n = want as number;
      const cmp = { gt: (a: number) => a > n, gte: (a: number) => a >= n, lt: (a: number) => a < n, lte: (a: number) => a <= n }[c.op];
      return (e) => {
        const v = get(e);
        return typeof v === 'number' && cmp(v);
      };
    }
  }
}

const UNIT_MS: Record<string, number> = { m: 60_000, h: 3_600_000, d: 86_400_000 };

/**
 * "7d" -> buckets of an hour, 168 of them. The bucket is the largest of a day, an hour or a
 * minute that still cuts the window into at least 24 buckets, so the edge of the window is
 * never coarser than a 24th of it, and state stays bounded (at most 1,440 buckets).
 */
export function parseWindow(w: string): { bucketMs: number; buckets: number } | undefined {
  const m = /^(\d+)([mhd])$/.exec(w);
  if (!m) return undefined;
  const ms = Number(m[1]) * UNIT_MS[m[2]!]!;
  if (ms < 60_000 || ms > 400 * 86_400_000) return undefined;
  for (const bucketMs of [86_400_000, 3_600_000, 60_000]) {
    if (ms % bucketMs === 0 && ms / bucketMs >= 24) return { bucketMs, buckets: ms / bucketMs };
  }
  return ms % 60_000 === 0 && ms / 60_000 <= 1440 ? { bucketMs: 60_000, buckets: ms / 60_000 } : undefined;
}

const NEEDS_PROPERTY: ReadonlySet<ComputedOp> = new Set(['sum', 'avg', 'min', 'max', 'first', 'last', 'distinct_count', 'top_n', 'recent', 'rfm']);
/** Ops that count each element of a list value on its own. */
const PER_ELEMENT: ReadonlySet<ComputedOp> = new Set(['distinct_count', 'top_n', 'recent']);
const DEFAULT_N: Partial<Record<ComputedOp, number>> = { top_n: 3, recent: 10 };

const windowOf = (d: ComputedTraitDef) => (d.window === undefined ? undefined : parseWindow(d.window));

/** Validates and compiles the definitions once; throws ComputedTraitError naming each problem. */
export function compileComputedTraits(defs: readonly ComputedTraitDef[], opts: { hidden?: boolean } = {}): CompiledTrait[] {
  const problems: { path: string; message: string }[] = [];
  const names = new Set<string>();
  defs.forEach((d, i) => {
    const at = `/computedTraits/${i}`;
    if (!/^[A-Za-z_][A-Za-z0-9_]*$/.test(d.name ?? '')) problems.push({ path: `${at}/name`, message: `"${d.name}" must be letters, digits and _ (not starting with a digit)` });
    if (names.has(d.name)) problems.push({ path: `${at}/name`, message: `"${d.name}" is declared twice` });
    names.add(d.name);
    if (!COMPUTED_OPS.includes(d.op)) problems.push({ path: `${at}/op`, message: `"${d.op}" is not one of ${COMPUTED_OPS.join(', ')}` });
    if (NEEDS_PROPERTY.has(d.op) && !d.property) problems.push({ path: `${at}/property`, message: `${d.op} needs "property", the value to aggregate (e.g. properties.revenue)` });
    if (d.window !== undefined && !parseWindow(d.window)) problems.push({ path: `${at}/window`, message: `"${d.window}" is not a window: write a number and m, h or d (e.g. 30m, 24h, 7d), from 1m to 400d` });
    if (d.n !== undefined && DEFAULT_N[d.op] === undefined) problems.push({ path: `${at}/n`, message: '"n" is for top_n and recent only' });
    if (d.n !== undefined && (!Number.isInteger(d.n) || d.n < 1 || d.n > 100)) problems.push({ path: `${at}/n`, message: 'n must be a whole number from 1 to 100' });
    if (d.op === 'count' && d.property) problems.push({ path: `${at}/property`, message: 'count counts events; drop "property" or use where: [{ path, op: exists }]' });
    (d.where ?? []).forEach((c, j) => {
      const cat = `${at}/where/${j}`;
      if (!c.path) problems.push({ path: `${cat}/path`, message: 'a condition needs "path"' });
      if (!CONDITION_OPS.includes(c.op)) problems.push({ path: `${cat}/op`, message: `"${c.op}" is not one of ${CONDITION_OPS.join(', ')}` });
      if (['gt', 'gte', 'lt', 'lte'].includes(c.op) && typeof c.value !== 'number') problems.push({ path: `${cat}/value`, message: `${c.op} compares numbers: "value" must be a number` });
      if (c.op === 'in' && !Array.isArray(c.value)) problems.push({ path: `${cat}/value`, message: 'in needs "value": a list' });
      if ((c.op === 'eq' || c.op === 'neq' || c.op === 'contains') && c.value === undefined) problems.push({ path: `${cat}/value`, message: `${c.op} needs "value"` });
    });
  });
  if (problems.length) throw new ComputedTraitError(problems);

  return defs.map((def) => {
    const conds = (def.where ?? []).map(compileCondition);
    const value = def.property ? getter(def.property) : () => undefined;
    const window = windowOf(def);
    return {
      def,
      ...(opts.hidden ? { hidden: true } : {}),
      ...(window ? { window } : {}),
      value,
      matches: (e) =>
        (def.type === undefined || e.type === def.type) &&
        (def.event === undefined || (e.type === 'track' && e.event === def.event)) &&
        conds.every((c) => c(e)),
    };
  });
}

const MICRO = 1_000_000;

const keepOf = (d: ComputedTraitDef) => d.n ?? DEFAULT_N[d.op] ?? 0;

const later = (t: number, m: string, s: ComputedState) => s.t === undefined || t > s.t || (t === s.t && m > s.m!);
const earlier = (t: number, m: string, s: ComputedState) => s.t === undefined || t < s.t || (t === s.t && m < s.m!);

function fold(op: ComputedOp, s: ComputedState, v: unknown, t: number, m: string, n: number): void {
  if (Array.isArray(v) && PER_ELEMENT.has(op)) {
    for (const x of v) fold(op, s, x, t, m, n);
    return;
  }
  switch (op) {
    case 'count':
      s.n = (s.n ?? 0) + 1;
      return;
    case 'sum':
    case 'avg':
      if (typeof v !== 'number' || !Number.isFinite(v)) return;
      s.s = (s.s ?? 0) + Math.round(v * MICRO);
      s.n = (s.n ?? 0) + 1;
      return;
    case 'min':
      if (typeof v === 'number' && (s.v === undefined || v < (s.v as number))) s.v = v;
      return;
    case 'max':
      if (typeof v === 'number' && (s.v === undefined || v > (s.v as number))) s.v = v;
      return;
    case 'first':
      if (v !== undefined && earlier(t, m, s)) Object.assign(s, { v, t, m });
      return;
    case 'last':
      if (v !== undefined && later(t, m, s)) Object.assign(s, { v, t, m });
      return;
    case 'distinct_count':
    case 'top_n':
      if (typeof v === 'string' || typeof v === 'number' || typeof v === 'boolean') countValue(s, String(v), 1);
      return;
    case 'recent':
      if (typeof v === 'string' || typeof v === 'number') noteRecentValue(s, String(v), t, n);
      return;
    case 'rfm':
      // Frequency counts every matching event; monetary sums the numeric values; recency is read at query time.
      s.n = (s.n ?? 0) + 1;
      if (typeof v === 'number' && Number.isFinite(v)) s.s = (s.s ?? 0) + Math.round(v * MICRO);
      if (s.t === undefined || t > s.t) s.t = t;
      return;
  }
}

function countValue(s: ComputedState, key: string, n: number): void {
  const c = (s.c ??= {});
  if (c[key] === undefined && Object.keys(c).length >= MAX_DISTINCT_VALUES) return;
  c[key] = (c[key] ?? 0) + n;
}

/**
 * Keeps the n values seen most recently (newest time first, then by value). A value dropped here
 * can never come back into the top n, since the times of the values that pushed it out only
 * grow: so the kept set does not depend on the order events or merges arrive in.
 */
function noteRecentValue(s: ComputedState, key: string, t: number, n: number): void {
  const c = (s.c ??= {});
  if (c[key] !== undefined && c[key] >= t) return;
  c[key] = t;
  const keys = Object.keys(c);
  if (keys.length <= n) return;
  for (const k of byRecency(c).slice(n)) delete c[k];
}

const byRecency = (c: Record<string, number>) => Object.keys(c).sort((a, b) => c[b]! - c[a]! || (a < b ? -1 : 1));

/** Merges one state into another of the same op (in place). */
function mergeState(op: ComputedOp, sa: ComputedState, sb: ComputedState, n: number): void {
  switch (op) {
    case 'recent':
      for (const [k, t] of Object.entries(sb.c ?? {})) noteRecentValue(sa, k, t, n);
      return;
    case 'count':
    case 'sum':
    case 'avg':
    case 'rfm':
      if (sb.n !== undefined) sa.n = (sa.n ?? 0) + sb.n;
      if (sb.s !== undefined) sa.s = (sa.s ?? 0) + sb.s;
      if (op === 'rfm' && sb.t !== undefined && (sa.t === undefined || sb.t > sa.t)) sa.t = sb.t;
      return;
    case 'distinct_count':
    case 'top_n':
      // Keys in sorted order: which values fit under the cap must not depend on merge order.
      for (const k of Object.keys(sb.c ?? {}).sort()) countValue(sa, k, sb.c![k]!);
      return;
    default:
      if (sb.v !== undefined) fold(op, sa, sb.v, sb.t ?? 0, sb.m ?? '', n);
  }
}

/**
 * A windowed trait keeps one state per time bucket (by event time) and drops buckets that fall
 * out of the window measured from the newest event seen. Pruning from the newest event, not
 * from arrival, keeps the state independent of arrival order; the value is evaluated against
 * the clock when read, so it falls as the window slides with no new event.
 */
interface WindowedState {
  /** bucket index -> state */
  w: Record<string, ComputedState>;
  /** newest bucket index seen */
  hi: number;
}

/** What a profile stores per computed trait. */
export type TraitState = ComputedState | WindowedState;

function prune(ws: WindowedState, buckets: number): void {
  for (const k of Object.keys(ws.w)) if (Number(k) <= ws.hi - buckets) delete ws.w[k];
}

/** Folds one event into the profile's computed states (in place). */
export function applyComputed(states: Record<string, TraitState>, traits: readonly CompiledTrait[], e: Envelope, t: number): void {
  for (const c of traits) {
    if (!c.matches(e)) continue;
    const v = c.value(e);
    if (!c.window) {
      fold(c.def.op, (states[c.def.name] ??= {}) as ComputedState, v, t, e.messageId, keepOf(c.def));
      continue;
    }
    const idx = Math.floor(t / c.window.bucketMs);
    const ws = (states[c.def.name] ??= { w: {}, hi: idx }) as WindowedState;
    if (idx <= ws.hi - c.window.buckets) continue; // already outside the window of newer events
    fold(c.def.op, (ws.w[idx] ??= {}), v, t, e.messageId, keepOf(c.def));
    if (idx > ws.hi) {
      ws.hi = idx;
      prune(ws, c.window.buckets);
    }
  }
}

/** Merges b's states into a's (in place): exact, since each event was folded into one of them. */
export function mergeComputed(a: Record<string, TraitState>, b: Record<string, TraitState>, traits: readonly CompiledTrait[]): void {
  for (const c of traits) {
    const sb = b[c.def.name];
    if (!sb) continue;
    if (!c.window) {
      mergeState(c.def.op, (a[c.def.name] ??= {}) as ComputedState, sb as ComputedState, keepOf(c.def));
      continue;
    }
    const wb = sb as WindowedState;
    const wa = (a[c.def.name] ??= { w: {}, hi: wb.hi }) as WindowedState;
    for (const [k, st] of Object.entries(wb.w)) mergeState(c.def.op, (wa.w[k] ??= {}), st, keepOf(c.def));
    wa.hi = Math.max(wa.hi, wb.hi);
    prune(wa, c.window.buckets);
  }
}

/** Whether a trait's value can change with no new event: a window slides, an rfm recency grows. */
export const changesWithTime = (d: ComputedTraitDef): boolean => d.window !== undefined || d.op === 'rfm';

/**
 * How often, at most, time alone changes any of these traits' values: a window moves a bucket
 * at a time (aligned to multiples of its bucket); an rfm recency grows by a day at a time,
 * counted from each person's last event, so it is taken in hours (a value up to an hour late).
 * Undefined: no value changes with time.
 */
export function timeStepMs(traits: readonly CompiledTrait[]): number | undefined {
  let step: number | undefined;
  for (const t of traits) {
    const ms = t.window?.bucketMs ?? (t.def.op === 'rfm' ? 3_600_000 : undefined);
    if (ms !== undefined && (step === undefined || ms < step)) step = ms;
  }
  return step;
}

/** The values the API shows at time `now`: 0 for empty counts and sums, null otherwise. */
export function computedValues(states: Record<string, TraitState> | undefined, traits: readonly CompiledTrait[], now = Date.now(), includeHidden = false): Record<string, unknown> {
  return computedValuesOf(states ? [states] : [], traits, now, includeHidden);
}

/** Ops whose states add up as they are read: no merged state needs building to read several. */
const READ_ACROSS: ReadonlySet<ComputedOp> = new Set(['count', 'sum', 'avg', 'min', 'max', 'first', 'last', 'rfm']);

/**
 * The values of several parts' states taken together: what computedValues gives for their merge
 * (mergeComputed), without building the merged states where the op allows (rules read every
 * changed profile's values, at event rates; merging was most of that, measured).
 */
export function computedValuesOf(statesOf: readonly (Record<string, TraitState> | undefined)[], traits: readonly CompiledTrait[], now = Date.now(), includeHidden = false): Record<string, unknown> {
  const out: Record<string, unknown> = {};
  for (const c of traits) {
    if (c.hidden && !includeHidden) continue;
    out[c.def.name] = valueOf(c, stateAt(c, statesOf, now), now);
  }
  return out;
}

/** One state holding what `statesOf` hold for trait `c`, within its window at `now`. */
function stateAt(c: CompiledTrait, statesOf: readonly (Record<string, TraitState> | undefined)[], now: number): ComputedState | undefined {
  const name = c.def.name;
  const keep = keepOf(c.def);
  let holders = 0;
  let only: TraitState | undefined;
  for (const states of statesOf) {
    const s = states?.[name];
    if (!s) continue;
    holders++;
    only = s;
  }
  if (holders === 0) return undefined;
  if (holders > 1 && !READ_ACROSS.has(c.def.op)) {
    // Merged as a profile's parts are: which values fit under MAX_DISTINCT_VALUES, and which
    // recent ones are kept, depends on the order they are met in.
    const merged: Record<string, TraitState> = {};
    for (const states of statesOf) if (states?.[name]) mergeComputed(merged, states, [c]);
    return stateAt(c, [merged], now);
  }
  if (!c.window) {
    if (holders === 1) return only as ComputedState;
    const acc: ComputedState = {};
    for (const states of statesOf) {
      const s = states?.[name];
      if (s) mergeState(c.def.op, acc, s as ComputedState, keep);
    }
    return acc;
  }
  // Buckets in the window at `now`, and not behind the newest event any part has seen (merging
  // the parts would prune those).
  const current = Math.floor(now / c.window.bucketMs);
  let hi = current;
  for (const states of statesOf) {
    const ws = states?.[name] as WindowedState | undefined;
    if (ws && ws.hi > hi) hi = ws.hi;
  }
  const lo = hi - c.window.buckets;
  const acc: ComputedState = {};
  for (const states of statesOf) {
    const ws = states?.[name] as WindowedState | undefined;
    if (!ws) continue;
    for (const k of Object.keys(ws.w)) {
      const idx = Number(k);
      if (idx > lo && idx <= current) mergeState(c.def.op, acc, ws.w[k]!, keep);
    }
  }
  return acc;
}

/** A trait's value from its state at `now`: 0 for empty counts and sums, null otherwise. */
function valueOf(c: CompiledTrait, s: ComputedState | undefined, now: number): unknown {
  switch (c.def.op) {
    case 'count':
      return s?.n ?? 0;
    case 'sum':
      return (s?.s ?? 0) / MICRO;
    case 'avg':
      return s?.n ? s.s! / MICRO / s.n : null;
    case 'distinct_count':
      return Object.keys(s?.c ?? {}).length;
    case 'top_n':
      return Object.entries(s?.c ?? {})
        .sort((a, b) => b[1] - a[1] || (a[0] < b[0] ? -1 : 1))
        .slice(0, keepOf(c.def))
        .map(([k]) => k);
    case 'recent':
      return byRecency(s?.c ?? {});
    case 'rfm':
      return s?.n ? { recencyDays: Math.max(0, Math.floor((now - s.t!) / 86_400_000)), frequency: s.n, monetary: (s.s ?? 0) / MICRO } : null;
    default:
      return s?.v ?? null;
  }
}

/** A stable fingerprint of the definitions: tells whether profiles were built with the ones configured now. */
export function computedTraitsFingerprint(defs: readonly ComputedTraitDef[]): string {
  const canonical = (v: unknown): unknown =>
    Array.isArray(v) ? v.map(canonical) : v && typeof v === 'object' ? Object.fromEntries(Object.keys(v).sort().map((k) => [k, canonical((v as Record<string, unknown>)[k])])) : v;
  return JSON.stringify(canonical(defs));
}
