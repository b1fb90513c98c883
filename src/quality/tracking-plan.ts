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
export class TrackingPlan {
  private readonly validators = new Map<string, { validate: ValidateFunction; version: number; field: 'properties' | 'traits' }>();

  constructor(
    versions: readonly SchemaVersion[],
    /** `violation`: an event no schema describes breaks the plan (rule `unplanned`). */
    private readonly unplanned: 'allow' | 'violation' = 'allow',
    ajv: Ajv = planAjv(),
  ) {
    for (const v of versions) {
      const kind: PlannedType = parseSubject(v.subject).kind;
      this.validators.set(v.subject, { validate: ajv.compile(v.schema), version: v.version, field: plannedField(kind) });
    }
  }

  get size(): number {
    return this.validators.size;
  }

  /** Checks a structurally valid message from a source (its id and name). */
  check(msg: Record<string, unknown>, type: MessageType, sources: readonly string[]): PlanCheck | undefined {
    if (type === 'alias') return undefined;
    if (this.validators.size === 0 && this.unplanned === 'allow') return undefined;
    const name = type === 'track' ? (msg.event as string | undefined) : typeof msg.name === 'string' ? msg.name : undefined;
    const candidates = candidateSubjects(type, name, sources);
    for (const subject of candidates) {
      const v = this.validators.get(subject);
      if (!v) continue;
      const data = msg[v.field] ?? {};
      if (v.validate(data)) return undefined;
      const schema = `${subject}@${v.version}`;
      return { subject, violations: (v.validate.errors ?? []).map((e) => toViolation(e, data, v.field, schema)) };
    }
    if (this.unplanned === 'allow') return undefined;
    const subject = candidates[candidates.length - 1]!;
    return { subject, violations: [{ path: type === 'track' ? '/event' : '/type', rule: 'unplanned', message: `no schema in the tracking plan describes "${subject}"`, value: name ?? type }] };
  }
}
