import { MCH_HOSPITAL } from '../county.ts';
import { IMMUNIZATION_SCHEDULE, VACCINES } from './catalog.ts';
import { WINDOW_DAYS, type ResidentCare } from './context.ts';

/**
 * Childhood immunizations on the national schedule: birth doses at the maternal and child
 * health hospital, the rest at the township or community centre, a few days after they fall due.
 */
export function planImmunizations(c: ResidentCare): void {
  if (c.age >= 7) return;
  const bornDaysAgo = c.clock.daysSince(c.resident.birthDate);
  for (const s of IMMUNIZATION_SCHEDULE) {
    const atBirth = s.ageDays === 0;
    const day = bornDaysAgo - s.ageDays - (atBirth ? 0 : c.int(0, 12));
    if (!c.alive(day) || day > WINDOW_DAYS) continue;
    const site = atBirth && c.has(MCH_HOSPITAL) ? MCH_HOSPITAL : c.centre;
    if (!site) continue;
    const year = c.clock.date(day).slice(0, 4);
    c.add({
      kind: 'immunization',
      id: c.id('M'),
      personId: c.resident.personId,
      institutionId: site,
      time: c.at(day),
      ...c.by(c.practitioner(site, 'nurse', 'doctor', 'family-doctor')),
      vaccine: VACCINES[s.vaccine],
      doseNumber: s.dose,
      lotNumber: `${year}${String(c.int(1, 12)).padStart(2, '0')}${String(c.int(1, 999)).padStart(3, '0')}`,
    });
  }
}
