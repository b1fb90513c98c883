/**
 * How the JetStream log packs events into messages. A message's body is its events' JSON
 * payloads joined by newlines (JSON.stringify never writes a raw one); its receive times are a
 * header, one number when all are equal, else one per event, comma-separated.
 */

/**
 * Events per message at most, and the offset space each message takes: the events of the
 * message with stream sequence `s` holding `n` events have offsets `s * STRIDE + STRIDE - n + i`,
 * so the last one's next offset is where the next message's could start.
 */
export const STRIDE = 1024;
/** A message's body at most (one larger event goes alone). */
export const MESSAGE_BYTES = 256 * 1024;
export const RECEIVED_AT = 'Mosaic-Received-At';

export function firstOffset(sequence: number, events: number): number {
  return sequence * STRIDE + STRIDE - events;
}

/** The offset after everything up to and including the message with this sequence. */
export function offsetAfter(sequence: number): number {
  return (sequence + 1) * STRIDE;
}

/** The stream sequence holding `offset`. */
export function sequenceOf(offset: number): number {
  return Math.floor(offset / STRIDE);
}

export function joinPayloads(payloads: readonly string[]): string {
  return payloads.length === 1 ? payloads[0]! : payloads.join('\n');
}

export function splitPayloads(body: string): string[] {
  return body.split('\n');
}

export function receivedAtHeader(times: readonly number[]): string {
  const first = times[0]!;
  return times.every((t) => t === first) ? String(first) : times.join(',');
}

/** Receive time of each of `n` events from the header (or the stream's timestamp without one). */
export function receivedAtOf(header: string | undefined, n: number, fallbackMs: number): (i: number) => number {
  const times = header ? header.split(',').map(Number) : [fallbackMs];
  return times.length === n ? (i) => times[i]! : () => times[0]!;
}
