import { breakingChanges, COMPATIBILITIES, diffSchemas, formatChange, type Compatibility, type JsonSchema, type SchemaChange } from '../core/schema-diff.js';
import { formatSubject, parseSubject, SubjectError } from '../core/schema-subject.js';
import { MosaicError } from '../errors.js';
import type { SchemaRegistry, SchemaVersion } from '../ports/schema-registry.js';
import { planAjv } from './tracking-plan.js';

/** The subject in its one spelling, or MOSAIC_SCHEMA_SUBJECT_INVALID. */
export function normalizeSubject(text: string): string {
  try {
    return formatSubject(parseSubject(text));
  } catch (err) {
    if (err instanceof SubjectError) throw new MosaicError('MOSAIC_SCHEMA_SUBJECT_INVALID', { message: err.message });
    throw err;
  }
}

function assertSchema(schema: unknown): asserts schema is JsonSchema {
  if (typeof schema === 'boolean') return;
  if (schema === null || typeof schema !== 'object' || Array.isArray(schema)) {
    throw new MosaicError('MOSAIC_SCHEMA_INVALID', { message: 'A schema is a JSON object, e.g. {"type": "object", "properties": {…}, "required": […]}.' });
  }
  const ajv = planAjv();
  if (!ajv.validateSchema(schema)) {
    throw new MosaicError('MOSAIC_SCHEMA_INVALID', { details: (ajv.errors ?? []).map((e) => ({ path: e.instancePath || '/', rule: e.keyword, message: `${e.instancePath || '/'} ${e.message ?? 'is invalid'}` })) });
  }
  try {
    ajv.compile(schema);
  } catch (err) {
    throw new MosaicError('MOSAIC_SCHEMA_INVALID', { message: `The schema does not compile: ${(err as Error).message}` });
  }
}

export interface CheckResult {
  subject: string;
  /** The version compared against (none: the subject is new). */
  against?: number;
  compatibility: Compatibility;
  changes: SchemaChange[];
  breaking: SchemaChange[];
  compatible: boolean;
}

/** What registering `schema` under `subject` would change, and whether its mode allows it. */
export async function checkSchema(registry: SchemaRegistry, subjectText: string, schema: unknown, opts: { compatibility?: Compatibility; defaultCompatibility: Compatibility }): Promise<CheckResult & { latest?: SchemaVersion }> {
  const subject = normalizeSubject(subjectText);
  assertSchema(schema);
  if (opts.compatibility !== undefined && !COMPATIBILITIES.includes(opts.compatibility)) {
    throw new MosaicError('MOSAIC_BAD_REQUEST', { message: `compatibility must be one of ${COMPATIBILITIES.join(', ')}` });
  }
  const versions = await registry.versions(subject);
  const latest = versions[versions.length - 1];
  const compatibility = opts.compatibility ?? latest?.compatibility ?? opts.defaultCompatibility;
  const changes = latest ? diffSchemas(latest.schema, schema) : [];
  const breaking = breakingChanges(changes, compatibility);
  return { subject, ...(latest ? { against: latest.version, latest } : {}), compatibility, changes, breaking, compatible: breaking.length === 0 };
}

/**
 * Registers a new version when it keeps the subject's compatibility; the same schema again is
 * not a new version. Throws MOSAIC_SCHEMA_INCOMPATIBLE with one detail per breaking change.
 */
export async function registerSchema(
  registry: SchemaRegistry,
  subjectText: string,
  schema: unknown,
  opts: { compatibility?: Compatibility; defaultCompatibility: Compatibility; now?: number },
): Promise<{ subject: string; version: number; created: boolean; compatibility: Compatibility; changes: SchemaChange[] }> {
  const check = await checkSchema(registry, subjectText, schema, opts);
  const { subject, latest, compatibility, changes } = check;
  if (!check.compatible) {
    throw new MosaicError('MOSAIC_SCHEMA_INCOMPATIBLE', {
      message: `${subject}: version ${latest!.version + 1} breaks ${compatibility} compatibility with version ${latest!.version} (${check.breaking.length} breaking change${check.breaking.length === 1 ? '' : 's'}).`,
      details: check.breaking.map((c) => ({ path: c.path || '/', rule: c.breaks.join('+'), message: formatChange(c) })),
    });
  }
  if (latest && changes.length === 0 && compatibility === latest.compatibility && JSON.stringify(latest.schema) === JSON.stringify(schema)) {
    return { subject, version: latest.version, created: false, compatibility, changes };
  }
  const version = (latest?.version ?? 0) + 1;
  const inserted = await registry.insert({ subject, version, schema: schema as JsonSchema, compatibility, createdAt: opts.now ?? Date.now() });
  if (!inserted) throw new MosaicError('MOSAIC_SCHEMA_CONFLICT');
  return { subject, version, created: true, compatibility, changes };
}
