import vader from 'vader-sentiment';
import { getter } from '../core/computed-traits.js';
import type { Envelope } from '../core/envelope.js';
import { hashingVector } from '../core/hashing-vectorizer.js';
import type { TextSignals } from '../core/text-state.js';

export interface TextSettings {
  sources: readonly { event: string; path: string }[];
  intents: readonly { label: string; phrases: readonly string[] }[];
  raw: 'drop' | 'keep';
  dimensions: number;
}

/** Sentiment (VADER), the first matching intent rule, and the text's hashing vector (sparse, 4 decimals). */
export function deriveText(text: string, settings: Pick<TextSettings, 'intents' | 'dimensions'>): TextSignals {
  const lower = text.toLowerCase();
  const intent = settings.intents.find((r) => r.phrases.some((p) => lower.includes(p.toLowerCase())))?.label;
  const dense = hashingVector(text, settings.dimensions);
  const i: number[] = [];
  const x: number[] = [];
  dense.forEach((v, d) => {
    if (v !== 0) {
      i.push(d);
      x.push(Math.round(v * 1e4) / 1e4);
    }
  });
  return {
    sentiment: Math.round(vader.SentimentIntensityAnalyzer.polarity_scores(text).compound * 1e4) / 1e4,
    ...(intent ? { intent } : {}),
    vector: { dims: settings.dimensions, i, x },
  };
}

/**
 * The collector's step for text people write: for a configured event with a string at the
 * configured path, derives the signals into context.textSignals, then (raw: drop) removes the
 * text, so only the signals reach the log. Runs before pseudonymization, which would hide the
 * words the signals are read from.
 */
export class TextDeriver {
  private readonly byEvent = new Map<string, { path: string; get: (e: Envelope) => unknown }[]>();

  constructor(private readonly settings: TextSettings) {
    for (const s of settings.sources) {
      const list = this.byEvent.get(s.event) ?? [];
      list.push({ path: s.path, get: getter(s.path) });
      this.byEvent.set(s.event, list);
    }
  }

  /** Derives in place; true when the event held text. */
  apply(e: Envelope): boolean {
    if (e.type !== 'track' || e.event === undefined) return false;
    const sources = this.byEvent.get(e.event);
    if (!sources) return false;
    for (const s of sources) {
      const text = s.get(e);
      if (typeof text !== 'string' || !text.trim()) continue;
      e.context = { ...e.context, textSignals: deriveText(text, this.settings) };
      if (this.settings.raw === 'drop') removePath(e as unknown as Record<string, unknown>, s.path);
      return true;
    }
    return false;
  }
}

function removePath(obj: Record<string, unknown>, path: string): void {
  const parts = path.split('.');
  let o: unknown = obj;
  for (const p of parts.slice(0, -1)) {
    if (!o || typeof o !== 'object') return;
    o = (o as Record<string, unknown>)[p];
  }
  if (o && typeof o === 'object') delete (o as Record<string, unknown>)[parts[parts.length - 1]!];
}
