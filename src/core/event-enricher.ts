import { LRUCache } from 'lru-cache';
import { UAParser } from 'ua-parser-js';
import type { Envelope } from './envelope.js';
import type { GeoLocation, GeoLookup } from '../ports/geo.js';

/** What enrichment adds to an event while it is processed (never stored in the log). */
export interface Enriched {
  browser?: string;
  browserVersion?: string;
  os?: string;
  osVersion?: string;
  /** desktop, mobile, tablet, console, smarttv, wearable, embedded. */
  deviceType?: string;
  deviceVendor?: string;
  country?: string;
  region?: string;
  city?: string;
  /** In the event's `context.timezone`. */
  localHour?: number;
  /** 0 = Sunday. */
  localDayOfWeek?: number;
  localDate?: string;
}

export interface EnrichOptions {
  userAgent: boolean;
  localTime: boolean;
  geo?: GeoLookup;
}

const WEEKDAYS: Record<string, number> = { Sun: 0, Mon: 1, Tue: 2, Wed: 3, Thu: 4, Fri: 5, Sat: 6 };

/**
 * Built-in enrichment, each step switchable: user agent → browser/OS/device (ua-parser-js 1.x,
 * MIT), IP → country/region (a MaxMind-format database, when one is available), event time →
 * local time in `context.timezone`. The same few thousand user agents and IPs recur, so both
 * lookups are cached (bounded LRUs: memory does not grow with traffic).
 */
export class EventEnricher {
  private readonly ua = new LRUCache<string, Enriched>({ max: 5000 });
  private readonly geo = new LRUCache<string, GeoLocation | false>({ max: 20_000 });
  private readonly clocks = new Map<string, Intl.DateTimeFormat | false>();

  constructor(private readonly opts: EnrichOptions) {}

  get enabled(): boolean {
    return this.opts.userAgent || this.opts.localTime || this.opts.geo !== undefined;
  }

  enrich(e: Envelope): void {
    const ctx = e.context;
    if (!ctx) return;
    const out: Enriched = {};
    if (this.opts.userAgent && typeof ctx.userAgent === 'string') Object.assign(out, this.parseUserAgent(ctx.userAgent));
    if (this.opts.geo && typeof ctx.ip === 'string') {
      let place = this.geo.get(ctx.ip);
      if (place === undefined) {
        place = this.opts.geo.lookup(ctx.ip) ?? false;
        this.geo.set(ctx.ip, place);
      }
      if (place) Object.assign(out, place);
    }
    if (this.opts.localTime && typeof ctx.timezone === 'string') Object.assign(out, this.localTime(Date.parse(e.timestamp), ctx.timezone));
    if (Object.keys(out).length) e.enriched = out;
  }

  private parseUserAgent(ua: string): Enriched {
    const hit = this.ua.get(ua);
    if (hit) return hit;
    const r = new UAParser(ua).getResult();
    const out: Enriched = {};
    if (r.browser.name) out.browser = r.browser.name;
    if (r.browser.version) out.browserVersion = r.browser.version;
    if (r.os.name) out.os = r.os.name;
    if (r.os.version) out.osVersion = r.os.version;
    // ua-parser-js leaves desktops untyped.
    out.deviceType = r.device.type ?? (r.os.name || r.browser.name ? 'desktop' : undefined);
    if (out.deviceType === undefined) delete out.deviceType;
    if (r.device.vendor) out.deviceVendor = r.device.vendor;
    this.ua.set(ua, out);
    return out;
  }

  private localTime(t: number, zone: string): Enriched {
    let clock = this.clocks.get(zone);
    if (clock === undefined) {
      try {
        clock = new Intl.DateTimeFormat('en-US', { timeZone: zone, hourCycle: 'h23', year: 'numeric', month: '2-digit', day: '2-digit', hour: '2-digit', weekday: 'short' });
      } catch {
        clock = false; // not an IANA zone name: skipped, not an error
      }
      if (this.clocks.size < 1000) this.clocks.set(zone, clock);
    }
    if (!clock || !Number.isFinite(t)) return {};
    const p: Record<string, string> = {};
    for (const part of clock.formatToParts(t)) p[part.type] = part.value;
    return { localHour: Number(p.hour), localDayOfWeek: WEEKDAYS[p.weekday!]!, localDate: `${p.year}-${p.month}-${p.day}` };
  }
}
