/**
 * Reads and validates the card templates once at start (sync). A missing file, bad JSON or a bad
 * field throws an Error naming the file and the field, so the service refuses to start with
 * broken card content.
 */
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import {
  crsCardTemplateSchema,
  parseCardTemplate,
  productLabelsSchema,
  type CrsCardTemplates,
} from '../rules/crs-sentinel/card-templates.js';

export const CRS_CARD_FILE = 'crs-sentinel/crs-card.json';
export const PRODUCT_LABELS_FILE = 'crs-sentinel/product-labels.json';

/** `dir` is the cards directory, e.g. `<repo>/cards`. */
export function loadCardTemplates(dir: string): CrsCardTemplates {
  return {
    crs: parseCardTemplate(
      crsCardTemplateSchema,
      readJson(join(dir, CRS_CARD_FILE)),
      join(dir, CRS_CARD_FILE),
    ),
    productLabels: parseCardTemplate(
      productLabelsSchema,
      readJson(join(dir, PRODUCT_LABELS_FILE)),
      join(dir, PRODUCT_LABELS_FILE),
    ),
  };
}

function readJson(path: string): unknown {
  let text: string;
  try {
    text = readFileSync(path, 'utf8');
  } catch (error) {
    throw new Error(`Card template ${path} cannot be read: ${(error as Error).message}`);
  }
  try {
    return JSON.parse(text) as unknown;
  } catch (error) {
    throw new Error(`Card template ${path} is not valid JSON: ${(error as Error).message}`);
  }
}
