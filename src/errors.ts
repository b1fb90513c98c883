/**
 * The one catalogue of errors Mosaic reports. Each has a stable `code` that clients can
 * branch on, the HTTP status it maps to, and a default message a person can act on.
 * docs/errors.md lists the same codes; test/errors.test.ts keeps the two in sync.
 */
export const ERROR_CATALOGUE = {
  MOSAIC_AUTH_WRITE_KEY_MISSING: {
    status: 401,
    message:
      'No write key. Send it as the HTTP Basic user name (Authorization: Basic base64("<writeKey>:")) or as "writeKey" in the body.',
  },
  MOSAIC_AUTH_WRITE_KEY_INVALID: {
    status: 401,
    message: 'Unknown write key. Check the key printed at first start or set with MOSAIC_WRITE_KEY.',
  },
  MOSAIC_AUTH_TOKEN_MISSING: {
    status: 401,
    message: 'This endpoint needs an API token: send "Authorization: Bearer <token>" (or the token as the HTTP Basic user name).',
  },
  MOSAIC_AUTH_TOKEN_INVALID: {
    status: 401,
    message: 'Unknown API token. Write keys cannot read data; use the admin API token printed at first start.',
  },
  MOSAIC_CSRF_INVALID: {
    status: 403,
    message: 'A console request that changes something must carry the session\'s x-mosaic-csrf header (the console sends it; reload the page if it lost it).',
  },
  MOSAIC_CONSOLE_NOT_BUILT: {
    status: 503,
    message: 'The console\'s files are not built: run npm run build, then start Mosaic again.',
  },
  MOSAIC_AUTH_SCOPE: {
    status: 403,
    message: 'This API token lacks the scope this endpoint needs. Create a token with it: mosaic token create --scopes <scope>.',
  },
  MOSAIC_TOKEN_NOT_FOUND: { status: 404, message: 'No API token has this id. List them with: mosaic token list.' },
  MOSAIC_BODY_INVALID_JSON: { status: 400, message: 'The request body is not valid JSON.' },
  MOSAIC_BODY_NOT_OBJECT: { status: 400, message: 'The request body must be a JSON object.' },
  MOSAIC_BODY_UNSUPPORTED_MEDIA_TYPE: {
    status: 415,
    message: 'Send the body as application/json or text/plain holding JSON.',
  },
  MOSAIC_BODY_UNSUPPORTED_ENCODING: {
    status: 415,
    message: 'Only "Content-Encoding: gzip" (or none) is supported.',
  },
  MOSAIC_BODY_BAD_GZIP: { status: 400, message: 'The body says it is gzip-compressed but could not be decompressed.' },
  MOSAIC_BATCH_TOO_LARGE: { status: 413, message: 'A batch request may carry at most 500 KB of JSON. Split it into smaller batches.' },
  MOSAIC_MESSAGE_TOO_LARGE: { status: 413, message: 'A single message may be at most 32 KB of JSON. Trim its properties, traits or context.' },
  MOSAIC_BATCH_NOT_ARRAY: { status: 400, message: 'A batch request needs "batch": an array of messages.' },
  MOSAIC_BATCH_EMPTY: { status: 400, message: '"batch" is empty: send at least one message.' },
  MOSAIC_MESSAGE_INVALID: {
    status: 400,
    message: 'The message does not follow the Segment spec; see details for each problem.',
  },
  MOSAIC_BATCH_PARTIALLY_INVALID: {
    status: 400,
    message: 'Some messages in the batch were rejected (see details); the others were accepted and stored.',
  },
  MOSAIC_OVERLOADED_LOG: {
    status: 503,
    message: 'The event log is behind on writes. Retry after the number of seconds in Retry-After.',
  },
  MOSAIC_LOG_UNAVAILABLE: {
    status: 503,
    message: 'The event log (NATS JetStream) cannot be reached or did not acknowledge the events; they may not be stored. Retry after the number of seconds in Retry-After.',
  },
  MOSAIC_OVERLOADED_PROCESSOR: {
    status: 429,
    message: 'The processor is behind the log beyond its configured limit. Retry after the number of seconds in Retry-After.',
  },
  MOSAIC_PROFILE_NOT_FOUND: { status: 404, message: 'No profile holds this identity.' },
  MOSAIC_IDENTITY_INVALID: {
    status: 400,
    message: 'Identify the profile as "<idType>:<id>", e.g. "user_id:42" or "anonymous_id:abc".',
  },
  MOSAIC_AUDIENCE_NOT_FOUND: { status: 404, message: 'No audience has this name. GET /v1/audiences lists them.' },
  MOSAIC_NOT_FOUND: { status: 404, message: 'No such route.' },
  MOSAIC_BAD_REQUEST: { status: 400, message: 'The request could not be understood; see the message.' },
  MOSAIC_SHUTTING_DOWN: { status: 503, message: 'Mosaic is shutting down. Retry on another instance or in a moment.' },
  MOSAIC_DATA_DIR_LOCKED: {
    status: 500,
    message: 'Another Mosaic process is using this data directory. Stop it first (or point MOSAIC_DATA_DIR elsewhere).',
  },
  MOSAIC_SQL_INVALID: { status: 400, message: 'The SQL could not be parsed or planned; see the message (DuckDB dialect, one statement).' },
  MOSAIC_SQL_READ_ONLY: { status: 400, message: 'Only SELECT (and EXPLAIN) statements run against the warehouse: it is read-only.' },
  MOSAIC_SQL_FAILED: { status: 400, message: 'The query failed while running; see the message.' },
  MOSAIC_PLAN_VIOLATION: {
    status: 400,
    message: 'The event breaks the tracking plan and its source rejects such events; see details for each violation (path, rule, value).',
  },
  MOSAIC_SCHEMA_SUBJECT_INVALID: { status: 400, message: 'Name a subject as [source/]kind[:name], e.g. "track:Order Completed", "identify", "web/page:Pricing".' },
  MOSAIC_SCHEMA_INVALID: { status: 400, message: 'This is not a valid JSON Schema (draft-07 / 2019-09 keywords); see details.' },
  MOSAIC_SCHEMA_INCOMPATIBLE: {
    status: 409,
    message: 'The new version breaks the compatibility its subject requires; see details for each breaking change. Fix the schema, or register it with another compatibility mode.',
  },
  MOSAIC_SCHEMA_CONFLICT: { status: 409, message: 'Another version of this subject was registered at the same time. Check again and retry.' },
  MOSAIC_SCHEMA_NOT_FOUND: { status: 404, message: 'No schema is registered under this subject (or version). GET /v1/schemas lists them.' },
  MOSAIC_QUARANTINE_NOT_FOUND: { status: 404, message: 'No quarantined event has this id. GET /v1/quarantine lists them.' },
  MOSAIC_UNAVAILABLE: { status: 503, message: 'A part of Mosaic this request needs is restarting. Retry after the number of seconds in Retry-After.' },
  MOSAIC_PRIVACY_REQUEST_NOT_FOUND: { status: 404, message: 'No privacy request has this id. GET /v1/privacy/requests lists them.' },
  MOSAIC_VAULT_DISABLED: { status: 404, message: 'The re-identification vault is not enabled (privacy.vault.enabled): no value can be revealed.' },
  MOSAIC_VAULT_NOT_FOUND: { status: 404, message: 'The vault holds no value for this token.' },
  MOSAIC_PRIVACY_BUDGET_SPENT: { status: 429, message: "This token's differential-privacy budget is spent: no more reports until it renews (Retry-After), or ask for a smaller epsilon." },
  MOSAIC_ITEMS_INVALID: { status: 400, message: 'Some items are invalid; see details. None of the request was applied.' },
  MOSAIC_ITEM_NOT_FOUND: { status: 404, message: 'No item with this id in the catalog.' },
  MOSAIC_PLACEMENT_NOT_FOUND: { status: 404, message: 'No placement with this name: placements are declared under personalization.placements.' },
  MOSAIC_EXPERIMENT_NOT_FOUND: { status: 404, message: 'No experiment with this name is configured, and the lake holds no exposure for it. GET /v1/experiments (or mosaic experiment list) lists those configured.' },
  MOSAIC_PERSONALIZATION_DISABLED: { status: 404, message: 'Personalization is off (personalization.enabled: false).' },
  MOSAIC_EMBEDDER_FAILED: { status: 502, message: 'The embedding endpoint failed; the items stay queued for the vector index and are retried.' },
  MOSAIC_CONFIG_INVALID: { status: 500, message: 'The configuration is invalid; see details.' },
  MOSAIC_INTERNAL: { status: 500, message: 'Internal error. The request was not applied; retry it.' },
} as const satisfies Record<string, { status: number; message: string }>;

export type ErrorCode = keyof typeof ERROR_CATALOGUE;

/** One problem inside a request, e.g. one invalid field of one message in a batch. */
export interface ErrorDetail {
  /** Index of the message in a batch, when the request carried several. */
  index?: number;
  messageId?: string;
  /** JSON pointer-ish path of the offending value, e.g. "/timestamp". */
  path?: string;
  /** Machine-readable rule that failed, e.g. "required", "iso8601", "maxBytes". */
  rule?: string;
  message: string;
  /** The offending value, where showing it helps (tracking-plan violations). */
  value?: unknown;
  /** The schema that refused it, as subject@version. */
  schema?: string;
}

export class MosaicError extends Error {
  readonly code: ErrorCode;
  readonly status: number;
  readonly details: ErrorDetail[];
  /** Seconds, for 429/503 answers. */
  readonly retryAfter?: number;

  constructor(code: ErrorCode, opts: { message?: string; details?: ErrorDetail[]; retryAfter?: number; cause?: unknown } = {}) {
    super(opts.message ?? ERROR_CATALOGUE[code].message, { cause: opts.cause });
    this.name = 'MosaicError';
    this.code = code;
    this.status = ERROR_CATALOGUE[code].status;
    this.details = opts.details ?? [];
    if (opts.retryAfter !== undefined) this.retryAfter = opts.retryAfter;
  }

  toJSON(): { error: { code: ErrorCode; message: string; details: ErrorDetail[] } } {
    return { error: { code: this.code, message: this.message, details: this.details } };
  }
}
