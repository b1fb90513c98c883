import { AUDIENCE_SOURCE_ID } from './audiences.js';
import type { Envelope, MessageType } from './envelope.js';

/** Which events a destination receives. */
export interface ForwardRule {
  /** Audience Entered/Exited events: all audiences (true), none (false) or these. */
  audiences: boolean | string[];
  /** Behavioural events (absent: none), optionally only these types and track event names. */
  events?: { types?: MessageType[]; names?: string[] };
}

export function forwards(rule: ForwardRule, e: Envelope): boolean {
  if (e.sourceId === AUDIENCE_SOURCE_ID) {
    if (rule.audiences === true) return true;
    if (rule.audiences === false) return false;
    return rule.audiences.includes(String(e.properties?.audience_key));
  }
  const ev = rule.events;
  if (!ev) return false;
  if (ev.types && !ev.types.includes(e.type)) return false;
  if (ev.names && !(e.type === 'track' && e.event !== undefined && ev.names.includes(e.event))) return false;
  return true;
}
