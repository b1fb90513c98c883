/**
 * Text to vectors. Vectors of one embedder are comparable by cosine similarity; `id` names
 * the embedder and its settings, so a stored index built by another can be told apart.
 */
export interface Embedder {
  readonly id: string;
  readonly dimensions: number;
  /** One vector per text, in order. */
  embed(texts: readonly string[]): Promise<Float32Array[]>;
}
