import { Type, type TSchema } from '@sinclair/typebox';
import type { MessageType } from './envelope.js';

/**
 * Structural JSON Schemas of the Segment spec messages, one per type. Only what the spec
 * requires is enforced: unknown fields pass through (SDKs add their own), because Segment
 * accepts them too. Tracking plans (per-event schemas) are a separate, later layer.
 */
const Id = Type.Union([Type.String({ minLength: 1, maxLength: 1024 }), Type.Number()]);
// RudderStack's browser SDK sends `userId: ""` for anonymous users: empty means absent.
const OptionalId = Type.Optional(Type.Union([Type.String({ maxLength: 1024 }), Type.Number(), Type.Null()]));
const IsoDate = Type.String({ format: 'iso8601' });
const Obj = Type.Object({}, { additionalProperties: true });

const common = {
  messageId: Type.Optional(Type.String({ maxLength: 255 })),
  userId: OptionalId,
  anonymousId: OptionalId,
  timestamp: Type.Optional(IsoDate),
  sentAt: Type.Optional(IsoDate),
  originalTimestamp: Type.Optional(IsoDate),
  context: Type.Optional(Type.Object({ traits: Type.Optional(Obj) }, { additionalProperties: true })),
  integrations: Type.Optional(Obj),
};

const withCommon = (props: Record<string, TSchema>, required: string[] = []) =>
  Type.Object({ ...common, ...props }, { additionalProperties: true, required: required.length ? required : undefined });

export const MESSAGE_SCHEMAS: Record<MessageType, TSchema> = {
  identify: withCommon({ traits: Type.Optional(Obj) }),
  track: withCommon({ event: Type.String({ minLength: 1, maxLength: 1024 }), properties: Type.Optional(Obj) }),
  page: withCommon({ name: Type.Optional(Type.Union([Type.String(), Type.Null()])), category: Type.Optional(Type.Union([Type.String(), Type.Null()])), properties: Type.Optional(Obj) }),
  screen: withCommon({ name: Type.Optional(Type.Union([Type.String(), Type.Null()])), properties: Type.Optional(Obj) }),
  group: withCommon({ groupId: Id, traits: Type.Optional(Obj) }),
  alias: withCommon({ previousId: Id }),
};

const ISO_8601 = /^\d{4}-\d{2}-\d{2}(?:[T ]\d{2}:\d{2}(?::\d{2}(?:\.\d{1,9})?)?(?:Z|[+-]\d{2}(?::?\d{2})?)?)?$/i;

/** ISO-8601 as SDKs send it: date, or date-time with optional fraction and zone. */
export function isIso8601(s: string): boolean {
  return ISO_8601.test(s) && !Number.isNaN(Date.parse(s));
}
