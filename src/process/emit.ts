import { audienceAppendRecord, type PendingAudienceEvent } from '../core/audiences.js';
import { logSubjectOf, type Envelope } from '../core/envelope.js';
import { partitionOf } from '../core/partition.js';
import type { EventLog } from '../ports/event-log.js';

/** Appends envelopes Mosaic itself made (audience events) like the collector appends: by identity, deduplicated by messageId. */
export async function appendEnvelopes(log: EventLog, payloads: readonly string[]): Promise<void> {
  const now = Date.now();
  await log.append(
    payloads.map((payload) => {
      const e = JSON.parse(payload) as Envelope;
      return { partition: partitionOf(e.userId ?? e.anonymousId ?? e.messageId, log.partitions), sourceId: e.sourceId, messageId: e.messageId, receivedAtMs: now, payload, subject: logSubjectOf(e) };
    }),
  );
}

/**
 * Appends audience events from their outbox entries (PendingAudienceEvent as JSON). The
 * processor hands the entries over as they are and the appending thread renders the events:
 * the processor's thread is the busier one with audiences configured.
 */
export async function appendAudienceEvents(log: EventLog, pending: readonly string[]): Promise<void> {
  const now = Date.now();
  await log.append(pending.map((p) => audienceAppendRecord(JSON.parse(p) as PendingAudienceEvent, log.partitions, now)));
}
