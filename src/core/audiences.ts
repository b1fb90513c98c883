import { CONDITION_OPS, compileCondition, parseWindow, type ComputedTraitDef, type ConditionOp, type Condition } from './computed-traits.js';
import { MESSAGE_TYPES, type Envelope, type MessageType } from './envelope.js';
import { partitionOf } from './partition.js';
import type { AppendRecord } from '../ports/event-log.js';

/**
 * Audiences: declared rules over a profile's traits, computed traits and event history.
 * A rule is compiled once into a closure tree (never into SQL). Event conditions ("viewed
 * Product Viewed with category = shoes at least 3 times within 7 days") are compiled into
 * hidden computed traits, so they are maintained incrementally, exactly, with time buckets,
 * and they fall as their window slides.
 */
export type RuleDef =
  | { all: RuleDef[] }
  | { any: RuleDef[] }
  | { not: RuleDef }
  | { trait: string; op: ConditionOp; value?: unknown }
  | { computed: string; op: ConditionOp; value?: unknown }
  | { event?: string; type?: MessageType; where?: Condition[]; within?: string; atLeast?: number; atMost?: number };

export interface AudienceDef {
  name: string;
  description?: string;
  rule: RuleDef;
}

/** What a rule reads: the profile's traits and every computed value (hidden ones included). */
export interface AudienceView {
  traits: Record<string, unknown>;
  computed: Record<string, unknown>;
}

export interface CompiledAudience {
  def: AudienceDef;
  /** Hidden computed traits this audience's event conditions need. */
  traits: ComputedTraitDef[];
  test(view: AudienceView): boolean;
  /**
   * Whether membership can change with no new event (a windowed event condition, a windowed or
   * rfm computed trait): only these need the audience timer.
   */
  changesWithTime: boolean;
  /** Stable text of the definition: a change triggers a backfill. */
  fingerprint: string;
}

export class AudienceError extends Error {
  constructor(readonly problems: { path: string; message: string }[]) {
    super(problems.map((p) => `${p.path}: ${p.message}`).join('; '));
    this.name = 'AudienceError';
  }
}

const canonical = (v: unknown): unknown =>
  Array.isArray(v) ? v.map(canonical) : v && typeof v === 'object' ? Object.fromEntries(Object.keys(v).sort().map((k) => [k, canonical((v as Record<string, unknown>)[k])])) : v;

type Test = (v: AudienceView) => boolean;

function checkComparison(at: string, op: unknown, value: unknown, problems: { path: string; message: string }[]): boolean {
  if (!CONDITION_OPS.includes(op as ConditionOp)) {
    problems.push({ path: `${at}/op`, message: `"${String(op)}" is not one of ${CONDITION_OPS.join(', ')}` });
    return false;
  }
  if (['gt', 'gte', 'lt', 'lte'].includes(op as string) && typeof value !== 'number') problems.push({ path: `${at}/value`, message: `${String(op)} compares numbers: "value" must be a number` });
  if (op === 'in' && !Array.isArray(value)) problems.push({ path: `${at}/value`, message: 'in needs "value": a list' });
  if (['eq', 'neq', 'contains'].includes(op as string) && value === undefined) problems.push({ path: `${at}/value`, message: `${String(op)} needs "value"` });
  return true;
}

/**
 * Validates and compiles the audiences; throws AudienceError naming every problem.
 * `timedTraits`: the computed values that change with time (changesWithTime); when not given,
 * every computed value is taken to.
 */
export function compileAudiences(defs: readonly AudienceDef[], computedTraitNames: readonly string[], timedTraits?: readonly string[]): CompiledAudience[] {
  const problems: { path: string; message: string }[] = [];
  const names = new Set<string>();
  const out: CompiledAudience[] = [];
  defs.forEach((def, i) => {
    const at = `/audiences/${i}`;
    if (!/^[a-z][a-z0-9_]*$/.test(def.name ?? '')) problems.push({ path: `${at}/name`, message: `"${def.name}" must be lower-case letters, digits and _, starting with a letter` });
    if (names.has(def.name)) problems.push({ path: `${at}/name`, message: `"${def.name}" is declared twice` });
    names.add(def.name);
    const hidden: ComputedTraitDef[] = [];
    let changesWithTime = false;

    const compile = (r: unknown, path: string): Test => {
      const never: Test = () => false;
      if (!r || typeof r !== 'object' || Array.isArray(r)) {
        problems.push({ path, message: 'a rule is an object: all, any, not, trait, computed or event' });
        return never;
      }
      const o = r as Record<string, unknown>;
      const kinds = ['all', 'any', 'not', 'trait', 'computed'].filter((k) => k in o);
      const isEvent = ['event', 'type', 'within', 'atLeast', 'atMost', 'where'].some((k) => k in o);
      if (kinds.length + (isEvent ? 1 : 0) !== 1) {
        problems.push({ path, message: `a rule has exactly one of all, any, not, trait, computed or an event condition (found ${[...kinds, ...(isEvent ? ['event'] : [])].join(', ') || 'none'})` });
        return never;
      }
      if ('all' in o || 'any' in o) {
        const key = 'all' in o ? 'all' : 'any';
        const list = o[key];
        if (!Array.isArray(list) || list.length === 0) {
          problems.push({ path: `${path}/${key}`, message: `${key} needs a non-empty list of rules` });
          return never;
        }
        const parts = list.map((x, j) => compile(x, `${path}/${key}/${j}`));
        return key === 'all' ? (v) => parts.every((p) => p(v)) : (v) => parts.some((p) => p(v));
      }
      if ('not' in o) {
        const inner = compile(o.not, `${path}/not`);
        return (v) => !inner(v);
      }
      if ('trait' in o || 'computed' in o) {
        const field = 'trait' in o ? 'trait' : 'computed';
        const name = o[field];
        if (typeof name !== 'string' || name === '') {
          problems.push({ path: `${path}/${field}`, message: `${field} needs a name` });
          return never;
        }
        if (field === 'computed' && !computedTraitNames.includes(name.split('.')[0]!)) {
          problems.push({ path: `${path}/computed`, message: `"${name}" is not a declared computed trait (${computedTraitNames.join(', ') || 'none declared'})` });
        }
        for (const k of Object.keys(o)) if (![field, 'op', 'value'].includes(k)) problems.push({ path: `${path}/${k}`, message: `unknown key "${k}"` });
        if (!checkComparison(path, o.op, o.value, problems)) return never;
        if (field === 'computed' && (timedTraits === undefined || timedTraits.includes(name.split('.')[0]!))) changesWithTime = true;
        const test = compileCondition({ path: `${field === 'trait' ? 'traits' : 'computed'}.${name}`, op: o.op as ConditionOp, value: o.value });
        return (v) => test(v as unknown as Envelope);
      }
      // An event condition: a hidden count of matching events, optionally windowed.
      for (const k of Object.keys(o)) if (!['event', 'type', 'where', 'within', 'atLeast', 'atMost'].includes(k)) problems.push({ path: `${path}/${k}`, message: `unknown key "${k}"` });
      if (o.type !== undefined && !MESSAGE_TYPES.includes(o.type as MessageType)) problems.push({ path: `${path}/type`, message: `"${String(o.type)}" is not one of ${MESSAGE_TYPES.join(', ')}` });
      if (o.within !== undefined && (typeof o.within !== 'string' || !parseWindow(o.within))) problems.push({ path: `${path}/within`, message: `"${String(o.within)}" is not a window: write a number and m, h or d (e.g. 7d)` });
      for (const k of ['atLeast', 'atMost'] as const) {
        if (o[k] !== undefined && (!Number.isInteger(o[k]) || (o[k] as number) < 0)) problems.push({ path: `${path}/${k}`, message: `${k} must be a whole number ≥ 0` });
      }
      if (o.where !== undefined && !Array.isArray(o.where)) problems.push({ path: `${path}/where`, message: 'where is a list of { path, op, value }' });
      ((o.where as unknown[] | undefined) ?? []).forEach((c, j) => {
        const cond = c as Record<string, unknown>;
        if (typeof cond?.path !== 'string') problems.push({ path: `${path}/where/${j}/path`, message: 'a condition needs "path"' });
        checkComparison(`${path}/where/${j}`, cond?.op, cond?.value, problems);
      });
      if (o.within !== undefined) changesWithTime = true;
      const name = `_aud_${def.name}_${hidden.length}`;
      hidden.push({
        name,
        op: 'count',
        ...(o.event !== undefined ? { event: String(o.event) } : {}),
        ...(o.type !== undefined ? { type: o.type as MessageType } : {}),
        ...(o.where !== undefined ? { where: o.where as Condition[] } : {}),
        ...(o.within !== undefined ? { window: String(o.within) } : {}),
      });
      const atLeast = (o.atLeast as number | undefined) ?? 1;
      const atMost = o.atMost as number | undefined;
      return (v) => {
        const n = (v.computed[name] as number | undefined) ?? 0;
        return n >= atLeast && (atMost === undefined || n <= atMost);
      };
    };

    const test = compile(def.rule, `${at}/rule`);
    out.push({ def, traits: hidden, test, changesWithTime, fingerprint: JSON.stringify(canonical({ rule: def.rule, hidden })) });
  });
  if (problems.length) throw new AudienceError(problems);
  return out;
}

export interface MembershipChange {
  audience: string;
  profileId: string;
  kind: 'entered' | 'exited';
}

/**
 * Compares what a profile should belong to now with what it belongs to, for `audiences`; a
 * membership of none of `configured` (an audience removed from the configuration) is left.
 */
export function membershipChanges(profileId: string, view: AudienceView | undefined, current: ReadonlySet<string>, audiences: readonly CompiledAudience[], configured: readonly CompiledAudience[] = audiences): MembershipChange[] {
  const out: MembershipChange[] = [];
  for (const a of audiences) {
    const should = view !== undefined && a.test(view);
    const is = current.has(a.def.name);
    if (should && !is) out.push({ audience: a.def.name, profileId, kind: 'entered' });
    else if (!should && is) out.push({ audience: a.def.name, profileId, kind: 'exited' });
  }
  // Audiences removed from the configuration are left as their members are re-evaluated.
  for (const name of current) if (!configured.some((a) => a.def.name === name)) out.push({ audience: name, profileId, kind: 'exited' });
  return out;
}

/** The source of the events Mosaic itself appends (audience enter/exit): never folded into profiles. */
export const AUDIENCE_SOURCE_ID = 'mosaic:audiences';

/**
 * A transition as kept in the outbox until it is appended: compact (the outbox is written and
 * deleted at event rates), with the identity the event will carry.
 */
export type PendingAudienceEvent = [kind: MembershipChange['kind'], audience: string, profileId: string, at: number, idType: 'userId' | 'anonymousId', id: string];

export function pendingAudienceEvent(change: MembershipChange, members: readonly string[], at: number): PendingAudienceEvent {
  const userId = members.find((m) => m.startsWith('user_id:'))?.slice('user_id:'.length);
  if (userId !== undefined) return [change.kind, change.audience, change.profileId, at, 'userId', userId];
  const anonymousId = members.find((m) => m.startsWith('anonymous_id:'))?.slice('anonymous_id:'.length) ?? change.profileId;
  return [change.kind, change.audience, change.profileId, at, 'anonymousId', anonymousId];
}

/**
 * How every audience event's JSON begins: the processor reads them back from the log (they are
 * a third of its entries with ten audiences) and skips them by this prefix, without parsing.
 */
export const AUDIENCE_EVENT_PREFIX = `{"sourceId":"${AUDIENCE_SOURCE_ID}",`;

const audienceMessageId = ([kind, audience, profileId, at]: PendingAudienceEvent) => `aud-${at}-${kind}-${audience}-${profileId}`;

/**
 * The `Audience Entered` / `Audience Exited` track event for a change, as Segment Engage sends
 * them, carrying the profile's user id (else an anonymous id), as the JSON appended to the log.
 * The messageId is derived from the change and its time: the outbox may append it more than
 * once after a crash, and the log's dedup keeps one. It begins with the time (13 digits of ms,
 * which sort as numbers), so the dedup index takes a commit's audience events on its last page
 * or two rather than each on a page of its own, as it did with the audience's name first.
 * Written out directly rather than built and stringified: it is made for every transition, about
 * half as many as the events sent with ten audiences (measured: a third of the outbox's cost).
 */
export function audienceEventJson(pending: PendingAudienceEvent, messageId = audienceMessageId(pending)): string {
  const [kind, audience, profileId, at, idType, id] = pending;
  const time = new Date(at).toISOString();
  const q = JSON.stringify;
  const event = kind === 'entered' ? 'Audience Entered' : 'Audience Exited';
  return `${AUDIENCE_EVENT_PREFIX}"type":"track","event":"${event}","messageId":${q(messageId)},${q(idType)}:${q(id)},"timestamp":"${time}","receivedAt":"${time}","properties":{"audience_key":${q(audience)},"profile_id":${q(profileId)}},"context":{"library":{"name":"mosaic","version":"1"}}}`;
}

/**
 * The log record of an audience event, from its outbox entry: partitioned and attributed by the
 * identity it carries, as the collector does a sent event's (by userId, else anonymousId),
 * without the rendered JSON being parsed again to find them.
 */
export function audienceAppendRecord(pending: PendingAudienceEvent, partitions: number, receivedAtMs: number): AppendRecord {
  const [, , , , idType, id] = pending;
  const messageId = audienceMessageId(pending);
  return {
    partition: partitionOf(id, partitions),
    sourceId: AUDIENCE_SOURCE_ID,
    messageId,
    receivedAtMs,
    payload: audienceEventJson(pending, messageId),
    ...(id !== '' ? { subject: `${idType}:${id}` } : {}),
  };
}
