import { randomUUID } from 'node:crypto';
import { toEnvelope, type MessageType } from '../core/envelope.js';
import { partitionOf } from '../core/partition.js';
import { validateMessage } from '../collect/validate-message.js';
import type { AppendRecord, EventLog } from '../ports/event-log.js';
import type { Quarantine, QuarantinedEvent, Violation } from '../ports/quarantine.js';
import type { TrackingPlan } from './tracking-plan.js';
import { isToken, type Pseudonymizer } from '../core/pseudonymize.js';

export interface ReplayOutcome {
  /** Ids now in the log (or already there: a duplicate counts as replayed). */
  replayed: number[];
  /** Ids that still break the plan, with their current violations (kept in the quarantine). */
  failing: { id: number; violations: Violation[] }[];
}

/**
 * Sends quarantined events on to the log once they pass the current plan (or with `force`,
 * tagged with their violations as an `allow` source would). Each event keeps its messageId, so
 * a replay that crashes half-way and runs again stores each event once. `payload` replaces the
 * stored message (a fix by hand) for a single event.
 */
export async function replayQuarantined(
  events: readonly QuarantinedEvent[],
  deps: { plan: TrackingPlan; log: EventLog; quarantine: Quarantine; sourceName?: (id: string) => string | undefined; force?: boolean; payload?: Record<string, unknown>; now?: number; pseudonymizer?: Pseudonymizer },
): Promise<ReplayOutcome> {
  const now = deps.now ?? Date.now();
  const out: ReplayOutcome = { replayed: [], failing: [] };
  const records: AppendRecord[] = [];
  const ids: number[] = [];
  for (const q of events) {
    if (q.replayedAtMs !== undefined) continue;
    const stored = JSON.parse(q.payload) as Record<string, unknown>;
    // A fixed payload keeps the event's identity and type unless it says otherwise.
    const msg = deps.payload ? { type: stored.type, messageId: q.messageId, ...deps.payload } : stored;
    const problems = validateMessage(msg);
    if (problems.length) {
      const violations = problems.map((p) => ({ path: p.path ?? '/', rule: p.rule ?? 'invalid', message: p.message }));
      await deps.quarantine.setViolations(q.id, violations);
      out.failing.push({ id: q.id, violations });
      continue;
    }
    const type = msg.type as MessageType;
    const name = deps.sourceName?.(q.sourceId);
    const found = deps.plan.check(msg, type, name !== undefined ? [q.sourceId, name] : [q.sourceId]);
    // Values pseudonymized when the event was held cannot be checked again (a token is not an
    // email): they were checked, raw, at the door.
    const violations = found?.violations.filter((v) => !isToken(v.value));
    const check = found && violations?.length ? { ...found, violations } : undefined;
    if (check && !deps.force) {
      await deps.quarantine.setViolations(q.id, check.violations);
      out.failing.push({ id: q.id, violations: check.violations });
      continue;
    }
    const env = toEnvelope(msg, {
      type,
      receivedAtMs: q.receivedAtMs,
      receivedAt: new Date(q.receivedAtMs).toISOString(),
      sourceId: q.sourceId,
      ...(q.batchSentAt !== undefined ? { batchSentAt: q.batchSentAt } : {}),
      newMessageId: randomUUID,
      ...(q.ip !== undefined ? { ip: q.ip } : {}),
    });
    if (check) env.context = { ...env.context, violations: check.violations };
    deps.pseudonymizer?.apply(env); // a payload fixed by hand arrives raw
    // The log's receive time is now: it drives freshness and the dedup window, not the event's time.
    records.push({ partition: partitionOf(env.userId ?? env.anonymousId ?? env.messageId, deps.log.partitions), sourceId: q.sourceId, messageId: env.messageId, receivedAtMs: now, payload: JSON.stringify(env) });
    ids.push(q.id);
  }
  if (records.length) {
    await deps.log.append(records);
    await deps.quarantine.markReplayed(ids, now);
    out.replayed.push(...ids);
  }
  return out;
}
