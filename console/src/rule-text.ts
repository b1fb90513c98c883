/** An audience rule (src/core/audiences.ts RuleDef) as a sentence a person can read. */
type Rule = Record<string, unknown>;

const OPS: Record<string, string> = { eq: '=', neq: '≠', gt: '>', gte: '≥', lt: '<', lte: '≤', in: 'is one of', exists: 'exists', contains: 'contains' };

const value = (v: unknown) => (typeof v === 'string' ? `"${v}"` : JSON.stringify(v));
const cond = (what: string, op: unknown, v: unknown) => (op === 'exists' ? `${what} exists` : `${what} ${OPS[String(op)] ?? String(op)} ${value(v)}`);

export function ruleText(rule: Rule): string {
  if (Array.isArray(rule.all)) return (rule.all as Rule[]).map((r) => wrap(r)).join(' and ');
  if (Array.isArray(rule.any)) return (rule.any as Rule[]).map((r) => wrap(r)).join(' or ');
  if (rule.not) return `not ${wrap(rule.not as Rule)}`;
  if (typeof rule.trait === 'string') return cond(`trait ${rule.trait}`, rule.op, rule.value);
  if (typeof rule.computed === 'string') return cond(rule.computed, rule.op, rule.value);
  const what = typeof rule.event === 'string' ? `"${rule.event}"` : typeof rule.type === 'string' ? `a ${rule.type} event` : 'any event';
  const where = Array.isArray(rule.where) && rule.where.length ? ` where ${(rule.where as { path: string; op: string; value?: unknown }[]).map((c) => cond(c.path, c.op, c.value)).join(' and ')}` : '';
  const times = rule.atMost !== undefined ? `at most ${String(rule.atMost)} times` : `at least ${String(rule.atLeast ?? 1)} time${rule.atLeast === undefined || rule.atLeast === 1 ? '' : 's'}`;
  const within = typeof rule.within === 'string' ? ` within ${rule.within}` : '';
  return `did ${what}${where} ${times}${within}`;
}

function wrap(r: Rule): string {
  const t = ruleText(r);
  return r.all || r.any ? `(${t})` : t;
}
