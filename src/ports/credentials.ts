/** Sources (write keys), API tokens and the audit trail, as the HTTP layer needs them. */
export interface Source {
  id: string;
  name: string;
  writeKey: string;
}

export interface AuditEntry {
  at: number;
  actor: string;
  action: string;
  subject: string;
  ip: string;
  status: number;
  /** Why, where the reader had to say (a reveal from the re-identification vault). */
  detail?: string;
}

/**
 * What an API token may do. `admin` may do everything; the others open one family of routes
 * each: profile and audience reads, decisions, SQL over the lake, privacy (requests, audit),
 * and differentially private reports (aggregates only, within a budget).
 */
export const SCOPES = ['profiles:read', 'decide', 'sql', 'privacy', 'reports', 'admin'] as const;
export type Scope = (typeof SCOPES)[number];

export interface TokenHolder {
  /** The token id: how the audit trail names who read. */
  id: string;
  scopes: readonly Scope[];
}

export interface TokenInfo extends TokenHolder {
  label: string;
  createdAt: number;
  revokedAt?: number;
}

export interface Credentials {
  sourceByWriteKey(writeKey: string): Source | undefined;
  /** The holder when the token is valid and not revoked; `extra` is a configured token also accepted (as admin, id `env`). */
  verifyToken(token: string, extra?: string): TokenHolder | undefined;
  /** Whether the token with this id is still valid (a console session asks at each request: a revoked token's sessions end). */
  tokenActive(id: string): boolean;
  /** Records a read of personal data. Not awaited on the request path. */
  audit(entry: AuditEntry): Promise<unknown>;
  auditFor(subject: string, limit?: number): AuditEntry[];
}
