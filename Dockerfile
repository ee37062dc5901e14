# tumbler (supervisor or producer) for users with Docker; see docker-compose.yml.
# Build stage compiles TypeScript and then drops dev dependencies, so the
# runtime stage is one COPY (sql/ migrations and web/ assets come along).
FROM node:26-slim AS build
WORKDIR /app
COPY package.json package-lock.json ./
RUN npm ci --no-audit --no-fund
COPY . .
RUN npm run build && npm prune --omit=dev --omit=optional

FROM node:26-slim
ENV NODE_ENV=production \
    HTTP_HOST=0.0.0.0 \
    HTTP_PORT=8501
WORKDIR /app
COPY --from=build /app /app
USER node
EXPOSE 8501
# node:26-slim has no curl; Node's fetch does the probe (readiness: consuming and Postgres reachable).
HEALTHCHECK --interval=5s --timeout=3s --start-period=30s --retries=6 \
  CMD ["node", "-e", "fetch('http://127.0.0.1:8501/readyz').then(r=>process.exit(r.ok?0:1),()=>process.exit(1))"]
# exec: node is PID 1's process and gets SIGTERM; the flags bound every thread's V8 heap (scripts/supervisor-node-flags).
CMD ["sh", "-c", "exec node $(cat scripts/supervisor-node-flags) dist/supervisor.js"]
