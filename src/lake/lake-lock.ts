/**
 * Offload, compaction, retention and the profile snapshot each read the manifest, work, and
 * write it back: within one process they take turns per lake (across processes, the lake's
 * pid lock keeps one writer).
 */
const turns = new Map<string, Promise<unknown>>();

export function inLake<T>(lakeDir: string, fn: () => Promise<T> | T): Promise<T> {
  const previous = turns.get(lakeDir) ?? Promise.resolve();
  const run = previous.then(fn, fn);
  const settled = run.catch(() => undefined);
  turns.set(lakeDir, settled);
  void settled.then(() => {
    if (turns.get(lakeDir) === settled) turns.delete(lakeDir);
  });
  return run;
}
