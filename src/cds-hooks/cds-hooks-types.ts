/**
 * CDS Hooks 2.0 response types: https://cds-hooks.hl7.org/2.0/#cds-service-response
 * Optional fields are left out, never null or empty (the spec's JSON rule).
 */
import type { Resource } from 'fhir/r4';

export interface CdsCoding {
  system?: string;
  code: string;
  display?: string;
}

export interface CdsSource {
  label: string;
  url?: string;
  icon?: string;
  topic?: CdsCoding;
}

export interface CdsLink {
  label: string;
  url: string;
  type: 'absolute' | 'smart';
  appContext?: string;
  autolaunchable?: boolean;
}

export interface CdsAction {
  type: 'create' | 'update' | 'delete';
  description: string;
  resource?: Resource;
  resourceId?: string;
}

export interface CdsSuggestion {
  label: string;
  uuid?: string;
  isRecommended?: boolean;
  actions?: CdsAction[];
}

export type CdsIndicator = 'info' | 'warning' | 'critical';

export interface CdsCard {
  uuid?: string;
  summary: string;
  detail?: string;
  indicator: CdsIndicator;
  source: CdsSource;
  suggestions?: CdsSuggestion[];
  selectionBehavior?: 'at-most-one' | 'any';
  overrideReasons?: CdsCoding[];
  links?: CdsLink[];
  extension?: Record<string, unknown>;
}

export interface CdsServiceResponse {
  cards: CdsCard[];
  systemActions?: CdsAction[];
}
