/**
 * The seam between the HTTP layer and trust (src/trust): the HTTP layer asks who is calling, the
 * use cases ask whether that caller may send the service to a given FHIR server.
 */
export interface AuthenticatedCaller {
  /** The JWT issuer, or 'development' when CDS_AUTH=off. Safe to log. */
  iss: string;
  /** FHIR server binding: may the service call this `fhirServer` for this caller? */
  mayUseFhirServer(fhirServer: string): boolean;
  /** Silent mode for this caller (its CDS_CLIENTS entry): assess and record, answer no cards. */
  silent?: boolean;
}

export type Authentication =
  | { ok: true; caller: AuthenticatedCaller; jti?: string }
  | { ok: false; failedCheck: string; iss?: string; jti?: string };

export interface RequestAuthenticator {
  /** `audience` is the public URL of the endpoint called (the JWT `aud` it must carry). */
  authenticate(authorization: string | undefined, audience: string): Promise<Authentication>;
}
