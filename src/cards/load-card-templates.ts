/**
 * Reads and validates the card templates once at start (sync). A missing folder or file, bad JSON
 * or a bad field throws a one-line ConfigError naming CARDS_DIR, the file and the field (or the
 * JSON line and column), so the service refuses to start with broken card content and the operator
 * reads what to fix (issue 10, "Start-up and configuration a hospital can read").
 */
import { readFileSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { describeJsonError, parseJsonText } from '../config/json-text.js';
import { whatChangedTemplateSchema, type WhatChangedTemplate } from '../governance/what-changed.js';
import { ConfigError } from '../config/load-config.js';
import { oneLine } from '../config/startup.js';
import {
  crsCardTemplateSchema,
  parseCardTemplate,
  productLabelsSchema,
  type CrsCardTemplates,
} from '../rules/crs-sentinel/card-templates.js';

export const CRS_CARD_FILE = 'crs-sentinel/crs-card.json';
export const WHAT_CHANGED_FILE = 'crs-sentinel/what-changed.json';
export const PRODUCT_LABELS_FILE = 'crs-sentinel/product-labels.json';

/** `dir` is the cards directory, e.g. `<repo>/cards`. */
export function loadCardTemplates(dir: string): CrsCardTemplates {
  let folderMissing = false;
  try {
    folderMissing = !statSync(dir).isDirectory();
  } catch {
    folderMissing = true;
  }
  const read = (path: string) => readJson(path, folderMissing ? dir : undefined);
  return {
    crs: parseTemplate(crsCardTemplateSchema, join(dir, CRS_CARD_FILE), read),
    productLabels: parseTemplate(productLabelsSchema, join(dir, PRODUCT_LABELS_FILE), read),
  };
}

/** The "what changed" texts of escalated cards (alert governance, issue 11). */
export function loadWhatChangedTemplate(dir: string): WhatChangedTemplate {
  return parseTemplate(whatChangedTemplateSchema, join(dir, WHAT_CHANGED_FILE), (path) =>
    readJson(path, undefined),
  );
}

function parseTemplate<T>(
  schema: Parameters<typeof parseCardTemplate<T>>[0],
  path: string,
  read: (path: string) => unknown,
): T {
  const json = read(path);
  try {
    return parseCardTemplate(schema, json, path);
  } catch (error) {
    throw new ConfigError(
      `CARDS_DIR: ${oneLine(error instanceof Error ? error.message : String(error))}: fix the template or restore it from the release`,
    );
  }
}

/** `missingFolder`: the CARDS_DIR folder, when it does not exist (the message then says so). */
function readJson(path: string, missingFolder: string | undefined): unknown {
  let text: string;
  try {
    text = readFileSync(path, 'utf8');
  } catch (error) {
    const code =
      typeof error === 'object' && error !== null && 'code' in error ? String(error.code) : 'error';
    const fix =
      missingFolder === undefined
        ? 'restore it from the release or set CARDS_DIR to a complete templates folder'
        : `the folder ${missingFolder} does not exist: set CARDS_DIR to the card templates folder (the package's cards/) or unset it`;
    throw new ConfigError(`CARDS_DIR: Card template ${path} cannot be read (${code}): ${fix}`);
  }
  const parsed = parseJsonText(text);
  if (!parsed.ok) {
    throw new ConfigError(`CARDS_DIR: Card template ${path}: ${describeJsonError(parsed)}`);
  }
  return parsed.value;
}
