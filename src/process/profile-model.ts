import { randomBytes } from 'node:crypto';
import { ruleValueNames, type Config } from '../config.js';
import { compileAudiences, type AudienceDef } from '../core/audiences.js';
import { changesWithTime, compileComputedTraits } from '../core/computed-traits.js';
import { recentItemTraits } from '../core/interactions.js';
import { IdentityRules } from '../core/identity.js';
import type { ProfileModel } from '../core/profile.js';
import { EventEnricher } from '../core/event-enricher.js';
import { openGeoLookup } from '../adapters/mmdb/geo-lookup.js';
import type { GeoLookup } from '../ports/geo.js';
import type { Logger } from 'pino';
import type { ProfileStore } from '../ports/profile-store.js';

/**
 * The enricher the processor runs. The geo step needs a database: when none is available it
 * says so once and is skipped, the others still run.
 */
export function eventEnricher(config: Config, logger?: Logger): EventEnricher {
  let geo: GeoLookup | undefined;
  if (config.enrich.geo.enabled) {
    geo = openGeoLookup(config.enrich.geo.database);
    if (geo) logger?.info({ database: geo.source }, 'geo enrichment: IP to country/region');
    else logger?.warn('geo enrichment skipped: no IP database (set enrich.geo.database to a .mmdb file, or npm install @ip-location-db/geo-whois-asn-country-mmdb)');
  }
  return new EventEnricher({ userAgent: config.enrich.userAgent, localTime: config.enrich.localTime, ...(geo ? { geo } : {}) });
}

/** The hidden traits through which profiles keep their recent items, for decisions (none when personalization is off). */
export function itemTraits(config: Config): ReturnType<typeof recentItemTraits> {
  const p = config.personalization;
  return p.enabled ? recentItemTraits(p.interactions, p.recentItems) : [];
}

/** The reducer's model from the configuration; built once per thread (it holds functions). */
export function profileModel(config: Config, enricher?: EventEnricher): ProfileModel {
  const timed = config.computedTraits.filter(changesWithTime).map((t) => t.name);
  const audiences = compileAudiences(config.audiences as AudienceDef[], ruleValueNames(config), timed);
  const ruleTraits = [...compileComputedTraits(config.computedTraits), ...compileComputedTraits(audiences.flatMap((a) => a.traits), { hidden: true })];
  return {
    computedTraits: [...ruleTraits, ...compileComputedTraits(itemTraits(config), { hidden: true })],
    ruleTraits,
    audiences,
    recentEvents: config.profiles.recentEvents,
    ...(config.personalization.text.sources.length ? { text: { halfLifeMs: config.personalization.text.halfLifeDays * 86_400_000 } } : {}),
    consentDefault: config.privacy.consent.default,
    ...(enricher ? { enricher } : {}),
    sessions: {
      timeoutMs: config.sessions.timeoutMinutes * 60_000,
      retainMs: config.sessions.retainDays * 86_400_000,
      campaignFromUrl: config.sessions.campaignFromUrl,
      referrerType: config.sessions.referrerType,
    },
  };
}

const HASH_KEY = 'identity.hashKey';

/**
 * The key that pseudonymizes hashed identifiers (email, phone) before they become graph
 * nodes. Made once per store and kept with it (it survives a replay's reset), so the same
 * address always maps to the same node and a dictionary of addresses cannot be hashed offline.
 */
export async function identityRules(config: Config, store: ProfileStore): Promise<IdentityRules> {
  let key = await store.getMeta(HASH_KEY);
  if (!key) {
    key = randomBytes(32).toString('base64url');
    await store.setMeta(HASH_KEY, key);
  }
  return new IdentityRules(config.identity.types, key);
}
