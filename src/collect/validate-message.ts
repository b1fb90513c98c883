import { Ajv, type ErrorObject, type ValidateFunction } from 'ajv';
import { isMessageType, MESSAGE_TYPES, type MessageType } from '../core/envelope.js';
import { MESSAGE_SCHEMAS, isIso8601 } from '../core/message-schema.js';
import type { ErrorDetail } from '../errors.js';

const ajv = new Ajv({ allErrors: true, strict: false });
ajv.addFormat('iso8601', { type: 'string', validate: isIso8601 });

const validators = Object.fromEntries(
  MESSAGE_TYPES.map((t) => [t, ajv.compile(MESSAGE_SCHEMAS[t])]),
) as Record<MessageType, ValidateFunction>;

function describe(e: ErrorObject): ErrorDetail {
  const path = e.instancePath || '/';
  switch (e.keyword) {
    case 'required': {
      const p = (e.params as { missingProperty: string }).missingProperty;
      return { path: `${e.instancePath}/${p}`, rule: 'required', message: `"${p}" is required` };
    }
    case 'format':
      return { path, rule: 'iso8601', message: `${path} must be an ISO-8601 date-time, e.g. "2026-11-21T10:00:00.000Z"` };
    case 'minLength':
      return { path, rule: 'nonEmpty', message: `${path} must not be empty` };
    case 'maxLength':
      return { path, rule: 'maxLength', message: `${path} is longer than ${(e.params as { limit: number }).limit} characters` };
    case 'type':
      return { path, rule: 'type', message: `${path} must be ${(e.params as { type: string }).type}` };
    default:
      return { path, rule: e.keyword, message: `${path} ${e.message ?? 'is invalid'}` };
  }
}

/** ajv reports each branch of a union; a person needs one line per field. */
function dedupeByPath(details: ErrorDetail[]): ErrorDetail[] {
  const seen = new Map<string, ErrorDetail>();
  for (const d of details) {
    const prev = seen.get(d.path ?? '');
    if (!prev) seen.set(d.path ?? '', d);
    else if (prev.rule === 'type' && d.rule === 'type') prev.message = `${d.path} must be a string or a number`;
  }
  return [...seen.values()];
}

/**
 * Structural validation of one Segment message. `routeType` is the type implied by the
 * endpoint (/v1/track…); batch items carry their own. Returns the problems, empty when valid.
 */
export function validateMessage(msg: unknown, routeType?: MessageType): ErrorDetail[] {
  if (msg === null || typeof msg !== 'object' || Array.isArray(msg)) {
    return [{ path: '/', rule: 'type', message: 'each message must be a JSON object' }];
  }
  const m = msg as Record<string, unknown>;
  const type = routeType ?? m.type;
  if (!isMessageType(type)) {
    return [
      {
        path: '/type',
        rule: 'enum',
        message: m.type === undefined ? '"type" is required: one of ' + MESSAGE_TYPES.join(', ') : `"type" must be one of ${MESSAGE_TYPES.join(', ')}`,
      },
    ];
  }
  const problems: ErrorDetail[] = [];
  const validate = validators[type];
  if (!validate(m)) problems.push(...dedupeByPath((validate.errors ?? []).map(describe)));
  const hasUser = m.userId !== undefined && m.userId !== null && m.userId !== '';
  const hasAnon = m.anonymousId !== undefined && m.anonymousId !== null && m.anonymousId !== '';
  if (type === 'alias') {
    if (!hasUser) problems.push({ path: '/userId', rule: 'required', message: 'alias needs "userId" (the new id) and "previousId"' });
  } else if (!hasUser && !hasAnon) {
    problems.push({ path: '/userId', rule: 'identity', message: 'one of "userId" or "anonymousId" is required' });
  }
  return problems;
}
