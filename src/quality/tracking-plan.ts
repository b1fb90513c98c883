import { Ajv, type ErrorObject, type ValidateFunction } from 'ajv';
import addFormatsImport from 'ajv-formats';
import type { MessageType } from '../core/envelope.js';
import { candidateSubjects, plannedField, parseSubject, type PlannedType } from '../core/schema-subject.js';
import type { Violation } from '../ports/quarantine.js';
import type { SchemaVersion } from '../ports/schema-registry.js';

// ajv-formats is CommonJS with a default export; under NodeNext it arrives as the module object.
const addFormats = ((addFormatsImport as unknown as { default?: typeof addFormatsImport }).default ?? addFormatsImport) as unknown as (ajv: Ajv) => Ajv;

/** One Ajv for compiling and for checking that a schema is a schema. */
export function planAjv(): Ajv {
  const ajv = new Ajv({ allErrors: true, strict: false });
  addFormats(ajv);
  return ajv;
}

/** The value at a JSON pointer (Ajv's instancePath), for the violation report. */
function at(data: unknown, pointer: string): unknown {
  let cur = data;
  for (const raw of pointer.split('/').slice(1)) {
    if (cur === null || typeof cur !== 'object') return undefined;
    cur = (cur as Record<string, unknown>)[raw.replace(/~1/g, '/').replace(/~0/g, '~')];
  }
  return cur;
}

/** Long strings and big objects are cut in reports: a violation shows the value, not a payload. */
function preview(v: unknown): unknown {
  if (typeof v === 'string') return v.length > 200 ? `${v.slice(0, 200)}…` : v;
  if (v !== null && typeof v === 'object') {
    const text = JSON.stringify(v);
    return text.length > 200 ? `${text.slice(0, 200)}…` : v;
  }
  return v;
}

function toViolation(e: ErrorObject, data: unknown, field: string, schema: string): Violation {
  let path = e.instancePath;
  let message = e.message ?? 'is invalid';
  if (e.keyword === 'required') {
    const p = (e.params as { missingProperty: string }).missingProperty;
    path = `${path}/${p}`;
    message = `"${p}" is required`;
  } else if (e.keyword === 'additionalProperties') {
    const p = (e.params as { additionalProperty: string }).additionalProperty;
    path = `${path}/${p}`;
    message = `"${p}" is not in the tracking plan`;
  } else if (e.keyword === 'enum') {
    message = `must be one of ${(e.params as { allowedValues: unknown[] }).allowedValues.map((v) => JSON.stringify(v)).join(', ')}`;
  }
  const value = e.keyword === 'required' ? undefined : at(data, path);
  return { path: `/${field}${path}`, rule: e.keyword, message: `/${field}${path} ${message}`, ...(value !== undefined ? { value: preview(value) } : {}), schema };
}

export interface PlanCheck {
  /** The subject that applies (or, for an unplanned event, the one that would). */
  subject: string;
  violations: Violation[];
}

/**
 * The tracking plan compiled: the latest version of each subject as an Ajv validator. Built
 * once per registry revision; `check` is on the ingest path, so it allocates only on failure.
 */
type Compiled = { subject: string; validate: ValidateFunction; version: number; field: 'properties' | 'traits' };
/** The key of a subject without a name (`identify`, `page`) in its kind's map. */
const ANY_NAME = '\u0000';

export class TrackingPlan {
  /** source ('' for every source) → kind → name (or ANY_NAME) → validator: lookups without building subject strings. */
  private readonly validators = new Map<string, Map<string, Map<string, Compiled>>>();
  readonly size: number;

  constructor(
    versions: readonly SchemaVersion[],
    /** `violation`: an event that no schema describes breaks the plan (rule `unplanned`). */
    private readonly unplanned: 'allow' | 'violation' = 'allow',
    ajv: Ajv = planAjv(),
  ) {
    for (const v of versions) {
      const s = parseSubject(v.subject);
      const compiled: Compiled = { subject: v.subject, validate: ajv.compile(v.schema), version: v.version, field: plannedField(s.kind) };
      let bySource = this.validators.get(s.source ?? '');
      if (!bySource) this.validators.set(s.source ?? '', (bySource = new Map()));
      let byKind = bySource.get(s.kind);
      if (!byKind) bySource.set(s.kind, (byKind = new Map()));
      byKind.set(s.name ?? ANY_NAME, compiled);
    }
    this.size = versions.length;
  }

  /** The most specific schema for this message: per source before general, by name before any name. */
  private find(type: PlannedType, name: string | undefined, sources: readonly string[]): Compiled | undefined {
    const named = name !== undefined && type !== 'identify' && type !== 'group';
    const lookup = (source: string) => {
      const byKind = this.validators.get(source)?.get(type);
      if (!byKind) return undefined;
      return (named ? byKind.get(name) : undefined) ?? (type === 'track' ? undefined : byKind.get(ANY_NAME));
    };
    if (this.validators.size > 1 || !this.validators.has('')) {
      for (const source of sources) {
        const found = lookup(source);
        if (found) return found;
      }
    }
    return lookup('');
  }

  /** Checks a structurally valid message from a source (its id and name). */
  check(msg: Record<string, unknown>, type: MessageType, sources: readonly string[]): PlanCheck | undefined {
    if (type === 'alias') return undefined;
    if (this.size === 0 && this.unplanned === 'allow') return undefined;
    const name = type === 'track' ? (msg.event as string | undefined) : typeof msg.name === 'string' ? msg.name : undefined;
    const v = this.find(type, name, sources);
    if (v) {
      const data = msg[v.field] ?? {};
      if (v.validate(data)) return undefined;
      const schema = `${v.subject}@${v.version}`;
      return { subject: v.subject, violations: (v.validate.errors ?? []).map((e) => toViolation(e, data, v.field, schema)) };
    }
    if (this.unplanned === 'allow') return undefined;
    const candidates = candidateSubjects(type, name, sources);
    const subject = candidates[candidates.length - 1]!;
    return { subject, violations: [{ path: type === 'track' ? '/event' : '/type', rule: 'unplanned', message: `no schema in the tracking plan describes "${subject}"`, value: name ?? type }] };
  }
}
