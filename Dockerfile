# The demo app (see docker-compose.yml). Multi-stage: better-sqlite3 compiles its native addon when no prebuilt
# binary fits, so the toolchain (python3, make, g++) lives in the build stages only; the final image gets the
# built dist/ and the production node_modules, and runs as the unprivileged "node" user.
ARG NODE_IMAGE=node:26-bookworm-slim

FROM ${NODE_IMAGE} AS toolchain
RUN apt-get update \
 && DEBIAN_FRONTEND=noninteractive apt-get install -y --no-install-recommends python3 make g++ \
 && rm -rf /var/lib/apt/lists/*
WORKDIR /app
# The workspace (libs/ldap-auth) must be declared for npm ci to link node_modules/@nest-ldap-auth/ldap-auth to it.
COPY package.json package-lock.json ./
COPY libs/ldap-auth/package.json libs/ldap-auth/

# Production dependencies only, compiled for this image's Node and libc.
FROM toolchain AS deps
RUN npm ci --omit=dev --no-audit --no-fund && npm cache clean --force

FROM toolchain AS build
RUN npm ci --no-audit --no-fund
COPY tsconfig.json tsconfig.build.json ./
COPY libs/ldap-auth/tsconfig.lib.json libs/ldap-auth/
COPY libs/ldap-auth/src libs/ldap-auth/src
COPY src src
RUN npm run build

FROM ${NODE_IMAGE}
# production: the app refuses to start without LDAP_AUTH_URL (the embedded development directory, with its
# public passwords, can never be served from a container) and without a JWT_SECRET of 16+ characters.
ENV NODE_ENV=production HOST=0.0.0.0 PORT=3000
WORKDIR /app
COPY package.json ./
COPY libs/ldap-auth/package.json libs/ldap-auth/
COPY --from=deps /app/node_modules node_modules
COPY --from=build /app/libs/ldap-auth/dist libs/ldap-auth/dist
COPY --from=build /app/dist dist
# Everything above is root's and read-only to the app; data/ is there for DATABASE_URL=sqlite:data/app.sqlite.
RUN mkdir data && chown node:node data
USER node
EXPOSE 3000
# 200 when the database and the directory answer (GET /health); Node's own fetch, no curl in the image.
HEALTHCHECK --interval=10s --timeout=5s --start-period=20s --retries=3 \
  CMD ["node", "-e", "fetch('http://127.0.0.1:'+(process.env.PORT||3000)+'/health').then(r=>process.exit(r.ok?0:1),()=>process.exit(1))"]
CMD ["node", "dist/main.js"]
