import { setImmediate } from 'node:timers/promises';
import type { Config } from '../config.js';
import { ALWAYS_PERSONAL_PATHS, anonymizeEvent, statedConsent } from '../core/consent.js';
import type { Envelope } from '../core/envelope.js';
import type { IdentityKey, IdentityRules } from '../core/identity.js';
import { latestConsent, type ProfileModel } from '../core/profile.js';
import type { Metrics } from '../observe/metrics.js';
import type { LakeAdmission } from '../lake/offload.js';
import type { LogEntry } from '../ports/event-log.js';
import type { ProfileStore } from '../ports/profile-store.js';

/** How long a person's resolved profile and consent are reused before the store is read again. */
const CACHE_MS = 10_000;
/** Events parsed and judged at a time by the lake's admission. */
const ADMIT_SLICE = 1_000;
/** Cached entries per map before it is emptied (memory stays bounded whatever the traffic: invariant 6). */
const CACHE_ENTRIES = 250_000;

interface Cached<T> {
  value: T;
  at: number;
}

/**
 * Whether a purpose may use each event of a batch, for the stages that read the log after the
 * processor: the lake (analytics) and destinations (marketing).
 *
 * - An event that states consent for the purpose is taken at its word, and its word holds for
 *   its person's later events in the stream.
 * - Any other event is judged by its person's consent on their profile, or the configured
 *   default when the event names no one with a profile.
 * - These stages read only what the processor has applied (`readable`), so the profile already
 *   holds every consent given before the event.
 *
 * A person's profile and consent are read once per batch for all their events, and kept for a
 * few seconds (CACHE_MS): a merge in that time may be seen late, a consent given is not.
 */
export class ConsentGate {
  private readonly clusterOfKey = new Map<IdentityKey, Cached<string | undefined>>();
  private readonly grantedOf = new Map<string, Map<string, Cached<boolean>>>();

  constructor(
    private readonly store: Pick<ProfileStore, 'nodeClusters' | 'getClusters' | 'getParts' | 'readOffsets'>,
    private readonly rules: IdentityRules,
    private readonly model: Pick<ProfileModel, 'consentDefault'>,
    private readonly now: () => number = Date.now,
  ) {}

  /** How far each partition may be read: the log's end, or less where the processor has not got to yet. */
  async readable(ends: readonly number[]): Promise<number[]> {
    const applied = await this.store.readOffsets();
    return ends.map((end, p) => Math.min(end, applied.get(p) ?? 1));
  }

  /**
   * Per event, whether the purpose may use it. `asked`: the events an answer is wanted for (the
   * others answer true); every event still counts for the consent it states, so a reader that
   * uses few of the events it reads passes them all.
   */
  async allows(purpose: string, events: readonly Envelope[], asked?: readonly boolean[]): Promise<boolean[]> {
    const now = this.now();
    const fresh = <T>(c: Cached<T> | undefined): c is Cached<T> => c !== undefined && now - c.at < CACHE_MS;
    const byDefault = this.model.consentDefault !== 'denied';
    const stated = events.map((e) => statedConsent(e, purpose));
    const keysOf = events.map((e, i) => (asked?.[i] === false && stated[i] === undefined ? [] : this.rules.identifiersOf(e)));
    // Emptied before a batch, never during one: the batch's own entries must stay (a map may pass the cap by one batch).
    if (this.clusterOfKey.size > CACHE_ENTRIES) this.clusterOfKey.clear();

    const unknownKeys = new Set<IdentityKey>();
    for (const keys of keysOf) for (const k of keys) if (!fresh(this.clusterOfKey.get(k))) unknownKeys.add(k);
    if (unknownKeys.size) {
      const found = await this.store.nodeClusters([...unknownKeys]);
      for (const k of unknownKeys) this.clusterOfKey.set(k, { value: found.get(k), at: now });
    }
    // The highest-priority identifier that has a profile names the person, as the processor resolves it.
    const personOf = keysOf.map((keys) => keys.map((k) => this.clusterOfKey.get(k)?.value).find((id) => id !== undefined));

    let granted = this.grantedOf.get(purpose);
    if (!granted || granted.size > CACHE_ENTRIES) this.grantedOf.set(purpose, (granted = new Map()));
    const unknown = new Set<string>();
    personOf.forEach((id, i) => id !== undefined && stated[i] === undefined && !fresh(granted.get(id)) && unknown.add(id));
    if (unknown.size) {
      const clusters = await this.store.getClusters([...unknown]);
      const parts = await this.store.getParts([...new Set([...clusters.values()].flatMap((c) => c.members))]);
      for (const id of unknown) {
        const members = clusters.get(id)?.members ?? [];
        const latest = latestConsent(members.map((m) => parts.get(m)), purpose);
        granted.set(id, { value: latest === undefined ? byDefault : latest.v === true, at: now });
      }
    }

    return events.map((_, i) => {
      const id = personOf[i];
      const said = stated[i];
      if (said !== undefined) {
        if (id !== undefined) granted.set(id, { value: said, at: now });
        return said;
      }
      if (asked?.[i] === false) return true;
      return id === undefined ? byDefault : granted.get(id)!.value;
    });
  }
}

/**
 * The lake's admission of an offload step: without `analytics` consent an event is left out,
 * or kept without anything that ties it to a person (`anonymize`), as configured.
 */
export function lakeAdmission(gate: ConsentGate, opts: { mode: 'drop' | 'anonymize'; personalPaths: readonly string[]; metrics?: Metrics }): LakeAdmission {
  const readable = (ends: readonly number[]) => gate.readable(ends);
  const admit = async (entries: LogEntry[]) => {
    const out: LogEntry[] = [];
    let refused = 0;
    // A slice at a time: a whole step's events parsed at once were all in the heap together,
    // and parsing them held the event loop the API shares for as long.
    for (let from = 0; from < entries.length; from += ADMIT_SLICE) {
      if (from > 0) await setImmediate();
      const slice = entries.slice(from, from + ADMIT_SLICE);
      const events = slice.map((x) => JSON.parse(x.payload) as Envelope);
      const allowed = await gate.allows('analytics', events);
      allowed.forEach((ok, i) => {
        if (ok) out.push(slice[i]!);
        else {
          refused++;
          if (opts.mode === 'anonymize') out.push({ ...slice[i]!, payload: JSON.stringify(anonymizeEvent(events[i]!, opts.personalPaths)) });
        }
      });
    }
    if (refused) opts.metrics?.eventsWithoutConsent.inc({ purpose: 'analytics', action: opts.mode === 'anonymize' ? 'anonymized' : 'dropped' }, refused);
    return out;
  };
  return { readable, admit };
}

/** The lake's admission as configured (`privacy.consent`), for the offloaders of `mosaic up` and `mosaic offload`. */
export function configuredLakeAdmission(config: Config, store: ProfileStore, rules: IdentityRules, metrics?: Metrics): LakeAdmission {
  const gate = new ConsentGate(store, rules, { consentDefault: config.privacy.consent.default });
  const personalPaths = [...new Set([...ALWAYS_PERSONAL_PATHS, ...rules.paths, ...config.privacy.pseudonymize.map((p) => p.path)])];
  return lakeAdmission(gate, { mode: config.privacy.consent.lake, personalPaths, ...(metrics ? { metrics } : {}) });
}
