/**
 * The OpenAPI 3.1 document, generated from the routes as registered (server.ts routeCatalog): the
 * same JSON Schemas fastify validates with. OpenAPI 3.1 takes JSON Schema as it is.
 */
import type { RouteInfo } from './server';
import { errorSchema, type JsonSchema } from './schemas';

const ERRORS: Record<string, string> = {
  400: 'Bad request: the message names the field',
  401: 'Missing or unknown bearer token',
  403: 'The token lacks the scope or the domain',
  404: 'Not found',
  413: 'Body too large',
  415: 'Unsupported media type',
};

export function openApiDocument(routes: readonly RouteInfo[], info: { version: string }): JsonSchema {
  const paths: Record<string, Record<string, unknown>> = {};
  for (const r of [...routes].sort((a, b) => a.url.localeCompare(b.url) || a.method.localeCompare(b.method))) {
    const path = r.url.replace(/:([A-Za-z0-9_]+)/g, '{$1}');
    (paths[path] ??= {})[r.method.toLowerCase()] = operation(r);
  }
  return {
    openapi: '3.1.0',
    info: {
      title: 'Herald HTTP presence API',
      version: info.version,
      description: 'Presence over HTTP on the same state SIP uses: an HTTP write is a publication SIP watchers are NOTIFYed of, a PUBLISH is what HTTP readers see.',
    },
    components: {
      securitySchemes: { bearer: { type: 'http', scheme: 'bearer', description: 'api_tokens or a key from /admin/api-keys' } },
      schemas: { Error: errorSchema },
    },
    paths,
  };
}

function operation(r: RouteInfo): Record<string, unknown> {
  const s = r.schema ?? {};
  const scope = typeof r.config?.scope === 'string' ? r.config.scope : undefined;
  const op: Record<string, unknown> = {};
  if (typeof s.summary === 'string') op.summary = s.summary;
  if (typeof s.description === 'string') op.description = s.description;
  if (Array.isArray(s.tags)) op.tags = s.tags;
  op.operationId = `${r.method.toLowerCase()}${r.url.replace(/[:/{}.-]+(\w)?/g, (_m, c: string | undefined) => (c ?? '').toUpperCase())}`;
  const parameters = [
    ...paramsOf(s.params as JsonSchema | undefined, 'path'),
    ...paramsOf(s.querystring as JsonSchema | undefined, 'query'),
    ...paramsOf(s.headers as JsonSchema | undefined, 'header'),
  ];
  if (parameters.length > 0) op.parameters = parameters;
  if (s.body) op.requestBody = { required: true, content: { 'application/json': { schema: s.body } } };
  op.responses = responsesOf(s.response as Record<string, JsonSchema> | undefined, scope !== undefined, s.body !== undefined);
  if (scope) {
    op.security = [{ bearer: [] }];
    op['x-scope'] = scope;
  }
  return op;
}

function paramsOf(schema: JsonSchema | undefined, where: 'path' | 'query' | 'header'): JsonSchema[] {
  const props = (schema?.properties ?? {}) as Record<string, JsonSchema>;
  const required = new Set((schema?.required ?? []) as string[]);
  return Object.entries(props).map(([name, p]) => {
    const out: JsonSchema = { name: where === 'header' ? headerName(name) : name, in: where, required: where === 'path' || required.has(name), schema: p };
    if (typeof p.description === 'string') out.description = p.description;
    if (where === 'query' && p.type === 'array') Object.assign(out, { style: 'form', explode: true });
    return out;
  });
}

function headerName(n: string): string {
  return n.replace(/(^|-)([a-z])/g, (_m, d: string, c: string) => d + c.toUpperCase());
}

function responsesOf(response: Record<string, JsonSchema> | undefined, authenticated: boolean, hasBody: boolean): Record<string, unknown> {
  const out: Record<string, unknown> = {};
  for (const [status, schema] of Object.entries(response ?? {})) {
    const description = typeof schema.description === 'string' ? schema.description : status === '204' ? 'No content' : 'OK';
    if (status === '204') out[status] = { description };
    else if (schema.content) out[status] = { description, content: schema.content };
    else out[status] = { description, content: { 'application/json': { schema } } };
  }
  if (Object.keys(out).length === 0) out['200'] = { description: 'OK' };
  const errors = ['400', '404', ...(authenticated ? ['401', '403'] : []), ...(hasBody ? ['413', '415'] : [])];
  for (const status of errors) {
    out[status] ??= { description: ERRORS[status], content: { 'application/json': { schema: { $ref: '#/components/schemas/Error' } } } };
  }
  return out;
}
