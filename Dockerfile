# crs-sentinel: multi-stage build. Stage 1 compiles TypeScript; stage 2 ships only the compiled
# service (dist/src without the developer tools), production dependencies and the card templates,
# and runs as the non-root `node` user. See README.md, "Docker".
# (No Docker engine runs on the development machines: this file is kept correct by review.)

# The base image, pinned to an exact Node release. For a reproducible, tamper-evident build pin it
# by digest too; the digest could not be looked up from the development machines (no registry
# access), so fill it in once with:
#   docker buildx imagetools inspect node:20.20.2-bookworm-slim --format '{{json .Manifest.Digest}}'
# and set NODE_IMAGE=node:20.20.2-bookworm-slim@sha256:<that digest> (here or with --build-arg).
ARG NODE_IMAGE=node:20.20.2-bookworm-slim

FROM ${NODE_IMAGE} AS build
WORKDIR /app
COPY package.json package-lock.json ./
RUN npm ci --no-audit --no-fund --ignore-scripts
COPY tsconfig.json tsconfig.build.json ./
COPY src ./src
# The built-in code lists (FHIR ValueSets) are JSON modules of the core: emitted to dist/valuesets.
COPY valuesets ./valuesets
COPY web ./web
# The CRS trend view (SMART app, served under /app/): bundled by Vite into dist/web/trend-view.
RUN npx vite build --config web/trend-view/vite.config.ts --logLevel warn
RUN npx tsc -p tsconfig.build.json \
  # The developer tools cannot run in the image: the FHIR sandbox needs Medplum (a dev
  # dependency), the fixture loader and EHR simulator need fixtures/ and scripts/, not shipped.
  && rm -rf dist/src/sandbox dist/src/fixture-loader dist/src/fixtures dist/src/ehr-simulator \
  && find dist -name '*.map' -delete

# Production dependencies. Install scripts stay off for every package but better-sqlite3 (the
# embedded store), whose native addon is fetched prebuilt or compiled here, away from the runtime.
FROM ${NODE_IMAGE} AS deps
WORKDIR /app
RUN apt-get update && apt-get install -y --no-install-recommends python3 make g++ \
  && rm -rf /var/lib/apt/lists/*
COPY package.json package-lock.json ./
RUN npm ci --omit=dev --no-audit --no-fund --ignore-scripts && npm rebuild better-sqlite3 \
  && npm cache clean --force

FROM ${NODE_IMAGE} AS runtime
# HOST 0.0.0.0: reachable through the container's published port. SHUTDOWN_GRACE_MS 8000: below
# `docker stop`'s 10 s before SIGKILL, so in-flight calls finish and the process exits by itself.
ENV NODE_ENV=production \
    HOST=0.0.0.0 \
    PORT=3000 \
    DATA_DIR=/var/lib/crs-sentinel \
    SHUTDOWN_GRACE_MS=8000
WORKDIR /app
COPY package.json package-lock.json ./
COPY --from=deps /app/node_modules ./node_modules
COPY --from=build /app/dist/src ./dist/src
COPY --from=build /app/dist/web ./dist/web
COPY --from=build /app/dist/valuesets ./dist/valuesets
COPY cards ./cards
COPY config ./config
# DATA_DIR (the embedded ledger crs-sentinel.sqlite, unless DATABASE_URL is set) is a volume owned by `node` (uid 1000). A named volume takes this
# ownership on first use; a bind-mounted host folder must be writable by uid 1000 itself, or the
# service stops at start with one line naming DATA_DIR.
RUN mkdir -p /var/lib/crs-sentinel && chown node:node /var/lib/crs-sentinel && chmod 0700 /var/lib/crs-sentinel
VOLUME ["/var/lib/crs-sentinel"]
USER node
EXPOSE 3000
# Follows HOST and PORT: a wildcard HOST is checked on loopback, any other HOST on itself.
HEALTHCHECK --interval=30s --timeout=3s --start-period=10s --retries=3 \
  CMD ["node", "-e", "const h=process.env.HOST||'127.0.0.1';const a=h==='0.0.0.0'||h==='::'?'127.0.0.1':h.includes(':')?'['+h+']':h;fetch('http://'+a+':'+(process.env.PORT||3000)+'/healthz',{signal:AbortSignal.timeout(2500)}).then(r=>process.exit(r.ok?0:1),()=>process.exit(1))"]
# Exec form: SIGTERM from `docker stop` reaches node directly (graceful shutdown, src/server.ts).
CMD ["node", "dist/src/server.js"]
