/**
 * Enrichment that needs no database: campaign (UTM) fields from a page URL, and the kind of
 * referrer. Pure functions over an event's own fields.
 */

export type ReferrerType = 'direct' | 'internal' | 'search' | 'social' | 'email' | 'referral';

const SEARCH = [/(^|\.)google\.[a-z.]+$/, /(^|\.)bing\.com$/, /(^|\.)duckduckgo\.com$/, /(^|\.)search\.yahoo\.com$/, /(^|\.)yahoo\.[a-z.]+$/, /(^|\.)baidu\.com$/, /(^|\.)yandex\.[a-z.]+$/, /(^|\.)ecosia\.org$/, /(^|\.)qwant\.com$/, /(^|\.)search\.brave\.com$/];
const SOCIAL = [/(^|\.)facebook\.com$/, /(^|\.)fb\.com$/, /^t\.co$/, /(^|\.)twitter\.com$/, /(^|\.)x\.com$/, /(^|\.)linkedin\.com$/, /^lnkd\.in$/, /(^|\.)instagram\.com$/, /(^|\.)reddit\.com$/, /(^|\.)pinterest\.[a-z.]+$/, /(^|\.)youtube\.com$/, /(^|\.)tiktok\.com$/, /(^|\.)threads\.net$/, /(^|\.)bsky\.app$/, /(^|\.)mastodon\.social$/];
const EMAIL = [/^mail\.google\.com$/, /^outlook\.(live|office)\.com$/, /^mail\.yahoo\.com$/, /(^|\.)mail\.[a-z.]+$/];

function host(url: string | undefined): string | undefined {
  if (!url) return undefined;
  try {
    return new URL(url).hostname.toLowerCase().replace(/^www\./, '');
  } catch {
    return undefined;
  }
}

/** The kind of referrer, as marketing reports group them. An email medium wins over the referrer. */
export function referrerType(referrer: string | undefined, pageUrl: string | undefined, medium?: string): ReferrerType {
  if (medium && /^e-?mail$/i.test(medium)) return 'email';
  const r = host(referrer);
  if (!r) return 'direct';
  if (r === host(pageUrl)) return 'internal';
  if (EMAIL.some((re) => re.test(r))) return 'email';
  if (SEARCH.some((re) => re.test(r))) return 'search';
  if (SOCIAL.some((re) => re.test(r))) return 'social';
  return 'referral';
}

/** Segment's `context.campaign` shape from the utm_* parameters of a URL; undefined when there are none. */
export function campaignFromUrl(url: string | undefined): Record<string, string> | undefined {
  if (!url) return undefined;
  let params: URLSearchParams;
  try {
    params = new URL(url).searchParams;
  } catch {
    return undefined;
  }
  const out: Record<string, string> = {};
  for (const [param, field] of [['utm_campaign', 'name'], ['utm_source', 'source'], ['utm_medium', 'medium'], ['utm_term', 'term'], ['utm_content', 'content']] as const) {
    const v = params.get(param);
    if (v) out[field] = v;
  }
  return Object.keys(out).length ? out : undefined;
}
