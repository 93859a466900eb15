import { TOWNSHIPS, type Township } from '../county.ts';
import type { CareEvent, Resident } from '../types.ts';
import type { Clock } from './clock.ts';
import type { DemoDirectory, DirectoryPractitioner, PractitionerRole } from './directory.ts';

/** The population's seeded random source (`seededRandom` of src/demo/population). */
export interface Rng {
  next(): number;
}
export type RandomSource = (...keys: string[]) => Rng;

/** How far back care goes: about two years before the as-of date. */
export const WINDOW_DAYS = 730;

/**
 * One resident's planning state: their random stream (seeded by person, so another resident's
 * care never shifts theirs), where they live, the institutions near them and the events so far.
 */
export class ResidentCare {
  readonly events: CareEvent[] = [];
  readonly age: number;
  readonly township: Township | undefined;
  /** The village clinic, when the village has one in the registry. */
  readonly clinic: string | undefined;
  /** The township or community health centre, when in the registry. */
  readonly centre: string | undefined;
  /** Days before asOf of the last day with care (after death: none). */
  readonly lastDay: number;
  private seq = 0;

  constructor(
    readonly resident: Resident,
    readonly rng: Rng,
    readonly clock: Clock,
    readonly directory: DemoDirectory,
  ) {
    this.age = clock.age(resident.birthDate);
    this.township = TOWNSHIPS.find((t) => t.id === resident.address.townshipId);
    const village = this.township?.villages.find((v) => v.id === resident.address.villageId);
    this.clinic = village?.clinic && directory.institution(village.clinic) ? village.clinic : undefined;
    const centre = this.township?.healthCentre;
    this.centre = centre && directory.institution(centre) ? centre : undefined;
    this.lastDay = resident.deceasedDate ? Math.max(1, clock.daysSince(resident.deceasedDate) + 1) : 1;
  }

  has(institutionId: string): boolean {
    return this.directory.institution(institutionId) !== undefined;
  }

  /** A fresh event id: the kind's prefix, the person and a running number (the source record no.). */
  id(prefix: string): string {
    this.seq++;
    return `${prefix}${this.resident.personId.slice(1)}-${String(this.seq).padStart(3, '0')}`;
  }

  /** Whether a day (days before asOf) is inside the window and the resident's life. */
  alive(day: number): boolean {
    return day >= this.lastDay && day <= WINDOW_DAYS;
  }

  /** Uniform in [a, b]. */
  real(a: number, b: number): number {
    return a + (b - a) * this.rng.next();
  }
  /** Whole number in [a, b], both included. */
  int(a: number, b: number): number {
    return a + Math.floor(this.rng.next() * (b - a + 1));
  }
  chance(p: number): boolean {
    return this.rng.next() < p;
  }
  pick<T>(xs: readonly T[]): T {
    return xs[Math.floor(this.rng.next() * xs.length)]!;
  }
  /** Standard normal (Box–Muller), from two draws. */
  normal(mean = 0, sd = 1): number {
    const u = Math.max(this.rng.next(), 1e-12);
    const v = this.rng.next();
    return mean + sd * Math.sqrt(-2 * Math.log(u)) * Math.cos(2 * Math.PI * v);
  }
  /** A time of day in office hours, in minutes after midnight. */
  officeMinute(): number {
    return this.int(8 * 60, 16 * 60 + 30);
  }

  /** An event time on a day: the given minute of the day, else office hours. */
  at(day: number, minuteOfDay?: number): string {
    return this.clock.at(day, minuteOfDay ?? this.officeMinute());
  }

  /** One practitioner of the institution with one of the roles (first role that has staff). */
  practitioner(institutionId: string, ...roles: PractitionerRole[]): DirectoryPractitioner | undefined {
    for (const role of roles) {
      const staff = this.directory.staff(institutionId, role);
      if (staff.length) return this.pick(staff);
    }
    return undefined;
  }

  /** Practitioner id as an optional event field. */
  by(p: DirectoryPractitioner | undefined): { practitionerId?: string } {
    return p ? { practitionerId: p.id } : {};
  }

  add(event: CareEvent): void {
    this.events.push(event);
  }
}
