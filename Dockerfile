# guardrail-pdp: the policy decision point sidecar.
#
#   docker build -t guardrail-pdp:dev .
#   docker run --rm -p 127.0.0.1:50051:50051 -p 127.0.0.1:9464:9464 guardrail-pdp:dev \
#     serve --bundle /etc/guardrail-pdp/bundle.yaml --listen 0.0.0.0:50051 --insecure-listen
#
# (Beyond the container's loopback the decision API needs TLS or --insecure-listen; the -p flags
# publish it on the host's loopback only.)
#
# Two stages on the same Debian (glibc) Node image, so the better-sqlite3 addon compiled in the
# builder loads in the runtime stage. The runtime stage holds only dist/, the production
# node_modules, package.json and examples/; it runs as a numeric non-root user and writes nothing,
# so it works with a read-only root filesystem (see deploy/README.md).

ARG NODE_IMAGE=node:20-bookworm-slim

FROM ${NODE_IMAGE} AS build
# node-gyp's toolchain for better-sqlite3.
RUN apt-get update \
  && apt-get install -y --no-install-recommends python3 make g++ \
  && rm -rf /var/lib/apt/lists/*
WORKDIR /app
# Build the addon from source against this image's own Node headers: no prebuilt binary and no
# header tarball is downloaded, and the ABI is the one the runtime stage runs.
ENV npm_config_build_from_source=true \
    npm_config_nodedir=/usr/local
# Dependencies first, so a source change reuses this layer. --ignore-scripts skips `prepare` (the
# TypeScript build needs src/, copied below); the rebuild then runs better-sqlite3's install.
COPY package.json package-lock.json ./
RUN npm ci --ignore-scripts --no-audit --no-fund \
  && npm rebuild better-sqlite3
COPY tsconfig.json tsconfig.build.json ./
COPY scripts/build.mjs ./scripts/
COPY src ./src
# Build dist/, drop devDependencies, and keep only the compiled addon of better-sqlite3 (its
# SQLite sources and object files are about 30 MB; only build/Release/better_sqlite3.node loads).
RUN npm run build \
  && npm prune --omit=dev --no-audit --no-fund \
  && cd node_modules/better-sqlite3 \
  && mv build/Release/better_sqlite3.node /tmp/ \
  && rm -rf build deps src \
  && mkdir -p build/Release \
  && mv /tmp/better_sqlite3.node build/Release/ \
  && cd /app \
  && node -e "require('better-sqlite3')(':memory:').close()"

FROM ${NODE_IMAGE}
LABEL org.opencontainers.image.title="guardrail-pdp" \
      org.opencontainers.image.description="Per-pod policy decision point for LLM gateways (LiteLLM policy semantics over localhost gRPC)" \
      org.opencontainers.image.licenses="Apache-2.0"
ENV NODE_ENV=production \
    NODE_OPTIONS="--max-semi-space-size=4"
WORKDIR /app
# Owned by root and not writable by the runtime user: nothing at run time writes to the image.
COPY --from=build /app/package.json ./package.json
COPY --from=build /app/node_modules ./node_modules
COPY --from=build /app/dist ./dist
COPY examples ./examples
# The default bundle, so `docker run` works as is; Kubernetes mounts a ConfigMap over the directory.
COPY examples/bundle.yaml /etc/guardrail-pdp/bundle.yaml
# Numeric, so the kubelet can verify runAsNonRoot; 65532 is the conventional "nonroot" uid.
USER 65532:65532
# 50051: decision API (gRPC; loopback unless --listen says otherwise). 9464: admin HTTP.
EXPOSE 50051 9464
ENTRYPOINT ["node", "--enable-source-maps", "/app/dist/cli/main.js"]
CMD ["serve", "--bundle", "/etc/guardrail-pdp/bundle.yaml"]
