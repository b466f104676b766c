/**
 * Open endpoints beside /healthz and /readyz: GET /metrics (Prometheus text, from prom-client) and
 * GET /v1/openapi.json (generated from the registered routes' schemas). Also counts every HTTP
 * request for the metrics (an onResponse hook on the root, so it sees every route).
 */
import type { FastifyInstance } from 'fastify';
import type { HeraldMetrics } from '../metrics';
import { openApiDocument } from '../openapi';

export function metaRoutes(metrics: HeraldMetrics) {
  return async (app: FastifyInstance): Promise<void> => {
    app.addHook('onResponse', async (req, reply) => {
      metrics.httpRequest(req.method, req.routeOptions.url, reply.statusCode, reply.elapsedTime / 1000);
    });
    app.get('/metrics', { schema: { summary: 'Prometheus metrics', tags: ['health'] } }, async (_req, reply) => {
      const { contentType, body } = await metrics.render();
      return reply.type(contentType).send(body);
    });
    app.get('/v1/openapi.json', { schema: { summary: 'This OpenAPI document', tags: ['meta'] } }, async () => openApiDocument(app.routeCatalog, { version: '1.0.0' }));
  };
}
