/**
 * The HTTP server (fastify): /healthz (process up), /readyz (database reachable, SIP sockets bound)
 * and whatever `routes` add (the presence API, /admin, /metrics — see api.ts). Every error is JSON
 * `{code, message}` (errors.ts); every route is recorded in `routeCatalog` for the OpenAPI document.
 */
import Fastify, { LogController, type FastifyBaseLogger, type FastifyInstance, type RouteOptions } from 'fastify';
import type { Logger } from '../log';
import { errorHandler, notFoundHandler } from './errors';

export interface HttpDeps {
  log: Logger;
  ready: () => Promise<{ ok: boolean; checks: Record<string, boolean> }>;
  /** Further routes (presence API, admin, metrics). */
  routes?: Array<(app: FastifyInstance) => void | Promise<void>>;
  bodyLimitBytes: number;
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

/** `127.0.0.1:8080` or `[::1]:8080` → host and port. */
export function splitHostPort(s: string): { host: string; port: number } {
  const m = /^(?:\[([^\]]+)\]|([^:]+)):(\d+)$/.exec(s.trim());
  if (!m) throw new Error(`bad host:port '${s}'`);
  return { host: (m[1] ?? m[2]) as string, port: Number(m[3]) };
}
