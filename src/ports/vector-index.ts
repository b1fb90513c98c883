/**
 * Approximate nearest neighbours by cosine similarity over vectors keyed by integer labels.
 * One writer (the process that follows the catalog); searches are synchronous and cheap.
 */
export interface VectorIndex {
  readonly dimensions: number;
  /** Adds or replaces the vector of a label (one that was removed comes back). */
  upsert(label: number, vector: Float32Array): void;
  remove(label: number): void;
  /** Empties the index (vectors of another embedder). */
  clear(): void;
  has(label: number): boolean;
  /** The stored vector (normalized), if the label is present. */
  vector(label: number): Float32Array | undefined;
  /** Up to k labels nearest to `vector`, most similar first; `accept` filters labels during the search. */
  search(vector: Float32Array, k: number, accept?: (label: number) => boolean): { label: number; similarity: number }[];
  /** How many labels are present. */
  readonly size: number;
  labels(): number[];
  /** Writes the index to its file (atomically). */
  save(): Promise<void>;
}
