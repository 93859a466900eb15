import type { CareEvent, Resident } from '../types.ts';
import { planImmunizations } from './children.ts';
import { planAnnualChecks, planContracts, planFollowUps } from './chronic.ts';
import { makeClock } from './clock.ts';
import { ResidentCare, type RandomSource } from './context.ts';
import type { DemoDirectory } from './directory.ts';
import { planAcuteVisits, planAdmission, planCountyOutpatient } from './visits.ts';

export { loadDirectory, makeDirectory } from './directory.ts';
export type { DemoDirectory, DirectoryPractitioner, PractitionerRole } from './directory.ts';
export type { RandomSource, Rng } from './context.ts';
export { WINDOW_DAYS } from './context.ts';

export interface CarePlanInput {
  residents: readonly Resident[];
  directory: DemoDirectory;
  seed: string;
  /** `YYYY-MM-DD`: care happens in the ~2 years before this date. */
  asOf: string;
  /** The population's `seededRandom`. */
  random: RandomSource;
}

/**
 * The county's care over the two years before asOf, as events in time order (ties by id).
 * Each resident's care comes from their own random stream (`seed, 'care', personId`), so
 * adding a resident or changing one's care never moves anyone else's.
 */
export function planCare(input: CarePlanInput): CareEvent[] {
  const clock = makeClock(input.asOf);
  const events: CareEvent[] = [];
  for (const resident of input.residents) {
    const c = new ResidentCare(
      resident,
      input.random(input.seed, 'care', resident.personId),
      clock,
      input.directory,
    );
    planFollowUps(c);
    planAnnualChecks(c);
    planContracts(c);
    planAcuteVisits(c);
    planCountyOutpatient(c);
    planAdmission(c);
    planImmunizations(c);
    events.push(...c.events);
  }
  return events.sort(byTime);
}

/** Time order; same instant: by id. All times carry the same offset, so text order is time order. */
export function byTime(a: CareEvent, b: CareEvent): number {
  return a.time < b.time ? -1 : a.time > b.time ? 1 : a.id < b.id ? -1 : a.id > b.id ? 1 : 0;
}
