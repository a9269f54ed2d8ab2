/**
 * The card's SMART link carries `appContext` (CDS Hooks 2.0 Link.appContext, a string the EHR
 * hands to the app at launch): here a small JSON object with the therapy index time and agent.
 * Untrusted text: narrowed field by field; anything else is ignored, never an error (the view then
 * finds the index dose itself).
 */
export interface AppContext {
  /** ISO instant of the therapy index dose (CAR-T infusion, bispecific dose). */
  indexTime?: string;
  /** The agent, e.g. "axicabtagene ciloleucel". */
  agent?: string;
}

const MAX_APP_CONTEXT_CHARS = 2000;

export function parseAppContext(raw: unknown): AppContext | undefined {
  if (typeof raw !== 'string' || raw.length === 0 || raw.length > MAX_APP_CONTEXT_CHARS) return undefined;
  let value: unknown;
  try {
    value = JSON.parse(raw);
  } catch {
    return undefined;
  }
  if (typeof value !== 'object' || value === null) return undefined;
  const record = value as Record<string, unknown>;
  const context: AppContext = {};
  const { indexTime, agent } = record;
  if (typeof indexTime === 'string' && !Number.isNaN(Date.parse(indexTime))) context.indexTime = indexTime;
  if (typeof agent === 'string' && agent.length <= 200) context.agent = agent;
  return context.indexTime === undefined && context.agent === undefined ? undefined : context;
}
