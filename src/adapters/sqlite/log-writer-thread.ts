/** Entry point of the log writer's worker thread: owns the log file's write connection. */
import { parentPort, workerData } from 'node:worker_threads';
import { LogWriter, type AppendColumns, type LogWriterOptions } from './log-writer.js';

export type ToWriter = { type: 'append'; id: number; columns: AppendColumns } | { type: 'close' };
export type FromWriter =
  | { type: 'ready'; next: number[] }
  | { type: 'appended'; id: number; flags: Uint8Array; next: number[] }
  | { type: 'failed'; id: number; message: string }
  | { type: 'closed' };

const port = parentPort!;
const writer = new LogWriter(workerData as LogWriterOptions);
const send = (msg: FromWriter) => port.postMessage(msg);

port.on('message', (msg: ToWriter) => {
  if (msg.type === 'close') {
    const closed = () => {
      send({ type: 'closed' });
      port.close();
    };
    void writer.close().then(closed, closed);
    return;
  }
  try {
    const flags = writer.append(msg.columns);
    send({ type: 'appended', id: msg.id, flags, next: writer.nextOffsets() });
  } catch (err) {
    send({ type: 'failed', id: msg.id, message: (err as Error).message });
  }
});
send({ type: 'ready', next: writer.nextOffsets() });
