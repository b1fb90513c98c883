/** Sources (write keys), admin tokens and the audit trail, as the HTTP layer needs them. */
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
}

export interface Credentials {
  sourceByWriteKey(writeKey: string): Source | undefined;
  /** The actor (token id) when the token is valid; `extra` is a configured token also accepted. */
  verifyToken(token: string, extra?: string): string | undefined;
  /** Records a read of personal data. Not awaited on the request path. */
  audit(entry: AuditEntry): Promise<unknown>;
  auditFor(subject: string, limit?: number): AuditEntry[];
}
