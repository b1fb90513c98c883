import { createHash } from 'node:crypto';
import type { Envelope } from '../core/envelope.js';
import type { LogRef } from '../core/resolve-batch.js';
import type { ProfileStore, SeenMessage } from '../ports/profile-store.js';

/** 128 bits of SHA-256 over (sourceId, messageId): fixed length whatever the ids hold. */
export function messageKey(sourceId: string, messageId: string): string {
  return createHash('sha256').update(sourceId).update('\u0000').update(messageId).digest('base64url').slice(0, 22);
}

/**
 * A batch without the events already applied: those the store recorded as seen, and repeats
 * within the batch (the first copy is kept). Runs inside the batch's transaction, so the
 * messages it returns are recorded by the same commit that applies them.
 */
export async function dropSeen(
  store: ProfileStore,
  events: readonly Envelope[],
  refs: readonly (LogRef | undefined)[],
): Promise<{ events: Envelope[]; refs: (LogRef | undefined)[]; messages: SeenMessage[]; duplicates: number }> {
  const candidates: SeenMessage[] = events.map((e, i) => [refs[i]?.partition ?? 0, messageKey(e.sourceId, e.messageId)]);
  const stored = await store.seenMessages(candidates);
  const out = { events: [] as Envelope[], refs: [] as (LogRef | undefined)[], messages: [] as SeenMessage[], duplicates: 0 };
  const batch = new Set<string>();
  for (let i = 0; i < events.length; i++) {
    const key = candidates[i]![1];
    if (stored.has(key) || batch.has(key)) {
      out.duplicates++;
      continue;
    }
    batch.add(key);
    out.events.push(events[i]!);
    out.refs.push(refs[i]);
    out.messages.push(candidates[i]!);
  }
  return out;
}
