import { readFileSync } from 'node:fs';
import { resolve } from 'node:path';
import vm from 'node:vm';
import { MESSAGE_TYPES, type Envelope, type MessageType } from '../core/envelope.js';
import type { LogRef } from '../core/resolve-batch.js';
import type { DeadLetter } from '../ports/profile-store.js';
import { MosaicError } from '../errors.js';

/**
 * User transformations, as RudderStack and Jitsu offer them: a JavaScript or TypeScript module
 * whose default export receives each event and returns it (changed or not), an array of
 * events (a split), or null (a drop). Each runs in its own V8 context (node:vm) with no
 * require, process, file or network access, and a per-event time budget: an error, a timeout
 * or an invalid result sends the event to the dead-letter list with the reason, and the
 * pipeline goes on.
 */
export interface TransformationDef {
  name: string;
  /** Path to a .js, .mjs or .ts file (made absolute when the config is loaded). */
  file: string;
  /** Per-event time budget. */
  timeoutMs: number;
}

export class TransformationError extends Error {
  constructor(
    readonly transformation: string,
    message: string,
  ) {
    super(`transformation "${transformation}": ${message}`);
    this.name = 'TransformationError';
  }
}

interface Outcome {
  ok: boolean;
  timedOut?: boolean;
  result?: unknown;
  error?: string;
  ms?: number;
}

/** What the sandbox runs: every event of a batch in one call, each one timed and caught alone. */
const RUNNER = `
(function (events, ctx) {
  const fn = module.exports && module.exports.default !== undefined ? module.exports.default : module.exports;
  const out = [];
  for (let i = 0; i < events.length; i++) {
    const started = Date.now();
    try {
      out.push({ ok: true, result: fn(events[i], ctx), ms: Date.now() - started });
    } catch (e) {
      out.push({ ok: false, error: e && e.message ? String(e.message) : String(e) });
    }
  }
  return out;
})(__events, __ctx)`;

async function compileSource(file: string): Promise<string> {
  const source = readFileSync(file, 'utf8');
  try {
    // TypeScript (Apache-2.0) when installed: types stripped and ESM turned into CommonJS.
    const ts = (await import('typescript')).default;
    return ts.transpileModule(source, { fileName: file, compilerOptions: { module: ts.ModuleKind.CommonJS, target: ts.ScriptTarget.ES2022 } }).outputText;
  } catch (err) {
    if (file.endsWith('.ts')) throw new Error(`TypeScript transformations need the "typescript" package (npm install typescript), or compile ${file} to .js`, { cause: err });
    return source.replace(/\bexport\s+default\s+/, 'module.exports.default = ');
  }
}

class Transformation {
  private constructor(
    readonly def: TransformationDef,
    private readonly context: vm.Context,
    private readonly runner: vm.Script,
  ) {}

  static async load(def: TransformationDef): Promise<Transformation> {
    const file = resolve(def.file);
    let code: string;
    try {
      code = await compileSource(file);
    } catch (err) {
      throw new TransformationError(def.name, `cannot read ${file}: ${(err as Error).message}`);
    }
    const module = { exports: {} as Record<string, unknown> };
    // No require, no process: a transformation sees the event and nothing else of the host.
    const context = vm.createContext({ module, exports: module.exports, console: { log() {}, warn() {}, error() {} } }, { codeGeneration: { strings: false, wasm: false } });
    try {
      new vm.Script(code, { filename: file }).runInContext(context, { timeout: 1000 });
    } catch (err) {
      throw new TransformationError(def.name, `${file} failed to load (transformations cannot import modules): ${(err as Error).message}`);
    }
    const fn = module.exports.default ?? module.exports;
    if (typeof fn !== 'function') throw new TransformationError(def.name, `${file} must export a function as its default export`);
    return new Transformation(def, context, new vm.Script(RUNNER, { filename: `mosaic:transformation:${def.name}` }));
  }

  /** Runs the function over `events`; a batch that overruns its whole budget is re-run one event at a time. */
  run(events: readonly Envelope[]): Outcome[] {
    try {
      return this.call(events, Math.min(this.def.timeoutMs * events.length, 30_000));
    } catch (err) {
      if ((err as { code?: string }).code !== 'ERR_SCRIPT_EXECUTION_TIMEOUT') throw err;
      return events.map((e) => {
        try {
          return this.call([e], this.def.timeoutMs)[0]!;
        } catch (inner) {
          if ((inner as { code?: string }).code !== 'ERR_SCRIPT_EXECUTION_TIMEOUT') throw inner;
          return { ok: false, timedOut: true };
        }
      });
    }
  }

  private call(events: readonly Envelope[], timeout: number): Outcome[] {
    this.context.__events = events;
    this.context.__ctx = { transformation: this.def.name };
    try {
      return this.runner.runInContext(this.context, { timeout }) as Outcome[];
    } finally {
      this.context.__events = undefined;
    }
  }
}

/** Why a returned value is not an event Mosaic can process; undefined when it is one. */
function invalid(v: unknown): string | undefined {
  if (!v || typeof v !== 'object' || Array.isArray(v)) return 'returned something that is not an event object';
  const e = v as Record<string, unknown>;
  if (!MESSAGE_TYPES.includes(e.type as MessageType)) return `returned an event whose "type" is ${JSON.stringify(e.type)}, not one of ${MESSAGE_TYPES.join(', ')}`;
  if (typeof e.userId !== 'string' && typeof e.anonymousId !== 'string') return 'returned an event with neither "userId" nor "anonymousId"';
  if (typeof e.timestamp !== 'string' || Number.isNaN(Date.parse(e.timestamp))) return 'returned an event without a valid "timestamp"';
  return undefined;
}

export interface TransformResult {
  events: Envelope[];
  refs: (LogRef | undefined)[];
  deadLetters: DeadLetter[];
  dropped: number;
}

/** The configured transformations, applied in order. */
export class Transformations {
  private constructor(private readonly list: Transformation[]) {}

  /** Loads every transformation; a file that is missing, does not compile or exports no function is a configuration error naming it. */
  static async load(defs: readonly TransformationDef[]): Promise<Transformations> {
    const list: Transformation[] = [];
    const problems: { path: string; rule: string; message: string }[] = [];
    for (const [i, d] of defs.entries()) {
      try {
        list.push(await Transformation.load(d));
      } catch (err) {
        if (!(err instanceof TransformationError)) throw err;
        problems.push({ path: `/transformations/${i}`, rule: 'transformation', message: err.message });
      }
    }
    if (problems.length) throw new MosaicError('MOSAIC_CONFIG_INVALID', { details: problems });
    return new Transformations(list);
  }

  get size(): number {
    return this.list.length;
  }

  run(events: readonly Envelope[], refs: readonly (LogRef | undefined)[] = [], now = Date.now()): TransformResult {
    let cur: Envelope[] = [...events];
    let curRefs: (LogRef | undefined)[] = events.map((_, i) => refs[i]);
    const deadLetters: DeadLetter[] = [];
    let dropped = 0;
    for (const t of this.list) {
      // Server fields as they were, in case the function changes or drops them.
      const server = cur.map((e) => ({ receivedAt: e.receivedAt, sourceId: e.sourceId, messageId: e.messageId }));
      const outcomes = t.run(cur);
      const next: Envelope[] = [];
      const nextRefs: (LogRef | undefined)[] = [];
      const dead = (i: number, reason: string) => deadLetters.push({ at: now, kind: 'transformation', name: t.def.name, reason, payload: JSON.stringify(cur[i]) });
      outcomes.forEach((o, i) => {
        if (o.timedOut) return dead(i, `timed out: still running after ${t.def.timeoutMs} ms (the budget)`);
        if (!o.ok) return dead(i, `threw: ${o.error}`);
        if (o.ms !== undefined && o.ms > t.def.timeoutMs) return dead(i, `took ${o.ms} ms; the budget is ${t.def.timeoutMs} ms`);
        const r = o.result;
        if (r === null || r === undefined) {
          dropped++;
          return;
        }
        if (typeof (r as { then?: unknown }).then === 'function') return dead(i, 'returned a Promise: transformations must return synchronously');
        if (r === cur[i]) {
          // The same object, changed in place or not: no copy needed (it is of this realm).
          const problem = invalid(r);
          if (problem) return dead(i, problem);
          Object.assign(r, { receivedAt: server[i]!.receivedAt, sourceId: server[i]!.sourceId });
          next.push(r as Envelope);
          nextRefs.push(curRefs[i]);
          return;
        }
        const outs = Array.isArray(r) ? r : [r];
        const problem = outs.map(invalid).find((p) => p !== undefined);
        if (problem) return dead(i, problem);
        // Copied out of the sandbox's realm; the server's fields are kept.
        outs.forEach((out, j) => {
          const e = JSON.parse(JSON.stringify(out)) as Envelope;
          e.receivedAt = server[i]!.receivedAt;
          e.sourceId = server[i]!.sourceId;
          if (outs.length > 1 ? typeof e.messageId !== 'string' || e.messageId === server[i]!.messageId : typeof e.messageId !== 'string') {
            e.messageId = outs.length > 1 ? `${server[i]!.messageId}:${j}` : server[i]!.messageId;
          }
          next.push(e);
          nextRefs.push(curRefs[i]);
        });
      });
      cur = next;
      curRefs = nextRefs;
    }
    return { events: cur, refs: curRefs, deadLetters, dropped };
  }
}
