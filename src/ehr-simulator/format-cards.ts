/**
 * Prints a CDS Hooks response the way a clinician would skim it in a terminal: indicator, summary,
 * the detail (Markdown kept as is, tables read fine as text), suggestions and links.
 */
interface PrintableCard {
  summary?: unknown;
  indicator?: unknown;
  detail?: unknown;
  source?: { label?: unknown; url?: unknown };
  suggestions?: { label?: unknown }[];
  links?: { label?: unknown; url?: unknown }[];
  extension?: Record<string, unknown>;
}

const MARK: Record<string, string> = { critical: '[CRITICAL]', warning: '[WARNING]', info: '[INFO]' };

export function formatCards(body: unknown, timing?: { hookMs: number }): string {
  const cards = extractCards(body);
  const lines: string[] = [];
  if (cards === undefined) {
    lines.push(
      'The service did not answer with CDS Hooks cards:',
      typeof body === 'string' ? body : JSON.stringify(body, null, 2),
    );
  } else if (cards.length === 0) {
    lines.push('No cards: nothing CRS-consistent to flag for this patient.');
  }
  for (const card of cards ?? []) lines.push(...formatCard(card), '');
  if (timing) lines.push(`(hook answered in ${timing.hookMs.toFixed(0)} ms)`);
  return lines.join('\n');
}

function formatCard(card: PrintableCard): string[] {
  const indicator = typeof card.indicator === 'string' ? card.indicator : 'info';
  const lines = [`${MARK[indicator] ?? `[${indicator}]`} ${text(card.summary)}`];
  const assessment = card.extension?.['org.crs-sentinel.assessment'];
  if (assessment !== undefined) lines.push(`  assessment: ${JSON.stringify(assessment)}`);
  if (typeof card.detail === 'string') lines.push('', ...card.detail.split('\n').map((l) => `  ${l}`));
  const suggestions = card.suggestions ?? [];
  if (suggestions.length > 0) {
    lines.push('', '  Suggestions (drafts, never applied automatically):');
    for (const s of suggestions) lines.push(`    - ${text(s.label)}`);
  }
  const links = card.links ?? [];
  if (links.length > 0) {
    lines.push('', '  Links:');
    for (const l of links) lines.push(`    - ${text(l.label)}: ${text(l.url)}`);
  }
  if (card.source)
    lines.push(
      '',
      `  Source: ${text(card.source.label)}${typeof card.source.url === 'string' ? ` (${card.source.url})` : ''}`,
    );
  return lines;
}

function extractCards(body: unknown): PrintableCard[] | undefined {
  if (typeof body !== 'object' || body === null || !('cards' in body)) return undefined;
  const cards: unknown = body.cards;
  return Array.isArray(cards) ? (cards as PrintableCard[]) : undefined;
}

function text(value: unknown): string {
  return typeof value === 'string' ? value : JSON.stringify(value);
}
