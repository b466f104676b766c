/**
 * The HTTP server (fastify). This scope: /healthz (process up) and /readyz (database
 * reachable, SIP sockets bound). The presence API joins through `routes`.
 */
import Fastify, { type FastifyBaseLogger, type FastifyInstance } from 'fastify';
import type { Logger } from '../log';

export interface HttpDeps {
  log: Logger;
  ready: () => Promise<{ ok: boolean; checks: Record<string, boolean> }>;
  /** Further routes (presence API, admin, metrics). */
  routes?: Array<(app: FastifyInstance) => void | Promise<void>>;
  bodyLimitBytes: number;
}

export async function createHttpServer(deps: HttpDeps): Promise<FastifyInstance> {
  const logger: FastifyBaseLogger = deps.log.child({ component: 'http' });
  const app = Fastify({ loggerInstance: logger, bodyLimit: deps.bodyLimitBytes, disableRequestLogging: true });
  app.get('/healthz', async () => ({ status: 'ok' }));
  app.get('/readyz', async (_req, reply) => {
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
