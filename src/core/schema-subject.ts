import type { MessageType } from './envelope.js';

/**
 * A tracking plan's subjects: what one schema describes. Written `[source/]kind[:name]`:
 * `track:Order Completed`, `identify`, `page:Pricing`, `web/track:Signed Up` (only events from
 * the source named or id'd `web`). A track schema validates the event's `properties`; identify
 * and group schemas its `traits`; page and screen schemas its `properties`.
 */
export const PLANNED_TYPES = ['track', 'identify', 'page', 'screen', 'group'] as const;
export type PlannedType = (typeof PLANNED_TYPES)[number];

export interface Subject {
  source?: string;
  kind: PlannedType;
  /** The track event or the page/screen name. */
  name?: string;
}

export class SubjectError extends Error {}

const SOURCE = /^[A-Za-z0-9_-]+$/;

export function parseSubject(text: string): Subject {
  const slash = text.indexOf('/');
  const colon = text.indexOf(':');
  // A slash inside an event name ("Plan A/B Viewed") is not a source prefix.
  const source = slash > 0 && (colon < 0 || slash < colon) ? text.slice(0, slash) : undefined;
  const rest = source === undefined ? text : text.slice(slash + 1);
  const at = rest.indexOf(':');
  const kind = at < 0 ? rest : rest.slice(0, at);
  const name = at < 0 ? undefined : rest.slice(at + 1);
  if (source !== undefined && !SOURCE.test(source)) throw new SubjectError(`"${source}" is not a source name or id (letters, digits, _ and -)`);
  if (!(PLANNED_TYPES as readonly string[]).includes(kind)) throw new SubjectError(`"${text}": the kind must be one of ${PLANNED_TYPES.join(', ')} (e.g. "track:Order Completed", "identify", "web/page:Pricing")`);
  if (name !== undefined && name.trim() === '') throw new SubjectError(`"${text}": the name after ":" is empty`);
  if (kind === 'track' && name === undefined) throw new SubjectError(`"${text}": a track schema names its event, e.g. "track:Order Completed"`);
  if ((kind === 'identify' || kind === 'group') && name !== undefined) throw new SubjectError(`"${text}": ${kind} schemas have no name`);
  return { kind: kind as PlannedType, ...(source !== undefined ? { source } : {}), ...(name !== undefined ? { name } : {}) };
}

export function formatSubject(s: Subject): string {
  return `${s.source !== undefined ? `${s.source}/` : ''}${s.kind}${s.name !== undefined ? `:${s.name}` : ''}`;
}

/** The object a subject's schema validates, and its path in the message. */
export function plannedField(kind: PlannedType): 'properties' | 'traits' {
  return kind === 'identify' || kind === 'group' ? 'traits' : 'properties';
}

/**
 * The subjects that could describe this message, most specific first: the first one
 * registered applies. `sources` are the sending source's id and name.
 */
export function candidateSubjects(type: MessageType, name: string | undefined, sources: readonly string[]): string[] {
  if (type === 'alias') return [];
  const bare = name !== undefined && type !== 'identify' && type !== 'group' ? [`${type}:${name}`, type] : [type];
  if (type === 'track') bare.pop(); // a track event is planned by its name only
  return [...sources.flatMap((s) => bare.map((b) => `${s}/${b}`)), ...bare];
}
