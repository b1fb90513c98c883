import { MosaicError } from '../../errors.js';
import type { Embedder } from '../../ports/embedder.js';

export interface HttpEmbedderSettings {
  url: string;
  dimensions: number;
  headers?: Record<string, string>;
  timeoutMs?: number;
  /** Texts per request. */
  batchSize?: number;
}

interface EmbeddingsResponse {
  data?: { embedding?: unknown; index?: number }[];
}

/**
 * Any HTTP embedding endpoint that speaks the common embeddings shape: POST {"input": [texts]}
 * → {"data": [{"embedding": [...], "index": i}]} (OpenAI's API, and the servers that copy it:
 * Ollama, vLLM, text-embeddings-inference, LocalAI). Extra request fields (a model name) go in
 * the URL's query or a header, as the server takes them.
 */
export class HttpEmbedder implements Embedder {
  readonly id: string;
  readonly dimensions: number;

  constructor(private readonly settings: HttpEmbedderSettings) {
    this.dimensions = settings.dimensions;
    this.id = `http:${settings.url}:${settings.dimensions}`;
  }

  async embed(texts: readonly string[]): Promise<Float32Array[]> {
    const out: Float32Array[] = [];
    const size = this.settings.batchSize ?? 64;
    for (let i = 0; i < texts.length; i += size) out.push(...(await this.request(texts.slice(i, i + size))));
    return out;
  }

  private async request(input: readonly string[]): Promise<Float32Array[]> {
    const where = `embedding endpoint ${this.settings.url}`;
    let res: Response;
    try {
      res = await fetch(this.settings.url, {
        method: 'POST',
        headers: { 'content-type': 'application/json', ...this.settings.headers },
        body: JSON.stringify({ input }),
        redirect: 'error',
        signal: AbortSignal.timeout(this.settings.timeoutMs ?? 10_000),
      });
    } catch (err) {
      throw new MosaicError('MOSAIC_EMBEDDER_FAILED', { message: `The ${where} could not be reached: ${(err as Error).message}.`, cause: err });
    }
    if (!res.ok) throw new MosaicError('MOSAIC_EMBEDDER_FAILED', { message: `The ${where} answered ${res.status}: ${(await res.text()).slice(0, 200)}` });
    const body = (await res.json().catch(() => ({}))) as EmbeddingsResponse;
    const data = body.data;
    if (!Array.isArray(data) || data.length !== input.length) {
      throw new MosaicError('MOSAIC_EMBEDDER_FAILED', { message: `The ${where} answered without one embedding per input ({"data": [{"embedding": [...]}]} expected, ${input.length} of them).` });
    }
    const vectors: Float32Array[] = new Array(input.length);
    data.forEach((d, i) => {
      const v = d.embedding;
      if (!Array.isArray(v) || v.length !== this.dimensions || !v.every((x) => typeof x === 'number')) {
        throw new MosaicError('MOSAIC_EMBEDDER_FAILED', { message: `The ${where} returned an embedding of ${Array.isArray(v) ? v.length : 'no'} numbers; personalization.embedder.dimensions says ${this.dimensions}.` });
      }
      vectors[typeof d.index === 'number' ? d.index : i] = Float32Array.from(v as number[]);
    });
    return vectors;
  }
}
