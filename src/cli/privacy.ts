import { openConsentLog } from '../adapters/from-config.js';
import type { Config } from '../config.js';
import { firstBroken, type ChainedRecord } from '../core/hash-chain.js';

/** `mosaic privacy verify`: walks the consent log's chain; exit 1 at the first entry that does not hold. */
export async function privacyVerify(config: Config): Promise<void> {
  const log = await openConsentLog(config);
  try {
    let prev: { seq: number; hash: string } | undefined;
    let count = 0;
    for (;;) {
      const page: ChainedRecord[] = await log.read(prev?.seq ?? 0, 10_000);
      if (!page.length) break;
      const broken = firstBroken(page, prev);
      if (broken) {
        process.stdout.write(`consent log: BROKEN at entry ${broken.seq}: ${broken.why}\n`);
        process.exitCode = 1;
        return;
      }
      count += page.length;
      const last = page[page.length - 1]!;
      prev = { seq: last.seq, hash: last.hash };
    }
    process.stdout.write(`consent log: ${count} entries, the chain holds${prev ? ` (head ${prev.hash.slice(0, 16)}…)` : ''}\n`);
  } finally {
    await log.close();
  }
}
