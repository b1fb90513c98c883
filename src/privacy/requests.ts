import { randomBytes } from 'node:crypto';

/** A data subject request, tracked from receipt to answer (CCPA: confirm within 10 business days, answer within 45 days). */
export interface PrivacyRequest {
  id: string;
  kind: 'export' | 'erasure';
  /** `<idType>:<id>` as asked; removed once an erasure completes. */
  subject?: string;
  status: 'received' | 'in_progress' | 'completed' | 'failed';
  /** The token that asked. */
  actor: string;
  receivedAt: number;
  confirmBy: number;
  dueBy: number;
  confirmedAt?: number;
  completedAt?: number;
  error?: string;
  /** What was found or removed, per store (counts only: no identifier). */
  summary?: Record<string, unknown>;
}

const DAY = 86_400_000;

/** `days` business days after `from` (Saturdays and Sundays skipped; public holidays are not known here). */
export function addBusinessDays(from: number, days: number): number {
  let t = from;
  let left = days;
  while (left > 0) {
    t += DAY;
    const dow = new Date(t).getUTCDay();
    if (dow !== 0 && dow !== 6) left--;
  }
  return t;
}

export function newRequest(kind: PrivacyRequest['kind'], subject: string, actor: string, now = Date.now()): PrivacyRequest {
  return {
    id: `${kind === 'export' ? 'dsr_x_' : 'dsr_e_'}${randomBytes(9).toString('base64url')}`,
    kind,
    subject,
    status: 'received',
    actor,
    receivedAt: now,
    confirmBy: addBusinessDays(now, 10),
    dueBy: now + 45 * DAY,
  };
}

/** As the API shows it: ISO times, and whether a deadline passed unmet. */
export function showRequest(r: PrivacyRequest, now = Date.now()) {
  const iso = (t: number | undefined) => (t === undefined ? undefined : new Date(t).toISOString());
  const done = r.completedAt !== undefined;
  return {
    id: r.id,
    kind: r.kind,
    ...(r.subject !== undefined ? { subject: r.subject } : {}),
    status: r.status,
    actor: r.actor,
    receivedAt: iso(r.receivedAt),
    confirmBy: iso(r.confirmBy),
    dueBy: iso(r.dueBy),
    ...(r.confirmedAt !== undefined ? { confirmedAt: iso(r.confirmedAt) } : {}),
    ...(r.completedAt !== undefined ? { completedAt: iso(r.completedAt) } : {}),
    overdue: !done && now > r.dueBy,
    ...(r.error !== undefined ? { error: r.error } : {}),
    ...(r.summary !== undefined ? { summary: r.summary } : {}),
  };
}
