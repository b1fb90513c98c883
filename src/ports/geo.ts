/** IP → place. Adapters read a database; the processor calls lookup() per event (cached). */
export interface GeoLocation {
  /** ISO 3166-1 alpha-2. */
  country?: string;
  /** Region / subdivision name or ISO code, when the database has it. */
  region?: string;
  city?: string;
}

export interface GeoLookup {
  /** Where the database came from, for logs and /health. */
  readonly source: string;
  lookup(ip: string): GeoLocation | undefined;
}
