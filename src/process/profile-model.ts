import type { Config } from '../config.js';
import { compileComputedTraits } from '../core/computed-traits.js';
import type { ProfileModel } from '../core/profile.js';

/** The reducer's model from the configuration; built once per thread (it holds functions). */
export function profileModel(config: Config): ProfileModel {
  return {
    computedTraits: compileComputedTraits(config.computedTraits),
    sessions: {
      timeoutMs: config.sessions.timeoutMinutes * 60_000,
      retainMs: config.sessions.retainDays * 86_400_000,
      campaignFromUrl: config.sessions.campaignFromUrl,
      referrerType: config.sessions.referrerType,
    },
  };
}
