# syntax=docker/dockerfile:1
# The `chaos` CLI as a container image: the GameDay CronJob of deploy/kubernetes/ runs it, and the
# same image runs `chaos sandbox` and `chaos proxy` there (docs/kubernetes.md).
#
#   docker build -t chaos-playbook:0.1.0 .
#   docker run --rm chaos-playbook:0.1.0 list
#
# Not built in CI: the CI machines have no container runtime (only the docker client). The layout
# below follows package.json: `files` is what ships (bin, dist, scenarios, docs, deploy, the report
# schema, oclif.manifest.json), `bin.chaos` is bin/run.js, which loads the compiled commands from
# dist/ through oclif.manifest.json, both written by `npm run build`.

ARG NODE_IMAGE=node:20-bookworm-slim

# ---- build: every dependency, compile TypeScript, write oclif.manifest.json, pack --------------
FROM ${NODE_IMAGE} AS build
WORKDIR /src
COPY package.json package-lock.json ./
# --ignore-scripts: `prepare` (the build) needs the sources, copied below; no dependency has an
# install script.
RUN npm ci --ignore-scripts --no-audit --no-fund
COPY . .
# npm pack applies package.json `files` (no test, no source map), so the image holds exactly what
# `npm install chaos-playbook` would; --ignore-scripts: its `prepare` would build a second time.
RUN npm run build \
 && npm pack --ignore-scripts --silent --pack-destination /tmp \
 && mkdir /pkg \
 && tar -xzf /tmp/chaos-playbook-*.tgz -C /pkg --strip-components=1 \
 && cp package-lock.json /pkg/

# ---- runtime: the packed package and its production dependencies only ------------------------
FROM ${NODE_IMAGE}
WORKDIR /opt/chaos
COPY --from=build /pkg/ ./
# The lock file pins the same versions as the tests ran with; --ignore-scripts skips `prepare`
# (no compiler here, and dist/ is already built).
RUN npm ci --omit=dev --ignore-scripts --no-audit --no-fund \
 && npm cache clean --force \
 && rm package-lock.json \
 && ln -s /opt/chaos/bin/run.js /usr/local/bin/chaos \
 && mkdir -p /work /var/lib/chaos/reports \
 && chown node:node /work /var/lib/chaos/reports
# The image's `node` user (uid 1000), numeric so that Kubernetes' runAsNonRoot can check it.
USER 1000:1000
WORKDIR /work
# No NODE_ENV=production: `chaos sandbox` refuses it, and the runner needs no such setting.
ENTRYPOINT ["chaos"]
CMD ["--help"]
