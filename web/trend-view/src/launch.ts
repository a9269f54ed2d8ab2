/**
 * launch.html: the SMART launch URL the EHR (or a person) opens.
 * - EHR launch: `?iss=<FHIR base>&launch=<opaque>`: authorization with read-only patient scopes.
 * - Standalone launch with authorization: `?iss=<FHIR base>` (the server's patient picker).
 * - Standalone launch against an open FHIR server (no authorization, e.g. the embedded sandbox):
 *   `?fhirServiceUrl=<FHIR base>&patient=<id>[&appContext=<JSON>]`.
 * Each ends on index.html (the redirect URL), which calls FHIR.oauth2.ready().
 */
import FHIR from 'fhirclient';
import { CLIENT_ID, scopesFor } from './smart-config.js';
import { APP_CONTEXT_STORAGE_KEY, showFatal } from './page.js';

const REDIRECT = new URL('index.html', window.location.href).href;

async function launch(): Promise<void> {
  const params = new URLSearchParams(window.location.search);
  const iss = params.get('iss');
  const launchId = params.get('launch');
  const open = params.get('fhirServiceUrl');
  // Kept for the view: an EHR passes appContext in the token response, a standalone link here.
  const appContext = params.get('appContext');
  if (appContext !== null) sessionStorage.setItem(APP_CONTEXT_STORAGE_KEY, appContext);
  else sessionStorage.removeItem(APP_CONTEXT_STORAGE_KEY);

  if (open !== null) {
    const patientId = params.get('patient');
    if (patientId === null) throw new Error('a standalone launch needs ?patient=<id> with fhirServiceUrl');
    await FHIR.oauth2.authorize({ fhirServiceUrl: open, patientId, redirectUri: REDIRECT });
    return;
  }
  if (iss === null)
    throw new Error('no iss: open this page from the EHR (launch + iss) or see docs/registration.md');
  const kind = launchId === null ? 'standalone' : 'ehr';
  const scope = scopesFor(kind, await capabilities(iss));
  await FHIR.oauth2.authorize({
    iss,
    ...(launchId !== null && { launch: launchId }),
    clientId: CLIENT_ID,
    scope,
    redirectUri: REDIRECT,
    // SMART 2: PKCE whenever the server offers it.
    pkceMode: 'ifSupported',
  });
}

/** The server's SMART capabilities (.well-known/smart-configuration); none when unreadable. */
async function capabilities(iss: string): Promise<string[]> {
  try {
    const response = await fetch(`${iss.replace(/\/+$/, '')}/.well-known/smart-configuration`, {
      headers: { accept: 'application/json' },
    });
    if (!response.ok) return [];
    const body = (await response.json()) as { capabilities?: unknown };
    return Array.isArray(body.capabilities) ? body.capabilities.filter((c) => typeof c === 'string') : [];
  } catch {
    return [];
  }
}

launch().catch(showFatal);
