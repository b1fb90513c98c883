import type { QuarantinedEvent, Violation } from '../ports/quarantine.js';

/** The quarantine table's row, the same in every SQL dialect. */
export type QuarantineRow = {
  id: number | string; received_at: number | string; source_id: string; message_id: string; subject: string; violations: string; payload: string;
  batch_sent_at: string | null; ip: string | null; replayed_at: number | string | null;
};

export const toQuarantined = (r: QuarantineRow): QuarantinedEvent => ({
  id: Number(r.id),
  receivedAtMs: Number(r.received_at),
  sourceId: r.source_id,
  messageId: r.message_id,
  subject: r.subject,
  violations: JSON.parse(r.violations) as Violation[],
  payload: r.payload,
  ...(r.batch_sent_at !== null ? { batchSentAt: r.batch_sent_at } : {}),
  ...(r.ip !== null ? { ip: r.ip } : {}),
  ...(r.replayed_at !== null ? { replayedAtMs: Number(r.replayed_at) } : {}),
});

/** Rules as `,type,required,`: a LIKE finds one without parsing the JSON. */
export const rulesColumn = (violations: readonly Violation[]) => `,${[...new Set(violations.map((v) => v.rule))].join(',')},`;

/** Pending counts by rule from counts by rule combination. */
export function countByRule(rows: readonly { rules: string; n: number | string }[]): Map<string, number> {
  const out = new Map<string, number>();
  for (const { rules, n } of rows) for (const r of rules.split(',')) if (r) out.set(r, (out.get(r) ?? 0) + Number(n));
  return out;
}
