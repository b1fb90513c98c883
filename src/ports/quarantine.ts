/** One way an event breaks its tracking plan. */
export interface Violation {
  /** JSON pointer into the message, e.g. /properties/price. */
  path: string;
  /** The rule broken: a JSON Schema keyword (type, required, enum…) or `unplanned`. */
  rule: string;
  message: string;
  /** The offending value, when there is one (absent for a missing property). */
  value?: unknown;
  /** subject@version of the schema that refused it. */
  schema?: string;
}

export interface QuarantineEntry {
  /** When Mosaic received the event (ms). */
  receivedAtMs: number;
  sourceId: string;
  messageId: string;
  /** The subject the event was checked against (or would be, when unplanned). */
  subject: string;
  violations: Violation[];
  /** The message exactly as the client sent it (JSON). */
  payload: string;
  /** The batch's sentAt, which corrects the event's clock on replay as it would have at ingest. */
  batchSentAt?: string;
  /** The client's IP as the collector saw it (geo enrichment reads it). */
  ip?: string;
}

export interface QuarantinedEvent extends QuarantineEntry {
  id: number;
  /** Set once the event went on to the log. */
  replayedAtMs?: number;
}

export interface QuarantineFilter {
  afterId?: number;
  limit: number;
  /** Only events with a violation of this rule. */
  rule?: string;
  subject?: string;
  status?: 'pending' | 'replayed' | 'all';
}

/**
 * Events held back at the door because they broke the tracking plan: kept whole with every
 * reason, until they are replayed (after the plan or the data is fixed) or erased.
 */
export interface Quarantine {
  /** Resolves once the entries are durable: the collector answers 200 only then. */
  add(entries: readonly QuarantineEntry[]): Promise<void>;
  list(filter: QuarantineFilter): Promise<QuarantinedEvent[]>;
  get(id: number): Promise<QuarantinedEvent | undefined>;
  /** New reasons after a replay that still fails. */
  setViolations(id: number, violations: readonly Violation[]): Promise<void>;
  markReplayed(ids: readonly number[], atMs: number): Promise<void>;
  /** Erasure: deletes these entries for good. */
  remove(ids: readonly number[]): Promise<number>;
  /** Pending events by rule (an event with two rules counts under each). */
  pendingByRule(): Promise<Map<string, number>>;
  /** Pending events by subject (`track:Order Completed`, `identify`): which events break the plan. */
  pendingBySubject(): Promise<Map<string, number>>;
  close(): Promise<void>;
}
