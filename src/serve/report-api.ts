import type { FastifyInstance, FastifyPluginAsync, FastifyRequest } from 'fastify';
import type { ControlStore } from '../adapters/sqlite/control-store.js';
import type { Uniform } from '../core/dp.js';
import { MosaicError } from '../errors.js';
import type { ProfileStore } from '../ports/profile-store.js';
import { audienceSizeCounts, budgetPeriodStart, budgetRenewsIn, eventCounts, release, secureUniform, type EventsQuery, type ReportSettings, type TrueCounts } from '../privacy/reports.js';
import { parseWhen } from '../quality/profiling.js';
import { requireToken } from './profile-api.js';

export interface ReportApiOptions {
  store: ProfileStore;
  control: ControlStore;
  envToken?: string;
  lakeDir: string;
  audiences: readonly string[];
  settings: ReportSettings;
  /** The noise's randomness (tests pass a seeded one). */
  uniform?: Uniform;
}

/** A day as YYYY-MM-DD, from what `mosaic profile-data --since` takes: a date, or a duration before now (30d). */
export function parseDay(text: string, now = Date.now()): string {
  try {
    return new Date(parseWhen(text, now)).toISOString().slice(0, 10);
  } catch (err) {
    throw new MosaicError('MOSAIC_BAD_REQUEST', { message: (err as Error).message });
  }
}

const epsilonProp = { type: 'number', exclusiveMinimum: 0, maximum: 10 } as const;
const AudiencesQuery = { type: 'object', properties: { epsilon: epsilonProp }, additionalProperties: false } as const;
const EventsQuerySchema = {
  type: 'object',
  properties: {
    by: { type: 'string', minLength: 1, maxLength: 200, default: 'event' },
    since: { type: 'string', default: '30d' },
    until: { type: 'string' },
    measure: { type: 'string', enum: ['people', 'events'], default: 'people' },
    epsilon: epsilonProp,
  },
  additionalProperties: false,
} as const;

/**
 * Differentially private aggregates for people who may not see rows: Laplace noise at the
 * configured epsilon, small cells withheld, and a budget of epsilon per token that refuses
 * reports once spent. The true counts never leave this module's caller.
 */
export const reportApi: FastifyPluginAsync<ReportApiOptions> = async (app: FastifyInstance, opts) => {
  const { control, settings } = opts;
  const uniform = opts.uniform ?? secureUniform;
  app.addHook('onRequest', requireToken(control, opts.envToken, 'reports'));

  /** Charges the token for a release at `epsilon`, or refuses (429) when its budget cannot pay. */
  function charge(req: FastifyRequest, epsilon: number, name: string) {
    if (epsilon > settings.epsilon) {
      throw new MosaicError('MOSAIC_BAD_REQUEST', { message: `epsilon ${epsilon} is above the configured ${settings.epsilon} (privacy.reports.epsilon): ask for less, which adds more noise.` });
    }
    const token = req.actor ?? 'unknown';
    const { granted, spent } = control.spendPrivacy(token, epsilon, { limit: settings.budget, since: budgetPeriodStart(settings.budgetPeriod), report: name });
    const renews = budgetRenewsIn(settings.budgetPeriod);
    if (!granted) {
      throw new MosaicError('MOSAIC_PRIVACY_BUDGET_SPENT', {
        message: `Token ${token} has spent ${round(spent)} of its budget of ${settings.budget} ${settings.budgetPeriod === 'day' ? 'today' : 'in all'}; this report costs ${epsilon}.${renews === undefined ? ' The budget does not renew (privacy.reports.budgetPeriod: never).' : ' It renews at midnight UTC.'}`,
        ...(renews !== undefined ? { retryAfter: renews } : {}),
      });
    }
    return { limit: settings.budget, spent: round(spent), remaining: round(Math.max(0, settings.budget - spent)), period: settings.budgetPeriod };
  }

  /** Computed first (a bad query costs nothing), charged, then released with noise. */
  async function answer<K extends object>(req: FastifyRequest, requested: number | undefined, counts: () => Promise<TrueCounts<K>>) {
    const epsilon = requested ?? settings.epsilon;
    const t = await counts();
    const budget = charge(req, epsilon, t.report);
    return { ...release(t, epsilon, settings, uniform), budget };
  }

  app.get<{ Querystring: { epsilon?: number } }>('/v1/reports/audiences', { schema: { querystring: AudiencesQuery } }, async (req) =>
    answer(req, req.query.epsilon, () => audienceSizeCounts(opts.store, opts.audiences)),
  );

  app.get<{ Querystring: { by: string; since: string; until?: string; measure: EventsQuery['measure']; epsilon?: number } }>('/v1/reports/events', { schema: { querystring: EventsQuerySchema } }, async (req) => {
    const q: EventsQuery = { by: req.query.by, from: parseDay(req.query.since), to: parseDay(req.query.until ?? '0d'), measure: req.query.measure };
    if (q.from > q.to) throw new MosaicError('MOSAIC_BAD_REQUEST', { message: `since (${q.from}) is after until (${q.to}).` });
    return answer(req, req.query.epsilon, () => eventCounts(opts.lakeDir, q, settings));
  });
};

const round = (x: number) => Number(x.toFixed(6));
