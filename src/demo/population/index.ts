/**
 * The demo county's synthetic population: residents (the ground truth) and what each
 * institution has on file for them (registrations with the tier's data-quality errors).
 * Everything follows from the options — the same seed and as-of date give the same county.
 */
import type { Registration, Resident } from '../types.ts';
import type { Tier } from '../../institutions/types.ts';
import { seededRandom } from './random.ts';
import { NationalIdAllocator } from './national-id.ts';
import { buildHousehold, type HouseholdContext } from './households.ts';
import { dayNumber } from './dates.ts';
import { loadErrorModel, type ErrorModel } from './error-model.ts';
import { applyErrors } from './errors.ts';

export { seededRandom, type Rng } from './random.ts';
export { loadErrorModel, type ErrorModel, type ErrorKind, ERROR_KINDS } from './error-model.ts';

export interface PopulationOptions {
  residents: number;
  seed: string;
  /** `YYYY-MM-DD`: nobody is born after it, ages are counted to it. */
  asOf: string;
}

export interface Population {
  options: PopulationOptions;
  residents: Resident[];
  byId: ReadonlyMap<string, Resident>;
  errorModelVersion: string;
}

/** Person ids are `P` + 7 digits, so a population holds at most 9,999,999 residents. */
const MAX_RESIDENTS = 9_999_999;

function checkOptions(opts: PopulationOptions): void {
  if (!Number.isInteger(opts.residents) || opts.residents < 0 || opts.residents > MAX_RESIDENTS) {
    throw new Error(`residents must be an integer from 0 to ${MAX_RESIDENTS}, not ${opts.residents}`);
  }
  if (typeof opts.seed !== 'string') throw new Error('seed must be a string');
  dayNumber(opts.asOf); // throws on anything but a calendar YYYY-MM-DD
}

/** Streams residents household by household without keeping them (the identity benchmark's million). */
export function* streamResidents(opts: PopulationOptions): Generator<Resident> {
  checkOptions(opts);
  const rng = seededRandom(opts.seed, 'population');
  const ctx: HouseholdContext = {
    seed: opts.seed,
    asOfDay: dayNumber(opts.asOf),
    ids: new NationalIdAllocator(opts.seed),
    houseNumbers: new Map(),
  };
  let next = 1;
  while (next <= opts.residents) {
    const household = buildHousehold(ctx, rng, next, opts.residents - next + 1);
    next += household.length;
    yield* household;
  }
}

export function createPopulation(opts: PopulationOptions): Population {
  const residents = [...streamResidents(opts)];
  return {
    options: { ...opts },
    residents,
    byId: new Map(residents.map((r) => [r.personId, r])),
    errorModelVersion: loadErrorModel().version,
  };
}

/**
 * What `institution` (of `tier`) has on file for `resident`: deterministic per (seed, personId,
 * institutionId), independent of call order. Uses the version 1 error model unless `pop`
 * carries another.
 */
export function registrationFor(
  pop: { options: PopulationOptions; errorModel?: ErrorModel },
  resident: Resident,
  institutionId: string,
  tier: Tier,
): Registration {
  const model = pop.errorModel ?? loadErrorModel();
  return applyErrors(model, pop.options.seed, pop.options.asOf, resident, institutionId, tier);
}
