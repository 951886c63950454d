# Warren's container image (docs/deploy.md):
#
#   docker build -t warren .
#   docker run -d --name warren -p 5672:5672 -p 15672:15672 \
#     -e WARREN_DEFAULT_USER=app -e WARREN_DEFAULT_PASS=change-me -v warren-data:/var/lib/warren warren
#
# scripts/docker-smoke.sh builds and checks it; test/container.test.ts checks, without a Docker engine,
# that the paths below are in the npm tarball and that the entrypoint starts with this environment.

# Build stage: the dev dependencies compile the TypeScript, and `npm pack` makes the tarball npm
# users install (its `prepack` builds); the runtime gets exactly that tarball's files.
FROM node:20-bookworm-slim AS build
WORKDIR /src
COPY package.json package-lock.json ./
RUN npm ci --no-audit --no-fund
COPY . .
# The production dependencies, at the lockfile's versions, beside the unpacked package.
RUN mkdir -p /tmp/pack /opt/warren \
 && npm pack --pack-destination /tmp/pack \
 && tar -xzf /tmp/pack/*.tgz -C /opt/warren --strip-components 1 \
 && cp package-lock.json /opt/warren/ \
 && cd /opt/warren \
 && npm ci --omit=dev --ignore-scripts --no-audit --no-fund

# Runtime stage: Node 20 and the package, no compiler, no dev dependencies.
FROM node:20-bookworm-slim
# A system user of its own (uid/gid 999): Warren refuses a data folder another user owns or may
# write to, so a bind-mounted folder must belong to 999 (docs/deploy.md).
RUN groupadd --system --gid 999 warren \
 && useradd --system --uid 999 --gid warren --home-dir /var/lib/warren --no-create-home --shell /usr/sbin/nologin warren \
 && install -d -o warren -g warren -m 0700 /var/lib/warren
# Owned by root: the broker cannot change its own code.
COPY --from=build /opt/warren /opt/warren
# The package's bins (package.json "bin") on the PATH; their shebang runs node with the broker's flags.
RUN chmod 0755 /opt/warren/dist/src/cli/warren.js /opt/warren/dist/src/cli/warrenctl.js /opt/warren/dist/src/cli/warren-perf.js \
 && ln -s /opt/warren/dist/src/cli/warren.js /usr/local/bin/warren \
 && ln -s /opt/warren/dist/src/cli/warrenctl.js /usr/local/bin/warrenctl \
 && ln -s /opt/warren/dist/src/cli/warren-perf.js /usr/local/bin/warren-perf

# Every setting is a WARREN_* variable (docs/configuration.md). The listeners keep their default,
# every address, so that published ports reach them; warrenctl finds the broker through
# WARREN_DATA_DIR, in `docker exec` and in the health check alike.
ENV WARREN_DATA_DIR=/var/lib/warren
VOLUME ["/var/lib/warren"]
WORKDIR /var/lib/warren
USER warren:warren
# AMQP, AMQPS (with --tls-cert), the management HTTP API, Prometheus metrics.
EXPOSE 5672 5671 15672 15692
# `warrenctl status` asks the broker itself over its control socket: it answers once storage is
# recovered, and not when the process is gone or its event loop is stuck.
HEALTHCHECK --interval=30s --timeout=10s --start-period=60s --retries=3 CMD ["warrenctl", "--quiet", "--timeout", "5", "status"]
# node is PID 1 (no init): Warren handles SIGTERM and SIGINT itself from before it opens its data, and a
# SIGTERM (`docker stop`) closes connections and writes what is pending before it exits. Flags
# given to `docker run IMAGE ...` are warren's (`docker run IMAGE --log-level debug`).
STOPSIGNAL SIGTERM
ENTRYPOINT ["warren"]
