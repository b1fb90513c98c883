import { readFileSync } from 'node:fs';
import { resolve } from 'node:path';
import type { Config } from '../config.js';
import type { Envelope } from '../core/envelope.js';
import { MosaicError } from '../errors.js';
import { Transformations } from '../process/transformations.js';

/**
 * `mosaic transform test <name|file> <event.json>`: runs one transformation on a sample event,
 * as the processor would, and prints what comes out. Exit code 1 when it would be dead-lettered.
 */
export async function runTransformTest(config: Config, which: string, eventFile: string, out: (s: string) => void = (s) => process.stdout.write(s)): Promise<number> {
  const def = config.transformations.find((t) => t.name === which) ?? { name: which, file: resolve(which), timeoutMs: 50 };
  const t = await Transformations.load([def]);
  let raw: unknown;
  try {
    raw = JSON.parse(readFileSync(eventFile, 'utf8'));
  } catch (err) {
    throw new MosaicError('MOSAIC_BAD_REQUEST', { message: `${eventFile} is not a JSON event: ${(err as Error).message}` });
  }
  const now = new Date().toISOString();
  // A sample as the collector would have stored it: server fields filled in when absent.
  const event = { messageId: 'sample-1', timestamp: now, receivedAt: now, sourceId: 'sample', ...(raw as object) } as Envelope;
  const r = t.run([event]);
  out(JSON.stringify({ events: r.events, dropped: r.dropped, deadLetters: r.deadLetters.map((d) => ({ reason: d.reason })) }, null, 2) + '\n');
  return r.deadLetters.length ? 1 : 0;
}
