/**
 * The governance policy's settings (issue 11, "Governance policy"): how long a card stays quiet
 * after a clinician answered it, per answer. Content, not code: a site overrides any of it with a
 * JSON file (GOVERNANCE_CONFIG), validated at start. docs/governance.md gives the reasons.
 */
import { z } from 'zod';

/** The override reasons our cards offer (cards/crs-sentinel/crs-card.json), matched on system and code. */
export const OVERRIDE_REASON_SYSTEM = 'urn:crs-sentinel:override-reason';

export type QuietPeriod =
  /** Quiet for this many hours after the answer (`outcomeTimestamp`). */
  | { readonly hours: number }
  /** Quiet until the therapy context differs from the answered card's (no time limit). */
  | { readonly untilContextChanges: true };

export interface PolicyConfig {
  /** After a suggestion of the card was accepted. */
  readonly accepted: QuietPeriod;
  /** Per override reason, keyed `system|code`. */
  readonly overrideReasons: Readonly<Record<string, QuietPeriod>>;
  /** An override with no reason, or one this table does not list (an EHR's own codes). */
  readonly otherOverride: QuietPeriod;
  /** How far back a patient's ledger is read (bounds the "until context changes" period too). */
  readonly historyHours: number;
}

const HOUR_MS = 3_600_000;
export const hoursToMs = (hours: number) => hours * HOUR_MS;

/**
 * Defaults. 12 h (issue 11): about one nursing shift, so a team that said "already being managed"
 * is not asked again within its shift, while the next shift sees the card once more. "Not relevant
 * for this patient" holds until the therapy context changes (a new CAR-T, bispecific or sepsis
 * context), the only thing that makes it relevant again short of an escalation. History: 30 days,
 * the CAR-T risk window (docs/clinical-logic.md).
 */
export const DEFAULT_POLICY_CONFIG: PolicyConfig = {
  accepted: { hours: 12 },
  overrideReasons: {
    [`${OVERRIDE_REASON_SYSTEM}|already-managed`]: { hours: 12 },
    [`${OVERRIDE_REASON_SYSTEM}|fever-other-cause`]: { hours: 12 },
    [`${OVERRIDE_REASON_SYSTEM}|not-relevant`]: { untilContextChanges: true },
  },
  otherOverride: { hours: 12 },
  historyHours: 30 * 24,
};

const period = z.union([
  z.strictObject({
    hours: z
      .number()
      .min(0)
      .max(24 * 30),
  }),
  z.strictObject({ untilContextChanges: z.literal(true) }),
]);

const overridesSchema = z.strictObject({
  accepted: period.optional(),
  overrideReasons: z
    .record(z.string(), period)
    .refine(
      (reasons) => Object.keys(reasons).every((key) => /^[^|]+\|[^|]+$/.test(key)),
      'keys are "system|code"',
    )
    .optional(),
  otherOverride: period.optional(),
  historyHours: z
    .number()
    .int()
    .min(1)
    .max(24 * 90)
    .optional(),
});

/** Defaults with a site's overrides on top (override reasons merged by key). Throws on a bad field. */
export function resolvePolicyConfig(overrides: unknown): PolicyConfig {
  if (overrides === undefined) return DEFAULT_POLICY_CONFIG;
  const parsed = overridesSchema.safeParse(overrides);
  if (!parsed.success) {
    const issue = parsed.error.issues[0];
    throw new Error(`${issue?.path.join('.') || 'policy'}: ${issue?.message ?? 'invalid'}`);
  }
  const o = parsed.data;
  return {
    accepted: o.accepted ?? DEFAULT_POLICY_CONFIG.accepted,
    overrideReasons: { ...DEFAULT_POLICY_CONFIG.overrideReasons, ...o.overrideReasons },
    otherOverride: o.otherOverride ?? DEFAULT_POLICY_CONFIG.otherOverride,
    historyHours: o.historyHours ?? DEFAULT_POLICY_CONFIG.historyHours,
  };
}
