import { readFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { Reader, type Response } from 'mmdb-lib';
import type { GeoLocation, GeoLookup } from '../../ports/geo.js';

/** The fields read from a MaxMind-format record (GeoLite2/GeoIP2 City or Country, ip-location-db). */
interface MmdbRecord {
  country?: { iso_code?: string } | string;
  country_code?: string;
  subdivisions?: { iso_code?: string; names?: Record<string, string> }[];
  city?: { names?: Record<string, string> } | string;
}

/** Reads any MaxMind DB file (mmdb-lib, MIT) into memory. */
export class MmdbGeoLookup implements GeoLookup {
  private readonly reader: Reader<Response>;

  constructor(readonly source: string) {
    this.reader = new Reader<Response>(readFileSync(source));
  }

  lookup(ip: string): GeoLocation | undefined {
    let r: MmdbRecord | null;
    try {
      r = this.reader.get(ip) as MmdbRecord | null;
    } catch {
      return undefined; // not an IP address
    }
    if (!r) return undefined;
    const country = typeof r.country === 'string' ? r.country : (r.country?.iso_code ?? r.country_code);
    const sub = r.subdivisions?.[0];
    const region = sub?.iso_code ?? sub?.names?.en;
    const city = typeof r.city === 'string' ? r.city : r.city?.names?.en;
    return { ...(country ? { country } : {}), ...(region ? { region } : {}), ...(city ? { city } : {}) };
  }
}

/**
 * The configured database, else the country database of `@ip-location-db/geo-whois-asn-country-mmdb`
 * when it is installed (CC BY 4.0 data by the NRO: not a dependency, install it to opt in).
 * Undefined when there is none: the caller logs that geo enrichment is skipped.
 */
export function openGeoLookup(database: string | undefined): GeoLookup | undefined {
  if (database) return new MmdbGeoLookup(database);
  try {
    const require = createRequire(import.meta.url);
    return new MmdbGeoLookup(require.resolve('@ip-location-db/geo-whois-asn-country-mmdb/geo-whois-asn-country.mmdb'));
  } catch {
    return undefined;
  }
}
