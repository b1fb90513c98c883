import type { Envelope } from './envelope.js';

/**
 * What the collector derives from a piece of text a person wrote (personalize/text-signals.ts),
 * carried on the event as context.textSignals: all the processor needs, so the raw text may be
 * dropped before anything is stored.
 */
export interface TextSignals {
  /** VADER compound score, -1 (negative) to 1 (positive). */
  sentiment: number;
  /** The first intent rule whose phrase the text contains. */
  intent?: string;
  /** The text's hashing vector, sparse: indexes and values. */
  vector: { dims: number; i: number[]; x: number[] };
}

/**
 * A profile's text signals: order-independent and mergeable like the rest of the profile.
 * Sentiment is a sum (in integer millionths) and a count; the embedding is a decayed sum of
 * text vectors kept as of its newest text (`at`), so newer texts weigh more and adding in any
 * order gives the same vector (up to rounding); intents are counts, and the latest by time.
 */
export interface TextState {
  n: number;
  s: number;
  v: number[];
  at: number;
  intents: Record<string, number>;
  last?: { v: string; t: number; m: string };
}

const MICRO = 1_000_000;

/** The values audience rules read as `computed` when text is configured (see audienceView). */
export const TEXT_VALUES = ['text_sentiment', 'text_intent', 'text_count'];

export function textSignalsOf(e: Envelope): TextSignals | undefined {
  const s = (e.context as { textSignals?: TextSignals } | undefined)?.textSignals;
  return s && typeof s.sentiment === 'number' && s.vector && Array.isArray(s.vector.i) ? s : undefined;
}

function addVector(state: TextState, v: readonly number[] | TextSignals['vector'], t: number, halfLifeMs: number): void {
  const at = Math.max(state.at, t);
  const keep = 2 ** ((state.at - at) / halfLifeMs);
  const add = 2 ** ((t - at) / halfLifeMs);
  if (keep !== 1) for (let d = 0; d < state.v.length; d++) state.v[d]! *= keep;
  if ('dims' in v) v.i.forEach((d, k) => (state.v[d]! += v.x[k]! * add));
  else for (let d = 0; d < v.length; d++) state.v[d]! += v[d]! * add;
  state.at = at;
}

export function applyText(state: TextState | undefined, s: TextSignals, t: number, messageId: string, halfLifeMs: number): TextState {
  const st = state ?? { n: 0, s: 0, v: new Array<number>(s.vector.dims).fill(0), at: t, intents: {} };
  if (st.v.length !== s.vector.dims) return st; // a vector of another size (the configuration changed): left out
  st.n += 1;
  st.s += Math.round(s.sentiment * MICRO);
  addVector(st, s.vector, t, halfLifeMs);
  if (s.intent) {
    st.intents[s.intent] = (st.intents[s.intent] ?? 0) + 1;
    if (!st.last || t > st.last.t || (t === st.last.t && messageId > st.last.m)) st.last = { v: s.intent, t, m: messageId };
  }
  return st;
}

export function mergeText(a: TextState | undefined, b: TextState, halfLifeMs: number): TextState {
  if (!a) return { ...b, v: [...b.v], intents: { ...b.intents }, ...(b.last ? { last: { ...b.last } } : {}) };
  if (a.v.length !== b.v.length) return a;
  a.n += b.n;
  a.s += b.s;
  addVector(a, b.v, b.at, halfLifeMs);
  for (const [k, n] of Object.entries(b.intents)) a.intents[k] = (a.intents[k] ?? 0) + n;
  if (b.last && (!a.last || b.last.t > a.last.t || (b.last.t === a.last.t && b.last.m > a.last.m))) a.last = { ...b.last };
  return a;
}

/** The profile's text embedding: the decayed sum, unit length (undefined before any text). */
export function textEmbedding(state: TextState | undefined): Float32Array | undefined {
  if (!state?.n) return undefined;
  let norm = 0;
  for (const x of state.v) norm += x * x;
  if (norm === 0) return undefined;
  const k = 1 / Math.sqrt(norm);
  return Float32Array.from(state.v, (x) => x * k);
}

export interface PublicText {
  texts: number;
  /** Mean VADER compound score of everything the person wrote. */
  sentiment: number;
  intents: Record<string, number>;
  lastIntent: string | null;
}

export function publicText(state: TextState | undefined): PublicText | undefined {
  if (!state?.n) return undefined;
  return { texts: state.n, sentiment: Math.round(state.s / state.n) / MICRO, intents: state.intents, lastIntent: state.last?.v ?? null };
}
