/**
 * Builds the express app from its dependencies; src/server.ts listens. The only importer of
 * express: routes are thin and hand over to the use cases in src/service/.
 */
import cors from 'cors';
import express, { type RequestHandler } from 'express';
import {
  CRS_SENTINEL_SERVICE,
  CRS_SENTINEL_SERVICE_ID,
  PATIENT_VIEW_HOOK,
} from '../cds-hooks/crs-sentinel-service.js';
import { parseFeedbackRequest } from '../cds-hooks/feedback-request.js';
import { parseHookRequest } from '../cds-hooks/hook-request.js';
import { CdsError, notFound } from '../errors/cds-error.js';
import type { FeedbackStore } from '../feedback/feedback-store.js';
import type { Logger } from '../logging/logger.js';
import { handlePatientView, type PatientViewDeps } from '../service/patient-view.js';
import { recordFeedback } from '../service/record-feedback.js';
import type { AuthenticatedCaller, RequestAuthenticator } from '../service/request-authenticator.js';
import { createErrorHandler } from './error-handler.js';
import { addLogFacts, requestLogging } from './request-logging.js';

export interface AppDeps {
  logger: Logger;
  /** Public origin, e.g. https://cds.example.org: each endpoint's JWT `aud` is built from it. */
  publicBaseUrl: string;
  bodyLimit: string;
  corsOrigins: '*' | string[];
  authenticator: RequestAuthenticator;
  feedbackStore: FeedbackStore;
  patientView: PatientViewDeps;
  hashPatientId: (patientId: string) => string;
  /** Readiness beyond the store: false while shutting down. */
  isAcceptingWork?: () => boolean;
}

export function createApp(deps: AppDeps) {
  const app = express();
  app.disable('x-powered-by');
  // Cards are computed per call and never served conditionally: express would hash every body.
  app.disable('etag');
  app.set('trust proxy', false);
  // The JWT `aud` is built from the path called: only the exact, canonical paths may match.
  app.set('case sensitive routing', true);
  app.use(requestLogging(deps.logger));
  app.use(
    cors({
      origin: deps.corsOrigins,
      methods: ['GET', 'POST', 'OPTIONS'],
      allowedHeaders: ['Authorization', 'Content-Type'],
      maxAge: 600,
    }),
  );

  app.get('/healthz', (_req, res) => {
    res.json({ status: 'ok' });
  });
  app.get('/readyz', async (_req, res) => {
    const accepting = deps.isAcceptingWork?.() ?? true;
    const storeReady = await deps.feedbackStore.check().then(
      () => true,
      () => false,
    );
    res.status(accepting && storeReady ? 200 : 503).json({
      status: accepting && storeReady ? 'ready' : 'not-ready',
      checks: { acceptingWork: accepting, feedbackStore: storeReady },
    });
  });

  const json = express.json({ limit: deps.bodyLimit, type: ['application/json', 'application/*+json'] });
  const authenticate = authentication(deps);

  app.get('/cds-services', authenticate, (_req, res) => {
    res.json({ services: [CRS_SENTINEL_SERVICE] });
  });

  app.post('/cds-services/:id', authenticate, knownService, json, async (req, res) => {
    const request = parseHookRequest(req.body, PATIENT_VIEW_HOOK);
    const outcome = await handlePatientView(request, callerOf(res.locals), deps.patientView);
    addLogFacts(res, {
      hookInstance: request.hookInstance,
      patient: deps.hashPatientId(request.context.patientId),
      ...outcome.log,
    });
    res.json(outcome.response);
  });

  app.post('/cds-services/:id/feedback', authenticate, knownService, json, async (req, res) => {
    const feedback = parseFeedbackRequest(req.body);
    const count = await recordFeedback(
      CRS_SENTINEL_SERVICE_ID,
      feedback,
      deps.feedbackStore,
      deps.patientView.now(),
    );
    addLogFacts(res, { feedback: count });
    res.json({});
  });

  app.use((_req, _res, next) => {
    next(notFound('no such endpoint'));
  });
  app.use(createErrorHandler(deps.logger));
  return app;
}

const knownService: RequestHandler = (req, _res, next) => {
  next(
    req.params.id === CRS_SENTINEL_SERVICE_ID
      ? undefined
      : notFound(`no CDS service with id '${String(req.params.id)}'`),
  );
};

/** Verifies the caller's JWT against the public URL of the endpoint called (its `aud`). */
function authentication(deps: AppDeps): RequestHandler {
  return async (req, res, next) => {
    const audience = `${deps.publicBaseUrl}${req.path}`;
    const result = await deps.authenticator.authenticate(req.get('authorization'), audience);
    if (!result.ok) {
      addLogFacts(res, { failedCheck: result.failedCheck, iss: result.iss, jti: result.jti });
      next(new CdsError('unauthorized', 'unauthorized'));
      return;
    }
    // Development mode is announced once at start (AUTH_OFF_WARNING); each request's one log line
    // says its caller was not verified.
    if (result.caller.iss === 'development') addLogFacts(res, { auth: 'off' });
    res.locals.caller = result.caller;
    next();
  };
}

function callerOf(locals: Record<string, unknown>): AuthenticatedCaller {
  const caller = locals.caller as AuthenticatedCaller | undefined;
  if (!caller) throw new CdsError('unauthorized', 'unauthorized');
  return caller;
}
