import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { Metrics } from '../src/observe/metrics.js';

test('the Grafana dashboard queries only metrics Mosaic exports, grouped by labels they have', () => {
  const dashboard = JSON.parse(readFileSync(join(import.meta.dirname, '../../docs/grafana/mosaic.json'), 'utf8')) as { panels: { targets: { expr: string }[] }[] };
  const registry = new Metrics().registry;
  const exprs = dashboard.panels.flatMap((p) => p.targets.map((t) => t.expr));
  assert.ok(exprs.length >= 10);
  for (const expr of exprs) {
    const names = [...expr.matchAll(/\bmosaic_[a-z_]+/g)].map((m) => m[0].replace(/_(bucket|sum|count)$/, ''));
    assert.ok(names.length > 0, expr);
    const labels = new Set(['le', 'instance', 'job']);
    for (const n of names) {
      const metric = registry.getSingleMetric(n) as unknown as { labelNames?: string[] } | undefined;
      assert.ok(metric, `${n} in "${expr}" is not a Mosaic metric`);
      for (const l of metric.labelNames ?? []) labels.add(l);
    }
    for (const [, by] of expr.matchAll(/by \(([^)]*)\)/g)) {
      for (const l of by!.split(',').map((x) => x.trim())) assert.ok(labels.has(l), `"${expr}" groups by ${l}, which ${names.join(', ')} does not have`);
    }
  }
});
