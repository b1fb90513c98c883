/**
 * Which log partitions this processor may apply. With one embedded store there is one
 * processor and it holds them all; on a shared store each partition is held by exactly one
 * live processor at a time, handed over when one joins, leaves or dies.
 */
export interface PartitionLeases {
  /** Identifies this holder (in logs). */
  readonly owner: string;
  /** Partitions held now. */
  held(): ReadonlySet<number>;
  /**
   * A fencing token per held partition, new at every acquisition. A batch takes them when it
   * starts and commits with them: a partition lost (and perhaps regained) since is refused.
   */
  tokens(): ReadonlyMap<number, string>;
  /** Starts holding (and balancing); `onChange` is called whenever `held()` changes. */
  start(onChange: () => void): Promise<void>;
  /** Releases everything (a graceful stop: others take over at once). */
  stop(): Promise<void>;
}

/** A commit carried offsets of a partition another processor has taken over: nothing of it was written. */
export class PartitionLostError extends Error {
  readonly code = 'MOSAIC_PARTITION_LOST';
  constructor(readonly partitions: readonly number[]) {
    super(`partition${partitions.length > 1 ? 's' : ''} ${partitions.join(', ')} taken over by another processor; the batch was not committed`);
    this.name = 'PartitionLostError';
  }
}

/** Every partition, always: the embedded store has one writer. */
export class AllPartitions implements PartitionLeases {
  readonly owner = 'embedded';
  private readonly all: ReadonlySet<number>;
  private readonly none = new Map<number, string>();
  constructor(partitions: number) {
    this.all = new Set(Array.from({ length: partitions }, (_, p) => p));
  }
  held(): ReadonlySet<number> {
    return this.all;
  }
  /** None: a single writer needs no fencing. */
  tokens(): ReadonlyMap<number, string> {
    return this.none;
  }
  async start(): Promise<void> {}
  async stop(): Promise<void> {}
}
