# syntax=docker/dockerfile:1
# CPU image by default; `--build-arg RUNTIME=cuda` builds on NVIDIA's CUDA 12 + cuDNN 9 runtime and installs
# onnxruntime-node's CUDA provider.
ARG RUNTIME=cpu

FROM node:20-bookworm-slim AS deps
ARG RUNTIME
WORKDIR /app
# better-sqlite3 compiles its native addon when no prebuilt one fits.
RUN apt-get update && apt-get install -y --no-install-recommends python3 make g++ && rm -rf /var/lib/apt/lists/*
COPY package.json package-lock.json .npmrc ./
RUN if [ "$RUNTIME" = cuda ]; then export ONNXRUNTIME_NODE_INSTALL=cuda12; fi \
 && npm ci --omit=dev --no-audit --no-fund

FROM node:20-bookworm-slim AS base-cpu
FROM nvidia/cuda:12.8.1-cudnn-runtime-ubuntu24.04 AS base-cuda
COPY --from=node:20-bookworm-slim /usr/local/bin/node /usr/local/bin/node
RUN ln -s /usr/local/bin/node /usr/local/bin/nodejs

FROM base-${RUNTIME} AS runtime
WORKDIR /app
# Box labels are drawn with a system font.
RUN apt-get update && apt-get install -y --no-install-recommends fonts-dejavu-core && rm -rf /var/lib/apt/lists/*
ENV NODE_ENV=production \
    MINIGPT_STATE_FILE=/data/state/minigpt-bot.sqlite \
    METRICS_HOST=0.0.0.0
COPY --from=deps /app/node_modules ./node_modules
COPY package.json tsconfig.json ./
COPY bin ./bin
COPY app ./app
COPY src ./src
COPY adapters ./adapters
COPY plugins ./plugins
COPY assets ./assets
# The embedded default model; real exports go in the /models volume.
COPY models/default ./models/default
RUN groupadd --system bot && useradd --system --gid bot --home /app bot \
 && mkdir -p /data/state /models && chown -R bot:bot /data /models
USER bot
VOLUME ["/data/state", "/models"]
EXPOSE 3000 9464
HEALTHCHECK --interval=30s --timeout=5s --start-period=60s --retries=3 \
  CMD node -e "fetch('http://127.0.0.1:'+(process.env.METRICS_PORT||9464)+'/healthz').then(r=>process.exit(r.ok?0:1),()=>process.exit(1))"
# The same entry as `npm start`; the CLI is `docker compose run --rm --entrypoint node bot bin/minigpt-bot.js ...`.
ENTRYPOINT ["node", "--import", "tsx", "app/main.ts"]
