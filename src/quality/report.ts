import type { SuiteRun } from '../ports/expectation-runs.js';

const esc = (s: unknown) => String(s).replace(/[&<>"']/g, (c) => ({ '&': '&amp;', '<': '&lt;', '>': '&gt;', '"': '&quot;', "'": '&#39;' })[c]!);
const when = (ms: number) => new Date(ms).toISOString().replace('T', ' ').replace(/\.\d+Z$/, ' UTC');

/** The machine-readable report: the latest run of each suite, with each expectation's recent statuses. */
export function jsonReport(latest: readonly SuiteRun[], history: readonly SuiteRun[]) {
  return {
    generatedAt: new Date().toISOString(),
    status: latest.some((r) => r.status === 'error') ? 'error' : latest.some((r) => r.status === 'fail') ? 'fail' : 'pass',
    suites: latest.map((run) => ({
      ...run,
      startedAt: new Date(run.startedAt).toISOString(),
      finishedAt: new Date(run.finishedAt).toISOString(),
      results: run.results.map((r) => ({ ...r, history: trail(history, run.suite, r.name) })),
    })),
  };
}

/** An expectation's statuses in the runs of its suite, oldest first. */
function trail(history: readonly SuiteRun[], suite: string, name: string): { at: string; status: string }[] {
  return history
    .filter((h) => h.suite === suite)
    .sort((a, b) => a.startedAt - b.startedAt)
    .flatMap((h) => h.results.filter((r) => r.name === name).map((r) => ({ at: new Date(h.startedAt).toISOString(), status: r.status })));
}

/** A static, self-contained HTML page (no script, no external asset): open it anywhere, attach it to a CI run. */
export function htmlReport(latest: readonly SuiteRun[], history: readonly SuiteRun[]): string {
  const badge = (s: string) => `<span class="b ${esc(s)}">${esc(s)}</span>`;
  const suites = latest
    .map((run) => {
      const rows = run.results
        .map((r) => {
          const dots = trail(history, run.suite, r.name)
            .map((t) => `<i class="${esc(t.status)}" title="${esc(t.at)}: ${esc(t.status)}"></i>`)
            .join('');
          const observed = Object.entries(r.observed)
            .map(([k, v]) => `${esc(k)}: ${esc(Array.isArray(v) ? v.join(', ') : typeof v === 'object' && v !== null ? JSON.stringify(v) : v)}`)
            .join('<br>');
          const examples = r.examples?.length ? `<div class="ex">e.g. ${r.examples.map((e) => `<code>${esc(JSON.stringify(e))}</code>`).join(' ')}</div>` : '';
          return `<tr><td>${badge(r.status)}</td><td><code>${esc(r.name)}</code></td><td>${esc(r.message)}${examples}</td><td class="obs">${observed}</td><td class="h">${dots}</td></tr>`;
        })
        .join('\n');
      return `<section><h2>${esc(run.suite)} ${badge(run.status)}</h2><p>table <code>${esc(run.table)}</code> · run ${esc(when(run.startedAt))} in ${run.finishedAt - run.startedAt} ms</p>
<table><thead><tr><th>status</th><th>expectation</th><th>result</th><th>observed</th><th>history</th></tr></thead><tbody>
${rows}
</tbody></table></section>`;
    })
    .join('\n');
  const failing = latest.flatMap((r) => r.results).filter((r) => r.status !== 'pass').length;
  return `<!doctype html>
<html lang="en"><head><meta charset="utf-8"><meta name="viewport" content="width=device-width, initial-scale=1">
<title>Mosaic data quality report</title>
<style>
body{font:14px/1.45 system-ui,sans-serif;margin:2rem auto;max-width:72rem;padding:0 1rem;color:#1b1f24}
table{border-collapse:collapse;width:100%;margin-bottom:2rem}th,td{border-bottom:1px solid #d0d7de;padding:.4rem .5rem;text-align:left;vertical-align:top}
th{background:#f6f8fa}.obs{font-size:12px;color:#57606a}.ex{font-size:12px;color:#57606a;margin-top:.2rem}
.b{border-radius:1em;padding:0 .6em;font-size:12px;font-weight:600;color:#fff}.b.pass{background:#1a7f37}.b.fail{background:#cf222e}.b.error{background:#9a6700}
.h i{display:inline-block;width:8px;height:14px;margin-right:2px;border-radius:2px}.h i.pass{background:#1a7f37}.h i.fail{background:#cf222e}.h i.error{background:#9a6700}
</style></head><body>
<h1>Data quality</h1>
<p>${latest.length} suite${latest.length === 1 ? '' : 's'}, ${failing} expectation${failing === 1 ? '' : 's'} not passing · generated ${esc(when(Date.now()))}</p>
${suites || '<p>No expectation has run yet.</p>'}
</body></html>
`;
}
