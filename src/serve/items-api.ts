import type { FastifyInstance, FastifyPluginAsync } from 'fastify';
import { parseItem, type Item } from '../core/items.js';
import { MosaicError } from '../errors.js';
import type { Credentials } from '../ports/credentials.js';
import type { ItemStore } from '../ports/item-store.js';
import { requireToken } from './profile-api.js';

export interface ItemsApiOptions {
  items: ItemStore;
  control: Credentials;
  envToken?: string;
  /** Called with the ids changed through this API (a decider forgets its cached copies). */
  changed?: (ids: readonly string[]) => void;
}

const MAX_PER_CALL = 1000;
const ListQuery = {
  type: 'object',
  properties: { after: { type: 'string', maxLength: 256 }, limit: { type: 'integer', minimum: 1, maximum: 1000, default: 100 } },
  additionalProperties: false,
} as const;
const IdParams = { type: 'object', required: ['id'], properties: { id: { type: 'string', minLength: 1, maxLength: 256 } } } as const;

/** Every item valid, or a 400 naming each problem; nothing is written unless all are. */
export function parseItems(raw: readonly unknown[], prefix = '/items'): Item[] {
  const items: Item[] = [];
  const details: { path: string; rule: string; message: string }[] = [];
  raw.forEach((r, i) => {
    const parsed = parseItem(r, `${prefix}/${i}`);
    if ('item' in parsed) items.push(parsed.item);
    else details.push(...parsed.problems.map((p) => ({ path: p.path, rule: 'item', message: p.message })));
  });
  if (details.length) throw new MosaicError('MOSAIC_ITEMS_INVALID', { details: details.slice(0, 100) });
  return items;
}

/**
 * The catalog: PUT /v1/items adds or replaces up to 1,000 items (admin scope); reads need the
 * `decide` scope, as a page that asks for decisions may show items.
 */
export const itemsApi: FastifyPluginAsync<ItemsApiOptions> = async (app: FastifyInstance, opts) => {
  const { items, control } = opts;
  const admin = requireToken(control, opts.envToken, 'admin');
  const reader = requireToken(control, opts.envToken, 'decide');

  app.put<{ Body: { items: unknown[] } }>(
    '/v1/items',
    {
      onRequest: admin,
      schema: { body: { type: 'object', required: ['items'], properties: { items: { type: 'array', minItems: 1, maxItems: MAX_PER_CALL } }, additionalProperties: false } },
    },
    async (req) => {
      const parsed = parseItems(req.body.items);
      await items.upsertItems(parsed);
      opts.changed?.(parsed.map((i) => i.id));
      return { upserted: parsed.length };
    },
  );

  app.get<{ Querystring: { after?: string; limit: number } }>('/v1/items', { onRequest: reader, schema: { querystring: ListQuery } }, async (req) => {
    const list = await items.listItems(req.query.after, req.query.limit);
    return { items: list, next: list.length === req.query.limit ? list[list.length - 1]!.id : null, total: await items.countItems() };
  });

  app.get<{ Params: { id: string } }>('/v1/items/:id', { onRequest: reader, schema: { params: IdParams } }, async (req) => {
    const item = (await items.getItems([req.params.id])).get(req.params.id);
    if (!item) throw new MosaicError('MOSAIC_ITEM_NOT_FOUND', { message: `No item "${req.params.id}" in the catalog.` });
    return item;
  });

  app.delete<{ Params: { id: string } }>('/v1/items/:id', { onRequest: admin, schema: { params: IdParams } }, async (req) => {
    if (!(await items.deleteItems([req.params.id]))) throw new MosaicError('MOSAIC_ITEM_NOT_FOUND', { message: `No item "${req.params.id}" in the catalog.` });
    opts.changed?.([req.params.id]);
    return { id: req.params.id, deleted: true };
  });
};
