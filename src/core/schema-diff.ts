/**
 * What changes between two versions of a JSON Schema, and which way each change breaks.
 *
 * A change *tightens* when data valid under the old version may be refused by the new one
 * (consumers moved to the new schema cannot read old events: it breaks BACKWARD compatibility),
 * and *loosens* when data valid under the new version may be refused by the old one (it breaks
 * FORWARD compatibility). These are Confluent Schema Registry's definitions, applied to the
 * keywords a tracking plan uses. A keyword this module does not reason about that changed is
 * reported as breaking both ways: a refusal a person can override is better than a silent break.
 */

export type JsonSchema = Record<string, unknown> | boolean;
export type Compatibility = 'backward' | 'forward' | 'full' | 'none';
export const COMPATIBILITIES: readonly Compatibility[] = ['backward', 'forward', 'full', 'none'];

export interface SchemaChange {
  /** Where in the validated object, as a JSON pointer ('' is the object itself). */
  path: string;
  /** What changed, for a person. */
  change: string;
  /** Breaks backward (tightens), forward (loosens), or both. */
  breaks: ('backward' | 'forward')[];
}

/** Keywords that describe and never constrain. */
const ANNOTATIONS = new Set(['title', 'description', '$comment', 'examples', 'default', '$id', '$schema', 'deprecated', 'readOnly', 'writeOnly']);
/** Keywords compared below; any other that differs is a change of unknown direction. */
const HANDLED = new Set([
  'type', 'enum', 'const', 'properties', 'required', 'additionalProperties', 'items',
  'minimum', 'maximum', 'exclusiveMinimum', 'exclusiveMaximum', 'minLength', 'maxLength', 'minItems', 'maxItems', 'pattern', 'format',
]);
const LOWER_BOUNDS = ['minimum', 'exclusiveMinimum', 'minLength', 'minItems'] as const;
const UPPER_BOUNDS = ['maximum', 'exclusiveMaximum', 'maxLength', 'maxItems'] as const;

const TIGHTENS: SchemaChange['breaks'] = ['backward'];
const LOOSENS: SchemaChange['breaks'] = ['forward'];
const BOTH: SchemaChange['breaks'] = ['backward', 'forward'];

function canonical(v: unknown): string {
  if (Array.isArray(v)) return `[${v.map(canonical).join(',')}]`;
  if (v && typeof v === 'object') return `{${Object.keys(v).sort().map((k) => `${JSON.stringify(k)}:${canonical((v as Record<string, unknown>)[k])}`).join(',')}}`;
  return JSON.stringify(v);
}
const same = (a: unknown, b: unknown) => canonical(a) === canonical(b);

/** `true` and `{}` accept anything; `false` accepts nothing. */
function asObject(s: JsonSchema | undefined): Record<string, unknown> | false {
  if (s === undefined || s === true) return {};
  if (s === false) return false;
  return s;
}
const constrains = (s: Record<string, unknown>) => Object.keys(s).some((k) => !ANNOTATIONS.has(k));

function typesOf(s: Record<string, unknown>): Set<string> | undefined {
  const t = s.type;
  if (t === undefined) return undefined;
  return new Set(Array.isArray(t) ? (t as string[]) : [t as string]);
}
/** Whether `types` admits every value of type `t` (an integer is a number). */
const admits = (types: Set<string> | undefined, t: string) => types === undefined || types.has(t) || (t === 'integer' && types.has('number'));
const show = (v: unknown) => (v === undefined ? 'any' : JSON.stringify(v));
const describeTypes = (t: Set<string> | undefined) => (t === undefined ? 'any' : [...t].join(' | '));

/** The changes from `before` to `after`, deepest paths included, in a stable order. */
export function diffSchemas(before: JsonSchema, after: JsonSchema, path = ''): SchemaChange[] {
  const out: SchemaChange[] = [];
  compare(asObject(before), asObject(after), path, out);
  return out;
}

function compare(a: Record<string, unknown> | false, b: Record<string, unknown> | false, path: string, out: SchemaChange[]): void {
  if (a === false || b === false) {
    if (a === false && b === false) return;
    if (a === false) out.push({ path, change: 'was refused, now accepted', breaks: LOOSENS });
    else out.push({ path, change: 'was accepted, now refused', breaks: TIGHTENS });
    return;
  }
  if (same(a, b)) return;

  const ta = typesOf(a);
  const tb = typesOf(b);
  if (!same(ta && [...ta].sort(), tb && [...tb].sort())) {
    const widened = ta === undefined ? false : [...ta].every((t) => admits(tb, t));
    const narrowed = tb === undefined ? false : [...tb].every((t) => admits(ta, t));
    out.push({ path, change: `type ${describeTypes(ta)} → ${describeTypes(tb)}`, breaks: widened && !narrowed ? LOOSENS : narrowed && !widened ? TIGHTENS : BOTH });
  }

  for (const key of ['enum', 'const'] as const) {
    if (same(a[key], b[key])) continue;
    const va = a[key] === undefined ? undefined : key === 'const' ? [a[key]] : (a[key] as unknown[]);
    const vb = b[key] === undefined ? undefined : key === 'const' ? [b[key]] : (b[key] as unknown[]);
    const added = vb === undefined ? [] : vb.filter((v) => va !== undefined && !va.some((x) => same(x, v)));
    const removed = va === undefined ? [] : va.filter((v) => vb === undefined || !vb.some((x) => same(x, v)));
    if (vb === undefined) out.push({ path, change: `${key} ${show(a[key])} removed: any value accepted`, breaks: LOOSENS });
    else if (va === undefined) out.push({ path, change: `${key} ${show(b[key])} added`, breaks: TIGHTENS });
    else {
      if (added.length) out.push({ path, change: `${key} accepts ${added.map((v) => JSON.stringify(v)).join(', ')}`, breaks: LOOSENS });
      if (removed.length) out.push({ path, change: `${key} no longer accepts ${removed.map((v) => JSON.stringify(v)).join(', ')}`, breaks: TIGHTENS });
    }
  }

  for (const key of LOWER_BOUNDS) {
    const x = a[key] as number | undefined;
    const y = b[key] as number | undefined;
    if (x === y) continue;
    const tighter = x === undefined || (y !== undefined && y > x);
    out.push({ path, change: `${key} ${show(x)} → ${show(y)}`, breaks: tighter ? TIGHTENS : LOOSENS });
  }
  for (const key of UPPER_BOUNDS) {
    const x = a[key] as number | undefined;
    const y = b[key] as number | undefined;
    if (x === y) continue;
    const tighter = x === undefined || (y !== undefined && y < x);
    out.push({ path, change: `${key} ${show(x)} → ${show(y)}`, breaks: tighter ? TIGHTENS : LOOSENS });
  }
  for (const key of ['pattern', 'format'] as const) {
    if (a[key] === b[key]) continue;
    out.push({ path, change: `${key} ${show(a[key])} → ${show(b[key])}`, breaks: a[key] === undefined ? TIGHTENS : b[key] === undefined ? LOOSENS : BOTH });
  }

  const reqA = new Set((a.required as string[] | undefined) ?? []);
  const reqB = new Set((b.required as string[] | undefined) ?? []);
  for (const p of reqB) if (!reqA.has(p)) out.push({ path: `${path}/${p}`, change: 'now required', breaks: TIGHTENS });
  for (const p of reqA) if (!reqB.has(p)) out.push({ path: `${path}/${p}`, change: 'no longer required', breaks: LOOSENS });

  const propsA = (a.properties as Record<string, JsonSchema> | undefined) ?? {};
  const propsB = (b.properties as Record<string, JsonSchema> | undefined) ?? {};
  const extraA = asObject(a.additionalProperties as JsonSchema | undefined);
  const extraB = asObject(b.additionalProperties as JsonSchema | undefined);
  for (const name of [...new Set([...Object.keys(propsA), ...Object.keys(propsB)])].sort()) {
    const p = `${path}/${name}`;
    const inA = Object.hasOwn(propsA, name);
    const inB = Object.hasOwn(propsB, name);
    if (inA && inB) compare(asObject(propsA[name]), asObject(propsB[name]), p, out);
    else if (inB) {
      // Before, the property fell under additionalProperties.
      const declared = asObject(propsB[name]);
      if (extraA === false) out.push({ path: p, change: 'property added (was refused as an unknown property)', breaks: declared === false ? [] : LOOSENS });
      else if (constrains(extraA)) compare(extraA, declared, p, out);
      else if (declared === false || constrains(declared)) out.push({ path: p, change: 'property declared: values that were accepted may now be refused', breaks: TIGHTENS });
    } else {
      const declared = asObject(propsA[name]);
      if (extraB === false) out.push({ path: p, change: 'property removed (now refused as an unknown property)', breaks: TIGHTENS });
      else if (constrains(extraB)) compare(declared, extraB, p, out);
      else if (declared === false || constrains(declared)) out.push({ path: p, change: 'property removed from the schema: any value accepted', breaks: LOOSENS });
    }
  }
  if (!same(extraA, extraB)) {
    if (extraA !== false && extraB === false) out.push({ path, change: 'additional properties refused', breaks: TIGHTENS });
    else if (extraA === false && extraB !== false) out.push({ path, change: 'additional properties accepted', breaks: constrains(extraB) ? BOTH : LOOSENS });
    else compare(extraA, extraB, `${path}/*`, out);
  }

  if (!same(a.items, b.items)) compare(asObject(a.items as JsonSchema | undefined), asObject(b.items as JsonSchema | undefined), `${path}/items`, out);

  for (const key of [...new Set([...Object.keys(a), ...Object.keys(b)])].sort()) {
    if (HANDLED.has(key) || ANNOTATIONS.has(key) || same(a[key], b[key])) continue;
    out.push({ path, change: `${key} changed (not analysed: treated as breaking both ways)`, breaks: BOTH });
  }
}

/** The changes that `mode` refuses. */
export function breakingChanges(changes: readonly SchemaChange[], mode: Compatibility): SchemaChange[] {
  if (mode === 'none') return [];
  return changes.filter((c) => (mode === 'full' ? c.breaks.length > 0 : c.breaks.includes(mode)));
}

/** One line per change, e.g. "/price: type number → string (breaks backward, forward)". */
export function formatChange(c: SchemaChange): string {
  return `${c.path || '/'}: ${c.change}${c.breaks.length ? ` (breaks ${c.breaks.join(', ')})` : ''}`;
}
