/**
 * Adapts the client JWT verifier to the HTTP layer's seam (src/service/request-authenticator.ts):
 * who is calling (CDS Hooks 2.0 "Trusting CDS Clients") and which FHIR servers that caller may
 * send the service to (the FHIR server binding, fhir-server-binding.ts).
 */
import type { Authentication, RequestAuthenticator } from '../service/request-authenticator.js';
import { isDevelopmentClient } from './auth-mode.js';
import { isFhirServerAllowed } from './fhir-server-binding.js';
import type { ClientJwtVerifier } from './verify-client-jwt.js';

export function createTrustedRequestAuthenticator(verifier: ClientJwtVerifier): RequestAuthenticator {
  return {
    async authenticate(authorization, audience): Promise<Authentication> {
      const result = await verifier.verify(authorization, audience);
      if (!result.ok) {
        return {
          ok: false,
          failedCheck: result.failedCheck,
          ...(result.iss === undefined ? {} : { iss: result.iss }),
          ...(result.jti === undefined ? {} : { jti: result.jti }),
        };
      }
      const { client } = result;
      return {
        ok: true,
        caller: {
          // The HTTP layer warns on every request whose caller is 'development' (CDS_AUTH=off).
          iss: isDevelopmentClient(client) ? 'development' : result.iss,
          mayUseFhirServer: (fhirServer) => isFhirServerAllowed(client, fhirServer),
          ...(client.silent === true ? { silent: true } : {}),
        },
        jti: result.jti,
      };
    },
  };
}
