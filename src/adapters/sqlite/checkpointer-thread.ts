/** Entry point of a WAL checkpointer's worker thread: see checkpointer.ts. */
import Database from 'better-sqlite3';
import { parentPort, workerData } from 'node:worker_threads';

export interface CheckpointerOptions {
  file: string;
  intervalMs: number;
}
export type ToCheckpointer = { type: 'close' };
export type FromCheckpointer = { type: 'checkpointed'; frames: number } | { type: 'failed'; message: string };

const port = parentPort!;
const { file, intervalMs } = workerData as CheckpointerOptions;
// Its own connection, so that its fsyncs block this thread and not the writer's.
const db = new Database(file);
db.pragma('busy_timeout = 1000');
// The checkpoint reads pages from the WAL and writes them to the file: no cache worth keeping.
db.pragma('cache_size = -1024');

const timer = setInterval(() => {
  try {
    // PASSIVE waits for no reader or writer: frames written meanwhile are left for the next turn.
    const [row] = db.pragma('wal_checkpoint(PASSIVE)') as { busy: number; log: number; checkpointed: number }[];
    if (row && row.checkpointed > 0) port.postMessage({ type: 'checkpointed', frames: row.checkpointed } satisfies FromCheckpointer);
  } catch (err) {
    port.postMessage({ type: 'failed', message: (err as Error).message } satisfies FromCheckpointer);
  }
}, intervalMs);

port.on('message', (msg: ToCheckpointer) => {
  if (msg.type !== 'close') return;
  clearInterval(timer);
  db.close();
  port.close();
});
