/**
 * The benchmark workload, shared by `npm run bench` and `npm run bench:processor`: Segment
 * messages of a realistic size (~600 bytes with context), 10% identify, 20% page, 70% track;
 * five consecutive events share a user; one third carry a userId next to the anonymousId.
 */

/** Distinct users the workload cycles through. */
export const USERS = 200_000;

const context = JSON.stringify({
  library: { name: 'analytics.js', version: 'next-1.84.3' },
  userAgent: 'Mozilla/5.0 (X11; Linux x86_64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/156.0 Safari/537.36',
  page: { path: '/products/42', referrer: 'https://www.google.com/', title: 'Blue shoes', url: 'https://shop.example/products/42' },
  locale: 'en-GB',
  ip: '203.0.113.7',
});

/** Event n of the run. Five consecutive events share a user, as a session's events do. */
export const userOf = (n: number) => (Math.floor(n / 5) * 7919) % USERS;

export function message(n: number, run: string): string {
  const u = userOf(n);
  const ids = n % 3 === 0 ? `"userId":"user-${u}","anonymousId":"anon-${u}"` : `"anonymousId":"anon-${u}"`;
  const ts = new Date(Date.UTC(2026, 10, 1) + n * 10).toISOString();
  const kind = n % 10; // keep in step with typeOf()
  if (kind === 0) return `{"type":"identify",${ids},"messageId":"${run}-${n}","timestamp":"${ts}","traits":{"plan":"${n % 4 ? 'free' : 'pro'}","visits":${n % 50}},"context":${context}}`;
  if (kind < 3) return `{"type":"page",${ids},"messageId":"${run}-${n}","timestamp":"${ts}","name":"Product","properties":{"path":"/products/${n % 500}"},"context":${context}}`;
  return `{"type":"track",${ids},"messageId":"${run}-${n}","timestamp":"${ts}","event":"${kind < 8 ? 'Product Viewed' : 'Order Completed'}","properties":{"sku":"SKU-${n % 5000}","price":${(n % 200) + 0.99},"currency":"EUR"},"context":${context}}`;
}


/** Ten computed traits over the workload: every operation, filters, two windows. */
export const TEN_TRAITS = `computedTraits:
  - { name: orders, op: count, event: Order Completed }
  - { name: revenue, op: sum, event: Order Completed, property: properties.price }
  - { name: avg_price, op: avg, event: Order Completed, property: properties.price }
  - { name: max_price, op: max, event: Product Viewed, property: properties.price }
  - { name: min_price, op: min, event: Product Viewed, property: properties.price }
  - { name: first_sku, op: first, event: Product Viewed, property: properties.sku }
  - { name: last_plan, op: last, type: identify, property: traits.plan }
  - { name: pages_7d, op: count, type: page, window: 7d }
  - { name: orders_30d, op: count, event: Order Completed, window: 30d }
  - { name: pricey_views, op: count, event: Product Viewed, where: [{ path: properties.price, op: gte, value: 100 }] }
`;

/** Ten audiences over those traits, the workload's traits and its events. */
export const TEN_AUDIENCES = `audiences:
  - { name: pros, rule: { trait: plan, op: eq, value: pro } }
  - { name: regulars, rule: { trait: visits, op: gte, value: 25 } }
  - { name: buyers, rule: { computed: orders, op: gte, value: 1 } }
  - { name: big_spenders, rule: { computed: revenue, op: gt, value: 150 } }
  - { name: recent_buyers, rule: { computed: orders_30d, op: gte, value: 1 } }
  - { name: window_shoppers, rule: { all: [{ computed: pricey_views, op: gte, value: 1 }, { not: { computed: orders, op: gte, value: 1 } }] } }
  - { name: browsers_7d, rule: { event: Product Viewed, atLeast: 2, within: 7d } }
  - { name: pricey_browsers, rule: { event: Product Viewed, where: [{ path: properties.price, op: gte, value: 150 }], within: 30d } }
  - { name: page_readers, rule: { computed: pages_7d, op: gte, value: 1 } }
  - { name: pro_or_buyer, rule: { any: [{ trait: plan, op: eq, value: pro }, { computed: orders, op: gte, value: 1 }] } }
`;

