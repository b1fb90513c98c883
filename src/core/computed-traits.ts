import type { Envelope, MessageType } from './envelope.js';

/**
 * Computed traits: aggregates over a profile's events, declared in config. Every state below
 * is commutative and mergeable, so a profile's values do not depend on arrival order, batch
 * boundaries or merges (the property test checks it against a direct computation).
 */
export const COMPUTED_OPS = ['count', 'sum', 'avg', 'min', 'max', 'first', 'last'] as const;
export type ComputedOp = (typeof COMPUTED_OPS)[number];

export const CONDITION_OPS = ['eq', 'neq', 'gt', 'gte', 'lt', 'lte', 'in', 'exists'] as const;
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
  /** The value aggregated (not for count), e.g. "properties.revenue". */
  property?: string;
  /** All must hold. */
  where?: Condition[];
}

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
  /** event time and messageId of `v` (first, last) */
  t?: number;
  m?: string;
}

export interface CompiledTrait {
  def: ComputedTraitDef;
  matches(e: Envelope): boolean;
  value(e: Envelope): unknown;
}

export class ComputedTraitError extends Error {
  constructor(readonly problems: { path: string; message: string }[]) {
    super(problems.map((p) => `${p.path}: ${p.message}`).join('; '));
    this.name = 'ComputedTraitError';
  }
}

function getter(path: string): (e: Envelope) => unknown {
  const parts = path.split('.');
  return (e) => {
    let v: unknown = e;
    for (const p of parts) {
      if (v === null || typeof v !== 'object') return undefined;
      v = (v as Record<string, unknown>)[p];
    }
    return v;
  };
}

function condition(c: Condition): (e: Envelope) => boolean {
  const get = getter(c.path);
  const want = c.value;
  switch (c.op) {
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

const NEEDS_PROPERTY: ReadonlySet<ComputedOp> = new Set(['sum', 'avg', 'min', 'max', 'first', 'last']);

/** Validates and compiles the definitions once; throws ComputedTraitError naming each problem. */
export function compileComputedTraits(defs: readonly ComputedTraitDef[]): CompiledTrait[] {
  const problems: { path: string; message: string }[] = [];
  const names = new Set<string>();
  defs.forEach((d, i) => {
    const at = `/computedTraits/${i}`;
    if (!/^[A-Za-z_][A-Za-z0-9_]*$/.test(d.name ?? '')) problems.push({ path: `${at}/name`, message: `"${d.name}" must be letters, digits and _ (not starting with a digit)` });
    if (names.has(d.name)) problems.push({ path: `${at}/name`, message: `"${d.name}" is declared twice` });
    names.add(d.name);
    if (!COMPUTED_OPS.includes(d.op)) problems.push({ path: `${at}/op`, message: `"${d.op}" is not one of ${COMPUTED_OPS.join(', ')}` });
    if (NEEDS_PROPERTY.has(d.op) && !d.property) problems.push({ path: `${at}/property`, message: `${d.op} needs "property", the value to aggregate (e.g. properties.revenue)` });
    if (d.op === 'count' && d.property) problems.push({ path: `${at}/property`, message: 'count counts events; drop "property" or use where: [{ path, op: exists }]' });
    (d.where ?? []).forEach((c, j) => {
      const cat = `${at}/where/${j}`;
      if (!c.path) problems.push({ path: `${cat}/path`, message: 'a condition needs "path"' });
      if (!CONDITION_OPS.includes(c.op)) problems.push({ path: `${cat}/op`, message: `"${c.op}" is not one of ${CONDITION_OPS.join(', ')}` });
      if (['gt', 'gte', 'lt', 'lte'].includes(c.op) && typeof c.value !== 'number') problems.push({ path: `${cat}/value`, message: `${c.op} compares numbers: "value" must be a number` });
      if (c.op === 'in' && !Array.isArray(c.value)) problems.push({ path: `${cat}/value`, message: 'in needs "value": a list' });
      if ((c.op === 'eq' || c.op === 'neq') && c.value === undefined) problems.push({ path: `${cat}/value`, message: `${c.op} needs "value"` });
    });
  });
  if (problems.length) throw new ComputedTraitError(problems);

  return defs.map((def) => {
    const conds = (def.where ?? []).map(condition);
    const value = def.property ? getter(def.property) : () => undefined;
    return {
      def,
      value,
      matches: (e) =>
        (def.type === undefined || e.type === def.type) &&
        (def.event === undefined || (e.type === 'track' && e.event === def.event)) &&
        conds.every((c) => c(e)),
    };
  });
}

const MICRO = 1_000_000;

const later = (t: number, m: string, s: ComputedState) => s.t === undefined || t > s.t || (t === s.t && m > s.m!);
const earlier = (t: number, m: string, s: ComputedState) => s.t === undefined || t < s.t || (t === s.t && m < s.m!);

function fold(op: ComputedOp, s: ComputedState, v: unknown, t: number, m: string): void {
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
  }
}

/** Folds one event into the profile's computed states (in place). */
export function applyComputed(states: Record<string, ComputedState>, traits: readonly CompiledTrait[], e: Envelope, t: number): void {
  for (const c of traits) {
    if (!c.matches(e)) continue;
    const s = (states[c.def.name] ??= {});
    fold(c.def.op, s, c.value(e), t, e.messageId);
  }
}

/** Merges b's states into a's (in place): exact, since each event was folded into one of them. */
export function mergeComputed(a: Record<string, ComputedState>, b: Record<string, ComputedState>, traits: readonly CompiledTrait[]): void {
  for (const c of traits) {
    const sb = b[c.def.name];
    if (!sb) continue;
    const sa = (a[c.def.name] ??= {});
    switch (c.def.op) {
      case 'count':
      case 'sum':
      case 'avg':
        if (sb.n !== undefined) sa.n = (sa.n ?? 0) + sb.n;
        if (sb.s !== undefined) sa.s = (sa.s ?? 0) + sb.s;
        break;
      default:
        if (sb.v !== undefined) fold(c.def.op, sa, sb.v, sb.t ?? 0, sb.m ?? '');
    }
  }
}

/** The values the API shows: null where nothing matched yet. */
export function computedValues(states: Record<string, ComputedState> | undefined, traits: readonly CompiledTrait[]): Record<string, unknown> {
  const out: Record<string, unknown> = {};
  for (const c of traits) {
    const s = states?.[c.def.name];
    switch (c.def.op) {
      case 'count':
        out[c.def.name] = s?.n ?? 0;
        break;
      case 'sum':
        out[c.def.name] = (s?.s ?? 0) / MICRO;
        break;
      case 'avg':
        out[c.def.name] = s?.n ? s.s! / MICRO / s.n : null;
        break;
      default:
        out[c.def.name] = s?.v ?? null;
    }
  }
  return out;
}
