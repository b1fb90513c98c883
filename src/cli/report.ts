import type { Config } from '../config.js';
import { adminRequest } from './quality.js';

type Remote = { url?: string; token?: string };
const print = (text: string): void => void process.stdout.write(`${text}\n`);

interface Answer {
  report: string;
  epsilon: number;
  noiseScale: number;
  minGroupSize: number;
  budget: { spent: number; remaining: number; limit: number; period: string };
  cells: (Record<string, string> & { count?: number; suppressed?: true })[];
}

/** `mosaic report audiences|events`: a differentially private report from the running Mosaic, charged to the token's budget. */
export async function report(config: Config, kind: 'audiences' | 'events', o: Remote & { by?: string; since?: string; until?: string; measure?: string; epsilon?: number; json?: boolean }): Promise<void> {
  const q = new URLSearchParams();
  for (const [k, v] of Object.entries({ by: o.by, since: o.since, until: o.until, measure: o.measure, epsilon: o.epsilon })) if (v !== undefined) q.set(k, String(v));
  const a = (await adminRequest(config, o, 'GET', `/v1/reports/${kind}${q.size ? `?${q}` : ''}`)) as unknown as Answer;
  if (o.json) return print(JSON.stringify(a, null, 2));
  print(`${a.report}: epsilon ${a.epsilon}, Laplace noise of scale ${a.noiseScale.toFixed(2)}, cells under ${a.minGroupSize} withheld`);
  for (const c of a.cells) {
    const { count, suppressed, ...key } = c;
    print(`  ${Object.values(key).join('  ').padEnd(48)} ${suppressed ? `< ${a.minGroupSize}` : String(count)}`);
  }
  print(`budget: ${a.budget.spent} of ${a.budget.limit} spent${a.budget.period === 'day' ? ' today' : ''}, ${a.budget.remaining} left`);
}
