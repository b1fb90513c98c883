import { existsSync, mkdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { MosaicError } from './errors.js';

/** Only one process may own a data directory: two writers would corrupt the log offsets. */
export function lockDataDir(dir: string): () => void {
  mkdirSync(dir, { recursive: true });
  const file = join(dir, 'mosaic.pid');
  if (existsSync(file)) {
    const pid = Number(readFileSync(file, 'utf8'));
    if (pid && pid !== process.pid) {
      let alive = true;
      try {
        process.kill(pid, 0);
      } catch {
        alive = false; // left behind by a crash
      }
      if (alive) throw new MosaicError('MOSAIC_DATA_DIR_LOCKED', { message: `Process ${pid} is using ${dir}. Stop it first, or point MOSAIC_DATA_DIR elsewhere.` });
    }
  }
  writeFileSync(file, String(process.pid));
  return () => rmSync(file, { force: true });
}
