import type { Envelope } from './envelope.js';

/** Segment's consent format on an event: context.consent.categoryPreferences = { analytics: true, … }. */
export function categoryPreferences(e: Envelope): Record<string, unknown> | undefined {
  const prefs = (e.context as { consent?: { categoryPreferences?: unknown } } | undefined)?.consent?.categoryPreferences;
  return prefs && typeof prefs === 'object' && !Array.isArray(prefs) ? (prefs as Record<string, unknown>) : undefined;
}

/** The consent an event states for a purpose itself (only booleans count), if it states one. */
export function statedConsent(e: Envelope, purpose: string): boolean | undefined {
  const v = categoryPreferences(e)?.[purpose];
  return typeof v === 'boolean' ? v : undefined;
}

/**
 * Fields that name or locate a person whatever the configuration: who (ids, traits), where from
 * (IP, device ids), and what they typed in forms. The configured identifier paths are added to them.
 */
export const ALWAYS_PERSONAL_PATHS = ['userId', 'anonymousId', 'previousId', 'traits', 'context.traits', 'context.ip', 'context.device.id', 'context.device.advertisingId', 'context.userAgent'];

/**
 * The event without anything that ties it to a person, for a purpose that may count it but not
 * know whose it is (analytics without consent, kept anonymized). A copy: the input is unchanged.
 */
export function anonymizeEvent(e: Envelope, personalPaths: readonly string[]): Envelope {
  const out = structuredClone(e) as unknown as Record<string, unknown>;
  for (const path of personalPaths) deletePath(out, path.split('.'));
  return out as unknown as Envelope;
}

function deletePath(obj: Record<string, unknown>, parts: readonly string[]): void {
  let at: unknown = obj;
  for (let i = 0; i < parts.length - 1; i++) {
    if (!at || typeof at !== 'object') return;
    at = (at as Record<string, unknown>)[parts[i]!];
  }
  if (at && typeof at === 'object') delete (at as Record<string, unknown>)[parts[parts.length - 1]!];
}
