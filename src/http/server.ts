/**
 * The HTTP server (fastify): /healthz (process up), /readyz (database reachable, SIP sockets bound)
 * and whatever `routes` add (the presence API, /admin, /metrics — see api.ts). Every error is JSON
 * `{code, message}` (errors.ts); every route is recorded in `routeCatalog` for the OpenAPI document.
 */
import Fastify, { LogController, type FastifyBaseLogger, type FastifyInstance, type RouteOptions } from 'fastify';
import type { Logger } from '../log';
import { errorHandler, notFoundHandler, sendError } from './errors';

export interface HttpDeps {
  log: Logger;
  ready: () => Promise<{ ok: boolean; checks: Record<string, boolean> }>;
  /** Further routes (presence API, admin, metrics). */
  routes?: Array<(app: FastifyInstance) => void | Promise<void>>;
  bodyLimitBytes: number;
  /** Requests handled at once; beyond it 503 + Retry-After (overload bound). */
  maxInFlight: number;
  /** Slow clients: the whole request, and its headers, must arrive within these. */
  requestTimeoutMs: number;
  headersTimeoutMs: number;
  connectionsCheckIntervalMs: number;
  maxHeaderBytes: number;
}

/** A route as registered: what the OpenAPI document is generated from. */
export interface RouteInfo {
  method: string;
  url: string;
  schema: Record<string, unknown> | undefined;
  config: Record<string, unknown> | undefined;
}

declare module 'fastify' {
  interface FastifyInstance {
    routeCatalog: RouteInfo[];
  }
  /** Documentation of a route, for the OpenAPI document (fastify itself ignores these keys). */
  interface FastifySchema {
    summary?: string;
    description?: string;
    tags?: string[];
  }
}

export async function createHttpServer(deps: HttpDeps): Promise<FastifyInstance> {
  const logger: FastifyBaseLogger = deps.log.child({ component: 'http' });
  const app = Fastify({
    loggerInstance: logger,
    bodyLimit: deps.bodyLimitBytes,
    // Slowloris: node's http server closes a connection whose headers (or whole request) are late,
    // checked every connectionsCheckingInterval; a header section beyond maxHeaderSize is 431.
    requestTimeout: deps.requestTimeoutMs,
    http: {
      headersTimeout: Math.min(deps.headersTimeoutMs, deps.requestTimeoutMs),
      requestTimeout: deps.requestTimeoutMs,
      connectionsCheckingInterval: deps.connectionsCheckIntervalMs,
      maxHeaderSize: deps.maxHeaderBytes,
    },
    logController: new LogController({ disableRequestLogging: true }),
    ajv: {
      // Unknown fields are refused (400 naming them), not silently dropped; query values are coerced
      // (a single ?user=a becomes ['a']).
      customOptions: { removeAdditional: false, coerceTypes: 'array', useDefaults: true, allErrors: false },
    },
  });
  const catalog: RouteInfo[] = [];
  app.decorate('routeCatalog', catalog);
  app.addHook('onRoute', (r: RouteOptions) => {
    for (const method of Array.isArray(r.method) ? r.method : [r.method]) {
      if (method === 'HEAD') continue;
      catalog.push({ method, url: r.url, schema: r.schema as Record<string, unknown> | undefined, config: r.config as Record<string, unknown> | undefined });
    }
  });
  boundInFlight(app, deps.maxInFlight);
  app.setErrorHandler(errorHandler);
  app.setNotFoundHandler(notFoundHandler);
  app.get('/healthz', { schema: { summary: 'The process is up', tags: ['health'] } }, async () => ({ status: 'ok' }));
  app.get('/readyz', { schema: { summary: 'The database answers and the SIP sockets are bound (503 otherwise)', tags: ['health'] } }, async (_req, reply) => {
    const r = await deps.ready();
    return reply.code(r.ok ? 200 : 503).send({ status: r.ok ? 'ready' : 'unavailable', checks: r.checks });
  });
  for (const register of deps.routes ?? []) await register(app);
  return app;
}

/**
 * The overload bound of HTTP: beyond `max` requests in flight, new ones are answered 503 at once.
 * RFC 9110 §15.6.4: "The server MAY send a Retry-After header field to suggest an appropriate amount
 * of time for the client to wait before retrying the request." /healthz (process up) is never refused.
 */
/** GETs of /v1/subscriptions/{id}/events|stream and /v1/apps/{appId}/events|stream. */
const HELD = /^\/v1\/(subscriptions|apps)\/[^/?]+\/(events|stream)(\?|$)/;

function boundInFlight(app: FastifyInstance, max: number): void {
  let inFlight = 0;
  app.addHook('onRequest', async (req, reply) => {
    if (req.url === '/healthz') return;
    // Held deliveries (SSE/ndjson streams, long-poll event channels) wait for events, they are not work
    // in flight: 1000 open streams must not lock everyone else out. The graceful stop ends them.
    if (req.method === 'GET' && HELD.test(req.url)) return;
    // Answered here; returning the reply ends the hook chain (fastify: "return reply" after sending).
    if (inFlight >= max) return sendError(reply, { status: 503, code: 'UNAVAILABLE', message: 'too many requests in flight, retry later', headers: { 'Retry-After': '1' } });
    inFlight++;
    // 'close' comes once per response, sent or aborted.
    reply.raw.once('close', () => inFlight--);
  });
}

/** `127.0.0.1:8080` or `[::1]:8080` → host and port. */
export function splitHostPort(s: string): { host: string; port: number } {
  const m = /^(?:\[([^\]]+)\]|([^:]+)):(\d+)$/.exec(s.trim());
  if (!m) throw new Error(`bad host:port '${s}'`);
  return { host: (m[1] ?? m[2]) as string, port: Number(m[3]) };
}
