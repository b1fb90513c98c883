/**
 * Catalog items: what a decision can show. Kept small and typed; anything else a catalog holds
 * goes to `attributes`, returned as it came.
 */
export interface Item {
  id: string;
  title?: string;
  categories: string[];
  tags: string[];
  brand?: string;
  price?: number;
  /** In stock / can be shown (default true). */
  available: boolean;
  /** Free text (a description): with the title, categories and tags, what content similarity reads. */
  text?: string;
  attributes: Record<string, unknown>;
}

export interface ItemProblem {
  path: string;
  message: string;
}

const MAX_ID = 256;
const MAX_TEXT = 20_000;

const strings = (v: unknown, path: string, problems: ItemProblem[]): string[] => {
  if (v === undefined || v === null) return [];
  // CSV cells hold lists as "a|b".
  if (typeof v === 'string') return v.split('|').map((s) => s.trim()).filter(Boolean);
  if (Array.isArray(v) && v.every((x) => typeof x === 'string')) return v as string[];
  problems.push({ path, message: 'must be a list of strings (or, in CSV, values separated by |)' });
  return [];
};

/**
 * An item from what an API call or an import row holds, or the problems that keep it out.
 * Numbers and booleans may arrive as text (CSV); they are read as such.
 */
export function parseItem(raw: unknown, at = ''): { item: Item } | { problems: ItemProblem[] } {
  const problems: ItemProblem[] = [];
  if (!raw || typeof raw !== 'object' || Array.isArray(raw)) return { problems: [{ path: at || '/', message: 'an item is an object with at least "id"' }] };
  const r = raw as Record<string, unknown>;
  const id = typeof r.id === 'number' ? String(r.id) : r.id;
  if (typeof id !== 'string' || id.length === 0 || id.length > MAX_ID) problems.push({ path: `${at}/id`, message: `"id" is required: a string of 1 to ${MAX_ID} characters` });
  for (const k of ['title', 'brand', 'text'] as const) {
    if (r[k] !== undefined && r[k] !== null && typeof r[k] !== 'string') problems.push({ path: `${at}/${k}`, message: `"${k}" must be a string` });
  }
  if (typeof r.text === 'string' && r.text.length > MAX_TEXT) problems.push({ path: `${at}/text`, message: `"text" is longer than ${MAX_TEXT} characters` });
  let price: number | undefined;
  if (r.price !== undefined && r.price !== null && r.price !== '') {
    price = typeof r.price === 'string' ? Number(r.price) : (r.price as number);
    if (typeof price !== 'number' || !Number.isFinite(price) || price < 0) problems.push({ path: `${at}/price`, message: '"price" must be a number ≥ 0' });
  }
  let available = true;
  if (r.available !== undefined && r.available !== null && r.available !== '') {
    const a = r.available;
    if (typeof a === 'boolean') available = a;
    else if (a === 'true' || a === '1' || a === 1) available = true;
    else if (a === 'false' || a === '0' || a === 0) available = false;
    else problems.push({ path: `${at}/available`, message: '"available" must be true or false' });
  }
  if (r.attributes !== undefined && (r.attributes === null || typeof r.attributes !== 'object' || Array.isArray(r.attributes))) {
    problems.push({ path: `${at}/attributes`, message: '"attributes" must be an object' });
  }
  const categories = strings(r.categories, `${at}/categories`, problems);
  const tags = strings(r.tags, `${at}/tags`, problems);
  if (problems.length) return { problems };
  const known = new Set(['id', 'title', 'categories', 'tags', 'brand', 'price', 'available', 'text', 'attributes']);
  // Columns of an import that are none of the fields above are kept as attributes.
  const extra = Object.fromEntries(Object.entries(r).filter(([k, v]) => !known.has(k) && v !== undefined && v !== ''));
  const item: Item = {
    id: id as string,
    categories,
    tags,
    available,
    attributes: { ...extra, ...((r.attributes as Record<string, unknown> | undefined) ?? {}) },
  };
  if (typeof r.title === 'string') item.title = r.title;
  if (typeof r.brand === 'string' && r.brand) item.brand = r.brand;
  if (price !== undefined) item.price = price;
  if (typeof r.text === 'string' && r.text) item.text = r.text;
  return { item };
}

/** The text content similarity reads for an item. */
export function itemText(item: Item): string {
  return [item.title, item.brand, ...item.categories, ...item.tags, item.text].filter(Boolean).join(' ');
}

/**
 * Price bands by powers of two (…, 16–32, 32–64, …): coarse enough that a person who buys at
 * 40 also likes 50, fine enough to tell 20 from 200.
 */
export function priceBand(price: number | undefined): string | undefined {
  if (price === undefined || price <= 0) return undefined;
  const lo = 2 ** Math.floor(Math.log2(price));
  return `${lo}-${lo * 2}`;
}
