/**
 * The patient's age from Patient.birthDate, read strictly: a date that is not a real calendar
 * date (2024-13-45) or lies after `now` is reported and not used, never read as an infant.
 * Age decides the paediatric thresholds (Goldstein 2005 bands) and the tocilizumab age limit.
 */
import type { Patient } from 'fhir/r4';
import { DAY_MS } from './fhir-values.js';
import type { CrsRuleConfig, PaediatricBand } from './rule-config.js';

export type PatientAge =
  | {
      known: true;
      years: number;
      days: number;
      birthDate: string;
      /**
       * A birthDate of a year or a month only is read from its first day; this is the age from
       * its last day (the youngest the patient can be), for limits that must not be crossed.
       */
      youngestYears?: number;
    }
  | { known: false; reason: 'no-patient' | 'no-birth-date' | 'invalid-birth-date'; detail: string };

const FHIR_DATE = /^(\d{4})(?:-(\d{2})(?:-(\d{2}))?)?$/;

export function patientAge(patient: Patient | undefined, now: Date): PatientAge {
  if (!patient) return { known: false, reason: 'no-patient', detail: 'no Patient resource: age unknown' };
  const birthDate = patient.birthDate;
  if (birthDate === undefined)
    return { known: false, reason: 'no-birth-date', detail: 'Patient has no birthDate: age unknown' };
  const birth = parseBirthDate(birthDate);
  if (birth === undefined || birth.getTime() > now.getTime()) {
    return {
      known: false,
      reason: 'invalid-birth-date',
      detail: 'Patient.birthDate is not a valid past date: age unknown, not used',
    };
  }
  const years = completedYears(birth, now);
  const days = Math.floor((now.getTime() - birth.getTime()) / DAY_MS);
  const last = lastDayOf(birthDate, birth);
  const youngest = last === undefined ? undefined : completedYears(last, now);
  return {
    known: true,
    years,
    days,
    birthDate,
    ...(youngest !== undefined && youngest !== years && { youngestYears: youngest }),
  };
}

function completedYears(birth: Date, now: Date): number {
  let years = now.getUTCFullYear() - birth.getUTCFullYear();
  const beforeBirthday =
    now.getUTCMonth() < birth.getUTCMonth() ||
    (now.getUTCMonth() === birth.getUTCMonth() && now.getUTCDate() < birth.getUTCDate());
  if (beforeBirthday) years -= 1;
  return Math.max(0, years);
}

/** The last day a partial birthDate (year, or year-month) can mean; undefined for a full date. */
function lastDayOf(value: string, first: Date): Date | undefined {
  const parts = value.split('-').length;
  if (parts === 3) return undefined;
  const year = first.getUTCFullYear();
  // Day 0 of the next month is the last day of this one.
  return parts === 1
    ? new Date(Date.UTC(year, 11, 31))
    : new Date(Date.UTC(year, first.getUTCMonth() + 1, 0));
}

/** A FHIR date (year, year-month or full date) that names a real calendar day; partial = the 1st. */
function parseBirthDate(value: string): Date | undefined {
  const match = FHIR_DATE.exec(value);
  if (!match) return undefined;
  const year = Number(match[1]);
  const month = match[2] === undefined ? 1 : Number(match[2]);
  const day = match[3] === undefined ? 1 : Number(match[3]);
  const date = new Date(Date.UTC(year, month - 1, day));
  const real =
    date.getUTCFullYear() === year && date.getUTCMonth() === month - 1 && date.getUTCDate() === day;
  return real ? date : undefined;
}

/**
 * The Goldstein band of a child (under 18), or undefined for an adult or an unknown age. Bands in
 * years go by calendar age (Goldstein 2005 Table 3 groups children by completed years).
 */
export function paediatricBand(age: PatientAge, rules: CrsRuleConfig): PaediatricBand | undefined {
  if (!age.known) return undefined;
  return rules.thresholds.paediatricBands.find((band) =>
    band.maxAgeYears !== undefined ? age.years < band.maxAgeYears : age.days < band.maxAgeDays,
  );
}
