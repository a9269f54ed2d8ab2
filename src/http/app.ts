/**
 * Builds the express app from its dependencies; src/server.ts listens. The only importer of
 * express: routes are thin and hand over to the use cases in src/service/.
 */
import cors from 'cors';
import express, { type Request, type RequestHandler } from 'express';
import {
  CRS_SENTINEL_SERVICE_ID,
  crsSentinelService,
  PATIENT_VIEW_HOOK,
  prefetchKeysFor,
} from '../cds-hooks/crs-sentinel-service.js';
import { parseFeedbackRequest } from '../cds-hooks/feedback-request.js';
import { hookInstanceOf, parseHookRequest } from '../cds-hooks/hook-request.js';
import { CdsError, notFound, quote } from '../errors/cds-error.js';
import type { FeedbackStore } from '../feedback/feedback-store.js';
import type { Logger } from '../logging/logger.js';
import { handlePatientView, type PatientViewDeps } from '../service/patient-view.js';
import { recordFeedback } from '../service/record-feedback.js';
import type { AuthenticatedCaller, RequestAuthenticator } from '../service/request-authenticator.js';
import { OVERRIDE_REASON_SYSTEM } from '../governance/policy-config.js';
import {
  NO_METRICS,
  feedbackReasonLabel,
  hookOutcomeLabel,
  type ServiceMetrics,
} from '../metrics/service-metrics.js';
import { createErrorHandler, malformedPath } from './error-handler.js';
import { httpMetrics } from './http-metrics.js';
import { addLogFacts, requestLogging } from './request-logging.js';
import { jsonBody, parseByteLimit } from './request-body.js';
import { TREND_VIEW_PATH, trendViewRouter, type SiteRuleFiles } from './trend-view-app.js';

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
  /** Prometheus counters and histograms (served on METRICS_PORT by server.ts). */
  metrics?: ServiceMetrics;
  /** The built CRS trend view (SMART app), served under /app/ when set. */
  trendViewDir?: string;
  /** The site's RULES_CONFIG and SITE_CODES as read at start, published to the trend view. */
  trendViewRules?: SiteRuleFiles;
}

export function createApp(deps: AppDeps) {
  const app = express();
  const bodyLimitBytes = parseByteLimit(deps.bodyLimit);
  app.disable('x-powered-by');
  // Cards are computed per call and never served conditionally: express would hash every body.
  app.disable('etag');
  app.set('trust proxy', false);
  // The JWT `aud` is built from the path called: only the exact, canonical paths may match.
  app.set('case sensitive routing', true);
  app.use(requestLogging(deps.logger));
  const metrics = deps.metrics ?? NO_METRICS;
  app.use(httpMetrics(metrics));
  app.use(
    cors({
      origin: deps.corsOrigins,
      methods: ['GET', 'POST', 'OPTIONS'],
      allowedHeaders: ['Authorization', 'Content-Type'],
      maxAge: 600,
    }),
  );

  // A malformed percent-escape anywhere in the path is a 400 before any route decodes a parameter
  // (express 5's router throws a URIError on one, which was a 500 before authentication).
  app.use((req, _res, next) => {
    next(isDecodablePath(req.path) ? undefined : malformedPath());
  });
  app.use(collapseRepeatedSlashes);

  app
    .route('/healthz')
    .get((_req, res) => {
      res.json({ status: 'ok' });
    })
    .all(methodNotAllowed(GET));
  app
    .route('/readyz')
    .get(async (_req, res) => {
      const accepting = deps.isAcceptingWork?.() ?? true;
      const storeReady = await deps.feedbackStore.check().then(
        () => true,
        () => false,
      );
      res.status(accepting && storeReady ? 200 : 503).json({
        status: accepting && storeReady ? 'ready' : 'not-ready',
        checks: { acceptingWork: accepting, feedbackStore: storeReady },
      });
    })
    .all(methodNotAllowed(GET));

  if (deps.trendViewDir !== undefined)
    app.use(TREND_VIEW_PATH, trendViewRouter(deps.trendViewDir, deps.trendViewRules));

  const json = jsonBody(bodyLimitBytes);
  const authenticate = authentication(deps);
  // The site's own codes (SITE_CODES) are in the templates the EHR is asked to prefetch.
  const discovery = { services: [crsSentinelService(prefetchKeysFor(deps.patientView.rules))] };

  app
    .route('/cds-services')
    .get(authenticate, (_req, res) => {
      res.json(discovery);
    })
    .all(methodNotAllowed(GET));

  app
    .route('/cds-services/:id')
    .post(authenticate, knownService, ...json, async (req, res) => {
      // Logged even when the body fails validation below: which call of the EHR this was.
      const hookInstance = hookInstanceOf(req.body);
      if (hookInstance !== undefined) addLogFacts(res, { hookInstance });
      const request = parseHookRequest(req.body, PATIENT_VIEW_HOOK);
      const outcome = await handlePatientView(request, callerOf(res.locals), deps.patientView);
      addLogFacts(res, {
        hookInstance: request.hookInstance,
        patient: deps.hashPatientId(request.context.patientId),
        ...outcome.log,
      });
      metrics.hookCall(hookOutcomeLabel(outcome.log));
      res.json(outcome.response);
    })
    .all(knownServiceOnly, methodNotAllowed(POST));

  app
    .route('/cds-services/:id/feedback')
    .post(authenticate, knownService, ...json, async (req, res) => {
      const feedback = parseFeedbackRequest(req.body);
      for (const item of feedback.feedback) {
        metrics.feedback(
          item.outcome,
          feedbackReasonLabel(item.overrideReason?.reason, OVERRIDE_REASON_SYSTEM),
        );
      }
      const count = await recordFeedback(
        CRS_SENTINEL_SERVICE_ID,
        feedback,
        deps.feedbackStore,
        deps.patientView.now(),
      );
      addLogFacts(res, { feedback: count });
      res.json({});
    })
    .all(knownServiceOnly, methodNotAllowed(POST));

  app.use((_req, _res, next) => {
    next(notFound('no such endpoint'));
  });
  app.use(createErrorHandler(deps.logger, bodyLimitBytes));
  return app;
}

const knownService: RequestHandler = (req, _res, next) => {
  const id = String(req.params.id);
  next(
    id === CRS_SENTINEL_SERVICE_ID
      ? undefined
      : notFound(`no CDS service with id ${quote(id)}`, 'unknown service id'),
  );
};

/** For a wrong method: an unknown service id stays a 404 (the resource does not exist). */
const knownServiceOnly: RequestHandler = (req, _res, next) => {
  next(req.params.id === CRS_SENTINEL_SERVICE_ID ? undefined : 'route');
};

// CORS (the `cors` middleware above) answers OPTIONS on every path; express answers HEAD with GET.
const GET = ['GET', 'HEAD', 'OPTIONS'] as const;
const POST = ['POST', 'OPTIONS'] as const;

/**
 * RFC 9110 section 15.5.6: a method the resource does not take is a 405 with `Allow`. Answered
 * before authentication, like a 404: which methods a path takes is in the README, not a secret.
 */
function methodNotAllowed(allowed: readonly string[]): RequestHandler {
  return (req, _res, next) => {
    next(
      new CdsError('method-not-allowed', `${req.method} is not allowed here; use ${allowed.join(', ')}`, {
        allowedMethods: allowed,
      }),
    );
  };
}

/**
 * Routes `/cds-services//crs-sentinel` as `/cds-services/crs-sentinel`. The CDS Hooks Sandbox
 * builds each service URL as `${discoveryUrl}/${service.id}` (cds-hooks/sandbox
 * src/reducers/cds-services-reducers.js), so a discovery URL entered with a trailing slash, which
 * discovery answers, sent every hook and feedback call to a doubled slash and a 404. The JWT
 * audience stays the path as called (`calledPath`): the sandbox signs exactly the URL it calls.
 */
const collapseRepeatedSlashes: RequestHandler = (req, res, next) => {
  res.locals.calledPath = req.path;
  const queryAt = req.url.indexOf('?');
  const path = queryAt === -1 ? req.url : req.url.slice(0, queryAt);
  // Origin-form targets only: an absolute-form one (`http://host/...`, RFC 9112 section 3.2.2)
  // has its `//` after the scheme.
  if (path.startsWith('/') && path.includes('//'))
    req.url = path.replace(/\/{2,}/g, '/') + (queryAt === -1 ? '' : req.url.slice(queryAt));
  next();
};

/** The path the client called, before collapseRepeatedSlashes: the endpoint its JWT names. */
function calledPath(req: Request, locals: Record<string, unknown>): string {
  return typeof locals.calledPath === 'string' ? locals.calledPath : req.path;
}

/**
 * The Authorization header as one value. Node keeps only the first of several Authorization field
 * lines and drops the rest, so a proxy in front that reads another one would authorise a different
 * credential than this service verified. Several lines are combined as RFC 9110 section 5.3 says
 * (joined by commas), which is never one Bearer credential: the verifier refuses it ('malformed').
 */
function authorizationOf(req: Request): string | undefined {
  const values: string[] = [];
  for (let i = 0; i + 1 < req.rawHeaders.length; i += 2) {
    if (req.rawHeaders[i]?.toLowerCase() === 'authorization') values.push(req.rawHeaders[i + 1] ?? '');
  }
  return values.length > 1 ? values.join(', ') : req.get('authorization');
}

function isDecodablePath(path: string): boolean {
  try {
    decodeURIComponent(path);
    return true;
  } catch {
    return false;
  }
}

/** Verifies the caller's JWT against the public URL of the endpoint called (its `aud`). */
function authentication(deps: AppDeps): RequestHandler {
  return async (req, res, next) => {
    const audience = `${deps.publicBaseUrl}${calledPath(req, res.locals)}`;
    const result = await deps.authenticator.authenticate(authorizationOf(req), audience);
    if (!result.ok) {
      deps.metrics?.authFailure(result.failedCheck);
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
