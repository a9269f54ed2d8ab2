/**
 * Diagnoses that are evidence of immune effector cell therapy and of CRS itself (clinical
 * reference section 3): Z92.850 history of CAR-T therapy, T80.82- complication of immune effector
 * cellular therapy, D89.83x cytokine release syndrome. A recorded CRS diagnosis also means "CRS
 * was present" for the ASTCT fever rule (grade-crs.ts).
 */
import type { Condition } from 'fhir/r4';
import { canonicalSystem, codingsOf, parseFhirTime } from './fhir-values.js';
import type { CodeIndex } from './code-index.js';
import { EXCLUDED_VERIFICATION_STATUSES } from './rule-tables.js';
import type { SiteCodes } from './site-codes.js';
import { perResource, type ResourceMemo } from './per-resource-memo.js';

export interface CellTherapyDiagnosis {
  system: string;
  code: string;
  display?: string;
  /** A CRS diagnosis (D89.83x). */
  crs: boolean;
  /** A history code (Z92.850): evidence only, its date is not the infusion's. */
  history: boolean;
  /** Onset, else recorded date (ms); undefined when the Condition is undated. */
  ms?: number;
}

export function cellTherapyDiagnoses(
  conditions: readonly Condition[],
  siteCodes: SiteCodes,
  codes: CodeIndex,
  nowMs: number,
  memo?: ResourceMemo,
): CellTherapyDiagnosis[] {
  const found: CellTherapyDiagnosis[] = [];
  for (const condition of conditions) {
    const diagnosis = cellTherapyDiagnosisOf(condition, siteCodes, codes, memo);
    if (diagnosis && (diagnosis.ms === undefined || diagnosis.ms <= nowMs)) found.push({ ...diagnosis });
  }
  return found;
}

/** The Condition's first coding that is a cell-therapy diagnosis, unless it is ruled out. */
const cellTherapyDiagnosisOf = perResource(
  (condition: Condition, siteCodes, codes): Readonly<CellTherapyDiagnosis> | undefined => {
    if (isRuledOut(condition)) return undefined;
    for (const c of codingsOf(condition.code)) {
      const system = canonicalSystem(c.system, siteCodes);
      if (system === undefined || c.code === undefined) continue;
      const kind = codes.cellTherapyDiagnosis(system, c.code);
      if (!kind) continue;
      const ms =
        parseFhirTime(condition.onsetDateTime ?? condition.onsetPeriod?.start) ??
        parseFhirTime(condition.recordedDate);
      return {
        system,
        code: c.code,
        ...(c.display !== undefined && { display: c.display }),
        crs: kind === 'crs',
        history: kind === 'history',
        ...(ms !== undefined && { ms }),
      };
    }
    return undefined;
  },
);

/** Refuted or entered-in-error, or no longer active (resolved, inactive, remission). */
export function isRuledOut(condition: Condition): boolean {
  const verification = codingsOf(condition.verificationStatus).map((c) => c.code);
  const clinical = codingsOf(condition.clinicalStatus).map((c) => c.code);
  return (
    verification.some((v) => v !== undefined && EXCLUDED_VERIFICATION_STATUSES.includes(v)) ||
    clinical.some((c) => c === 'resolved' || c === 'inactive' || c === 'remission')
  );
}
