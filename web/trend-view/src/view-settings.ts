/** The trend view's own display settings (design choices, not clinical rules). [DESIGN] */
export const VIEW = {
  /** The default view starts this long before the index dose. */
  beforeIndexHours: 12,
  /** With no index dose (none found, none passed): the last N days. */
  defaultLookBackDays: 30,
  /** The longest window shown: an index time further back (a stale appContext) is cut here. */
  maxWindowDays: 60,
  /** Data is read this far back (the rules' own look-back is 31 days: ruleLookBackMs). */
  loadLookBackDays: 31,
  /** A line is broken, never drawn across, where two readings are further apart than this. */
  maxLineGapHours: 4,
  /** Pages fhirclient follows per search (bounded memory on a busy chart). */
  maxPages: 40,
  /** Page size asked of the FHIR server. */
  pageSize: 1000,
} as const;
