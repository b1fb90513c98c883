/**
 * DESIGN.md's structural rules, checked on the compiled modules: no import cycles, src/core
 * does no I/O, and adapters are not imported by the core or the ports.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readdirSync, readFileSync } from 'node:fs';
import { dirname, join, relative, resolve } from 'node:path';

const SRC = join(import.meta.dirname, '../src');

function modules(dir: string): string[] {
  return readdirSync(dir, { withFileTypes: true }).flatMap((d) => (d.isDirectory() ? modules(join(dir, d.name)) : d.name.endsWith('.js') ? [join(dir, d.name)] : []));
}

/** Static imports only: `import type` is erased by tsc, so what remains is a real edge. */
function imports(file: string): string[] {
  const text = readFileSync(file, 'utf8');
  return [...text.matchAll(/^(?:import|export)\s[^;]*?from\s+['"]([^'"]+)['"]/gm)].map((m) => m[1]!);
}

const graph = new Map(modules(SRC).map((f) => [f, imports(f)]));
const local = (from: string, spec: string) => (spec.startsWith('.') ? resolve(dirname(from), spec) : undefined);
const rel = (f: string) => relative(SRC, f);

test('no import cycles between modules', () => {
  const state = new Map<string, 'visiting' | 'done'>();
  const cycles: string[] = [];
  const visit = (f: string, path: string[]) => {
    if (state.get(f) === 'done') return;
    if (state.get(f) === 'visiting') {
      cycles.push([...path.slice(path.indexOf(f)), f].map(rel).join(' -> '));
      return;
    }
    state.set(f, 'visiting');
    for (const spec of graph.get(f) ?? []) {
      const to = local(f, spec);
      if (to && graph.has(to)) visit(to, [...path, f]);
    }
    state.set(f, 'done');
  };
  for (const f of graph.keys()) visit(f, []);
  assert.deepEqual(cycles, []);
});

test('src/core imports nothing that does I/O', () => {
  // Pure computation libraries only: hashing, schemas, user-agent parsing, a bounded cache.
  const allowed = new Set(['node:crypto', '@sinclair/typebox', 'ua-parser-js', 'lru-cache']);
  for (const [f, specs] of graph) {
    if (!rel(f).startsWith('core/')) continue;
    for (const spec of specs) {
      const to = local(f, spec);
      if (to) assert.ok(rel(to).startsWith('core/'), `${rel(f)} imports ${rel(to)} from outside core`);
      else assert.ok(allowed.has(spec), `${rel(f)} imports ${spec}`);
    }
  }
});

test('core and ports never import adapters', () => {
  for (const [f, specs] of graph) {
    if (!/^(core|ports)\//.test(rel(f))) continue;
    for (const spec of specs) {
      const to = local(f, spec);
      assert.ok(!to || !rel(to).startsWith('adapters/'), `${rel(f)} imports ${spec}`);
    }
  }
});
