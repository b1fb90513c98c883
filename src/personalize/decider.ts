import type { ComputedTraitDef } from '../core/computed-traits.js';
import { computedValues, mergeComputed, type CompiledTrait, type TraitState } from '../core/computed-traits.js';
import type { Envelope } from '../core/envelope.js';
import type { IdentityRules } from '../core/identity.js';
import { recentItemsOf, type InteractionKind, type RecentItems } from '../core/interactions.js';
import type { Item } from '../core/items.js';
import { consentedBy, latestConsent, type ProfileModel } from '../core/profile.js';
import type { Pseudonymizer } from '../core/pseudonymize.js';
import { bucketOf, variantOf, type Ranked, type Rules, type Source, type Strategy } from '../core/recommend.js';
import { MosaicError } from '../errors.js';
import type { Metrics } from '../observe/metrics.js';
import type { ProfileStore } from '../ports/profile-store.js';
import { resolveSubject } from '../privacy/subject.js';
import type { Recommender } from './recommender.js';
import { readParts } from './read-profile.js';

export interface Placement {
  strategy?: Strategy;
  limit: number;
  rules: { excludePurchased: boolean; excludeViewed: boolean; availableOnly: boolean; maxPerCategory: number };
  content: { audience: string; items: string[]; reason?: string }[];
  experiment?: { name: string; variants: { name: string; weight: number; strategy?: Strategy }[] };
}

export interface DecideRequest {
  /** `<idType>:<id>`, as in the profile API; or userId / anonymousId. */
  id?: string;
  userId?: string;
  anonymousId?: string;
  placement: string;
  limit?: number;
  context?: { item?: string; page?: Record<string, unknown>; device?: Record<string, unknown> };
  filters?: { categories?: string[]; exclude?: string[]; minPrice?: number; maxPrice?: number };
}

export interface DecidedItem {
  id: string;
  score: number;
  source: Source | 'rule';
  reason: string;
  item: Item;
}

export interface Decision {
  placement: string;
  /** The profile decided for (absent: nobody known by this identity). */
  profileId?: string;
  personalized: boolean;
  variant?: { experiment: string; name: string };
  items: DecidedItem[];
}

/** The default blend when a placement names none. */
export const DEFAULT_STRATEGY: Strategy = { cooccurrence: 3, content: 1, affinity: 1, popular: 1 };

export interface DeciderDeps {
  store: ProfileStore;
  recommender: Recommender;
  rules: IdentityRules;
  model: ProfileModel;
  placements: Readonly<Record<string, Placement>>;
  /** The hidden traits holding recent items (core/interactions.ts recentItemTraits). */
  itemTraits: readonly (ComputedTraitDef & { kind: InteractionKind })[];
  recentItems: number;
  pseudonymizer?: Pseudonymizer;
  metrics?: Metrics;
  /** Appends an experiment exposure event (not awaited by the decision). */
  expose?: (e: Envelope) => void;
}

/** What a decision reads of a profile: not the whole assembled profile, which cost a sixth of a decision. */
interface Person {
  profileId: string;
  identities: readonly string[];
  /** Whether the latest `personalization` consent (else the default) allows personalizing. */
  consented: boolean;
  /** The recent-item traits' states, merged across the profile's parts. */
  computed: Record<string, TraitState>;
  audiences: string[];
}

/**
 * POST /v1/decide's engine: the person's profile (recent items, audiences, consent), the
 * experiment variant, then the Recommender's blend and rules. A decision costs a profile read
 * and, mostly, cached reads.
 */
export class Decider {
  /** Of the model's computed traits, those holding recent items: the only ones a decision reads. */
  private readonly itemTraitsCompiled: CompiledTrait[];

  constructor(private readonly deps: DeciderDeps) {
    const names = new Set(deps.itemTraits.map((t) => t.name));
    this.itemTraitsCompiled = (deps.model.computedTraits ?? []).filter((t) => names.has(t.def.name));
  }

  placementNames(): string[] {
    return Object.keys(this.deps.placements);
  }

  async decide(req: DecideRequest): Promise<Decision> {
    const started = performance.now();
    const placement = this.deps.placements[req.placement];
    if (!placement) {
      throw new MosaicError('MOSAIC_PLACEMENT_NOT_FOUND', { message: `No placement "${req.placement}"; configured: ${this.placementNames().join(', ') || '(none)'}.` });
    }
    const limit = req.limit ?? placement.limit;
    const person = await this.person(req);
    const personalized = person?.consented === true;

    let strategy = placement.strategy ?? DEFAULT_STRATEGY;
    let variant: Decision['variant'];
    const unit = person?.profileId ?? this.refOf(req);
    if (placement.experiment && unit !== undefined) {
      const v = variantOf(placement.experiment.variants, bucketOf(placement.experiment.name, unit));
      variant = { experiment: placement.experiment.name, name: v.name };
      strategy = v.strategy ?? strategy;
      this.exposure(person, req, variant);
    }

    const recent: RecentItems = personalized ? recentItemsOf(computedValues(person.computed, this.itemTraitsCompiled, Date.now(), true), this.deps.itemTraits, this.deps.recentItems) : { viewed: [], purchased: [], carted: [] };
    // Without consent nothing of the person's history is used: what remains is popularity, and
    // what goes with the item on the page (context the request gives, not a profile).
    const exclude = new Set<string>(req.filters?.exclude ?? []);
    if (req.context?.item) exclude.add(req.context.item);
    if (placement.rules.excludePurchased) for (const id of recent.purchased) exclude.add(id);
    if (placement.rules.excludeViewed) for (const id of recent.viewed) exclude.add(id);
    const rules: Rules = {
      exclude,
      availableOnly: placement.rules.availableOnly,
      maxPerCategory: placement.rules.maxPerCategory,
      ...(req.filters?.categories ? { categories: req.filters.categories } : {}),
      ...(req.filters?.minPrice !== undefined ? { minPrice: req.filters.minPrice } : {}),
      ...(req.filters?.maxPrice !== undefined ? { maxPrice: req.filters.maxPrice } : {}),
    };
    // Rule-based content first: members of an audience see its items (membership is personal: not without consent).
    const pinnedReason = new Map<string, string>();
    if (personalized) {
      for (const c of placement.content) {
        if (!person.audiences.includes(c.audience)) continue;
        for (const id of c.items) if (!pinnedReason.has(id)) pinnedReason.set(id, c.reason ?? `For the ${c.audience} audience`);
      }
    }
    const { chosen, catalog } = await this.deps.recommender.recommend({
      strategy,
      recent,
      ...(req.context?.item ? { current: req.context.item } : {}),
      pinned: [...pinnedReason.keys()],
      rules,
      limit,
    });
    const titleOf = (id: string) => catalog.get(id)?.title ?? id;
    const items: DecidedItem[] = chosen.map((r: Ranked) => {
      const rule = pinnedReason.get(r.item);
      return {
        id: r.item,
        score: Math.round((rule ? 1 : r.score) * 1e6) / 1e6,
        source: rule ? 'rule' : r.source,
        reason: rule ?? reasonOf(r, titleOf),
        item: catalog.get(r.item)!,
      };
    });
    this.deps.metrics?.decisions.inc({ placement: req.placement, variant: variant?.name ?? '', personalized: String(personalized) });
    this.deps.metrics?.decideSeconds.observe((performance.now() - started) / 1000);
    return { placement: req.placement, ...(person ? { profileId: person.profileId } : {}), personalized, ...(variant ? { variant } : {}), items };
  }

  private refOf(req: DecideRequest): string | undefined {
    return req.id ?? (req.userId !== undefined ? `user_id:${req.userId}` : req.anonymousId !== undefined ? `anonymous_id:${req.anonymousId}` : undefined);
  }

  private async person(req: DecideRequest): Promise<Person | undefined> {
    const ref = this.refOf(req);
    if (ref === undefined) return undefined;
    const { store, rules, model } = this.deps;
    const node = await resolveSubject(ref, rules, store, this.deps.pseudonymizer);
    if (node.key === undefined) return undefined;
    const found = await readParts(store, node.key);
    if (!found) return undefined;
    const computed: Record<string, TraitState> = {};
    for (const part of found.parts) if (part.computed) mergeComputed(computed, part.computed, this.itemTraitsCompiled);
    return {
      profileId: found.cluster.id,
      identities: found.cluster.members,
      consented: consentedBy(latestConsent(found.parts, 'personalization'), model),
      computed,
      audiences: found.audiences,
    };
  }

  /**
   * The exposure as the person's event: by their user id (else anonymous id) as the profile holds
   * them, or, for someone not known yet, as the request named them (a first visit is the commonest
   * exposure). Nobody addressable (an unknown email): no exposure.
   */
  private exposure(person: Person | undefined, req: DecideRequest, variant: { experiment: string; name: string }): void {
    if (!this.deps.expose) return;
    const idOf = (type: string) => person?.identities.find((k) => k.startsWith(`${type}:`))?.slice(type.length + 1);
    const userId = person ? idOf('user_id') : req.userId;
    const anonymousId = userId === undefined ? (person ? (idOf('anonymous_id') ?? person.profileId) : req.anonymousId) : undefined;
    if (userId === undefined && anonymousId === undefined) return;
    const unit = person?.profileId ?? `${userId !== undefined ? 'user_id' : 'anonymous_id'}:${userId ?? anonymousId}`;
    const now = new Date();
    const day = now.toISOString().slice(0, 10);
    this.deps.expose({
      type: 'track',
      event: 'Experiment Viewed',
      // One exposure per person, experiment and day: the log's dedup keeps the first.
      messageId: `exp-${variant.experiment}-${unit}-${day}`,
      ...(userId !== undefined ? { userId } : { anonymousId: anonymousId! }),
      timestamp: now.toISOString(),
      receivedAt: now.toISOString(),
      sourceId: EXPERIMENT_SOURCE_ID,
      properties: { experiment_id: variant.experiment, experiment_name: variant.experiment, variant_name: variant.name, placement: req.placement, ...(person ? { profile_id: person.profileId } : {}) },
      context: { library: { name: 'mosaic', version: '1' } },
    } as Envelope);
  }
}

export const EXPERIMENT_SOURCE_ID = 'mosaic:experiments';

function reasonOf(r: Ranked, titleOf: (id: string) => string): string {
  switch (r.source) {
    case 'cooccurrence':
      return r.because ? `Often viewed or bought with "${titleOf(r.because)}"` : 'Often viewed or bought together';
    case 'content':
      return r.because ? `Similar to "${titleOf(r.because)}"` : 'Similar to what you viewed';
    case 'affinity':
      return r.because ? `Matches your interest in ${r.because}` : 'Matches your interests';
    case 'trending':
      return 'Trending now';
    default:
      return 'Popular';
  }
}
