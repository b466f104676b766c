# Herald: SIP presence server. Build: docker build -t herald .   Run: see docker-compose.yml
FROM node:20-bookworm-slim
WORKDIR /app
ENV NODE_ENV=production
COPY package.json package-lock.json ./
RUN npm ci --omit=dev --no-audit --no-fund
COPY tsconfig.json ./
COPY src ./src
COPY migrations ./migrations
COPY config ./config
# SIP on 5060 (UDP and TCP), HTTP API on 8080.
ENV HERALD_SIP_LISTEN=udp:0.0.0.0:5060,tcp:0.0.0.0:5060 \
    HERALD_HTTP_LISTEN=0.0.0.0:8080 \
    HERALD_DB_URL=/data
VOLUME ["/data"]
EXPOSE 5060/udp 5060/tcp 8080/tcp
HEALTHCHECK --interval=10s --timeout=3s --retries=3 CMD node -e "fetch('http://127.0.0.1:8080/readyz').then(r=>process.exit(r.ok?0:1)).catch(()=>process.exit(1))"
CMD ["node", "--enable-source-maps", "-r", "@swc-node/register", "src/main.ts"]
