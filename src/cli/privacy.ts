import { writeFileSync } from 'node:fs';
import { openConsentLog } from '../adapters/from-config.js';
import { adminRequest } from './quality.js';
import type { Config } from '../config.js';
import { firstBroken, type ChainedRecord } from '../core/hash-chain.js';

/** `mosaic privacy verify`: walks the consent log's chain; exit 1 at the first entry that does not hold. */
export async function privacyVerify(config: Config): Promise<void> {
  const log = await openConsentLog(config);
  try {
    let prev: { seq: number; hash: string } | undefined;
    let count = 0;
    for (;;) {
      const page: ChainedRecord[] = await log.read(prev?.seq ?? 0, 10_000);
      if (!page.length) break;
      const broken = firstBroken(page, prev);
      if (broken) {
        process.stdout.write(`consent log: BROKEN at entry ${broken.seq}: ${broken.why}\n`);
        process.exitCode = 1;
        return;
      }
      count += page.length;
      const last = page[page.length - 1]!;
      prev = { seq: last.seq, hash: last.hash };
    }
    process.stdout.write(`consent log: ${count} entries, the chain holds${prev ? ` (head ${prev.hash.slice(0, 16)}…)` : ''}\n`);
  } finally {
    await log.close();
  }
}

type Remote = { url?: string; token?: string };
const print = (text: string): void => void process.stdout.write(`${text}\n`);

/** `mosaic privacy export <idType:id>`: everything held on the person, from the running Mosaic (which holds the log). */
export async function privacyExport(config: Config, subject: string, o: Remote & { out?: string }): Promise<void> {
  const res = await adminRequest(config, o, 'POST', '/v1/privacy/exports', { subject });
  const text = JSON.stringify(res, null, 2);
  if (o.out) {
    writeFileSync(o.out, text);
    print(`export ${(res.request as { id: string }).id}: ${JSON.stringify(res.summary)} -> ${o.out}`);
  } else print(text);
}

/** `mosaic privacy erase <idType:id>`: asks the running Mosaic, then follows the request until it is done. */
export async function privacyErase(config: Config, subject: string, o: Remote): Promise<void> {
  const asked = (await adminRequest(config, o, 'POST', '/v1/privacy/erasures', { subject })).request as { id: string; confirmBy: string; dueBy: string };
  print(`erasure ${asked.id} accepted (answer due by ${asked.dueBy})`);
  let last = '';
  for (;;) {
    const r = (await adminRequest(config, o, 'GET', `/v1/privacy/requests/${asked.id}`)).request as { status: string; summary?: { step?: string }; error?: string };
    const step = r.summary?.step ?? r.status;
    if (step !== last && r.status === 'in_progress') print(`  ${step}…`);
    last = step;
    if (r.status === 'completed') {
      print(`erasure ${asked.id} completed:\n${JSON.stringify(r.summary, null, 2)}`);
      return;
    }
    if (r.status === 'failed') {
      print(`erasure ${asked.id} FAILED: ${r.error ?? 'unknown error'} (run it again: every step can be repeated)`);
      process.exitCode = 1;
      return;
    }
    await new Promise((resolve) => setTimeout(resolve, 250));
  }
}

export async function privacyRequests(config: Config, o: Remote & { json?: boolean }): Promise<void> {
  const { requests } = (await adminRequest(config, o, 'GET', '/v1/privacy/requests')) as { requests: { id: string; kind: string; status: string; subject?: string; receivedAt: string; confirmBy: string; dueBy: string; overdue: boolean }[] };
  if (o.json) return print(JSON.stringify(requests, null, 2));
  if (!requests.length) return print('no privacy requests');
  for (const r of requests) print(`${r.id}  ${r.kind.padEnd(7)} ${r.status.padEnd(11)} received ${r.receivedAt}  confirm by ${r.confirmBy.slice(0, 10)}  due ${r.dueBy.slice(0, 10)}${r.overdue ? '  OVERDUE' : ''}  ${r.subject ?? ''}`);
}

/** `mosaic audit`: reads of personal data, newest first. */
export async function auditQuery(config: Config, o: Remote & { subject?: string; actor?: string; action?: string; since?: string; limit: number; json?: boolean }): Promise<void> {
  const q = new URLSearchParams({ limit: String(o.limit) });
  for (const k of ['subject', 'actor', 'action', 'since'] as const) if (o[k]) q.set(k, o[k]);
  const { entries } = (await adminRequest(config, o, 'GET', `/v1/audit?${q}`)) as { entries: { at: string; actor: string; action: string; subject: string; ip: string; status: number }[] };
  if (o.json) return print(JSON.stringify(entries, null, 2));
  if (!entries.length) return print('no audit entries match');
  for (const e of entries) print(`${e.at}  ${e.actor.padEnd(12)} ${e.action.padEnd(16)} ${String(e.status)}  ${e.subject}  ${e.ip}`);
}

/** `mosaic privacy reveal <token> --reason …`: one value from the re-identification vault, audited with the reason. */
export async function privacyReveal(config: Config, token: string, o: Remote & { reason: string }): Promise<void> {
  const r = (await adminRequest(config, o, 'POST', '/v1/privacy/reveal', { token, reason: o.reason })) as { value: string; keptAt: string };
  print(`${r.value}\t(kept ${r.keptAt}; this reveal is in the audit trail)`);
}
