/**
 * JSON Schemas of the HTTP API: fastify validates requests with them and serializes responses with
 * them, and the OpenAPI document (openapi.ts) is generated from the same objects.
 */
import { SCOPES } from '../presence/api-keys';
import { CLIENT_ID, HTTP_STATUSES } from '../presence/http-publications';

export type JsonSchema = Record<string, unknown>;

/** Limits that shape the schemas (from the configuration). */
export interface SchemaLimits {
  maxQueryUris: number;
  maxPageSize: number;
}

const nullable = (type: string, extra: JsonSchema = {}): JsonSchema => ({ type: [type, 'null'], ...extra });

export const errorSchema: JsonSchema = {
  type: 'object',
  description: 'Every error: a code of the shared error table and a message naming the problem.',
  required: ['code', 'message'],
  properties: { code: { type: 'string' }, message: { type: 'string' } },
};

/** A host name or IPv4 address, as in a SIP URI. */
export const domainSchema: JsonSchema = { type: 'string', minLength: 1, maxLength: 253, pattern: '^[A-Za-z0-9]([A-Za-z0-9.-]*[A-Za-z0-9])?$' };
/** A SIP user part: unreserved, escaped and user-unreserved characters (RFC 3261 §25.1) without ; ? / */
export const userSchema: JsonSchema = { type: 'string', minLength: 1, maxLength: 128, pattern: "^[A-Za-z0-9\\-_.!~*'()&=+$,%]+$" };
export const clientSchema: JsonSchema = { type: 'string', pattern: CLIENT_ID.source };
const uriSchema: JsonSchema = { type: 'string', description: 'Canonical address-of-record, e.g. sip:alice@example.com' };
const isoTime: JsonSchema = { type: 'string', format: 'date-time' };
const statusSchema: JsonSchema = { type: 'string', enum: ['online', 'busy', 'away', 'offline'] };

export const deviceSchema: JsonSchema = {
  type: 'object',
  required: ['client', 'status', 'source', 'lastActive', 'ttlSeconds', 'expiresAt'],
  properties: {
    client: { type: 'string' },
    status: statusSchema,
    source: { type: 'string', enum: ['sip', 'http'] },
    lastActive: isoTime,
    ttlSeconds: { type: 'integer' },
    expiresAt: isoTime,
  },
};

export const presenceViewSchema: JsonSchema = {
  type: 'object',
  required: ['uri', 'status', 'note', 'lastModified', 'devices'],
  properties: {
    uri: uriSchema,
    status: statusSchema,
    note: nullable('string'),
    lastModified: nullable('string', { format: 'date-time' }),
    devices: { type: 'array', items: deviceSchema },
  },
};

export const statusWriteSchema: JsonSchema = {
  type: 'object',
  required: ['status'],
  additionalProperties: false,
  properties: {
    status: { type: 'string', enum: [...HTTP_STATUSES], description: 'hide: the client stays present but shows closed (offline) to everyone' },
    note: { type: 'string', maxLength: 1024 },
    ttlSeconds: { type: 'integer', minimum: 1, maximum: 2 ** 31 - 1, description: 'Lifetime; default default_ttl, bounded by max_expires, at least min_expires' },
  },
};

export const recordSchema: JsonSchema = {
  type: 'object',
  required: ['uri', 'client', 'status', 'note', 'ttlSeconds', 'lastModified', 'expiresAt', 'source'],
  properties: {
    uri: uriSchema,
    client: { type: 'string' },
    status: { type: 'string', enum: [...HTTP_STATUSES] },
    note: nullable('string'),
    ttlSeconds: { type: 'integer' },
    lastModified: isoTime,
    expiresAt: isoTime,
    source: { type: 'string', enum: ['http'] },
  },
};

export const domainParams: JsonSchema = { type: 'object', required: ['domain'], properties: { domain: domainSchema } };
export const userParams: JsonSchema = { type: 'object', required: ['domain', 'user'], properties: { domain: domainSchema, user: userSchema } };
export const clientParams: JsonSchema = {
  type: 'object', required: ['domain', 'user', 'client'], properties: { domain: domainSchema, user: userSchema, client: clientSchema },
};

export function listQuery(l: SchemaLimits): JsonSchema {
  return {
    type: 'object',
    additionalProperties: false,
    properties: { user: { type: 'array', items: userSchema, maxItems: l.maxQueryUris, description: 'Repeat to name several users' } },
  };
}

export function queryBody(l: SchemaLimits): JsonSchema {
  return {
    type: 'object',
    required: ['uris'],
    additionalProperties: false,
    properties: { uris: { type: 'array', items: { type: 'string', minLength: 1, maxLength: 300 }, minItems: 1, maxItems: l.maxQueryUris } },
  };
}

export const queryResult: JsonSchema = { type: 'object', description: 'The uris as given → their views', additionalProperties: presenceViewSchema };

export const rangeHeaders: JsonSchema = {
  type: 'object',
  properties: { range: { type: 'string', description: 'records=i-j (0-based, inclusive): answered 206 with Content-Range records i-j/total, 416 past the end' } },
};

// ---- admin ----

export function pageQuery(l: SchemaLimits, filters: Record<string, JsonSchema>): JsonSchema {
  return {
    type: 'object',
    additionalProperties: false,
    properties: {
      ...filters,
      cursor: { type: 'string', maxLength: 2048, description: 'nextCursor of the previous page' },
      limit: { type: 'integer', minimum: 1, maximum: l.maxPageSize, default: Math.min(100, l.maxPageSize) },
    },
  };
}

export function pageOf(item: JsonSchema): JsonSchema {
  return {
    type: 'object',
    required: ['items', 'nextCursor'],
    properties: { items: { type: 'array', items: item }, nextCursor: nullable('string') },
  };
}

export const publicationSchema: JsonSchema = {
  type: 'object',
  required: ['presentity', 'event', 'etag', 'source', 'client', 'contentType', 'receivedAt', 'expiresAt'],
  properties: {
    presentity: uriSchema, event: { type: 'string' }, etag: { type: 'string' }, source: { type: 'string', enum: ['sip', 'http'] },
    client: nullable('string'), contentType: { type: 'string' }, body: { type: 'string' }, receivedAt: isoTime, expiresAt: isoTime,
  },
};

export const subscriptionSchema: JsonSchema = {
  type: 'object',
  required: ['id', 'presentity', 'event', 'watcher', 'state', 'expiresAt'],
  properties: {
    id: { type: 'string' }, presentity: uriSchema, event: { type: 'string' }, eventId: nullable('string'), watcher: { type: 'string' },
    watcherDisplayName: nullable('string'), state: { type: 'string', enum: ['pending', 'active', 'terminated'] }, reason: nullable('string'),
    callId: { type: 'string' }, remoteTarget: { type: 'string' }, transport: { type: 'string' }, node: { type: 'string' },
    localCseq: { type: 'integer' }, remoteCseq: { type: 'integer' },
    createdAt: isoTime, updatedAt: isoTime, expiresAt: isoTime,
  },
};

export const watcherSchema: JsonSchema = {
  type: 'object',
  required: ['presentity', 'watcher', 'event', 'subscriptionId', 'status', 'lastEvent'],
  properties: {
    presentity: uriSchema, watcher: { type: 'string' }, watcherDisplayName: nullable('string'), event: { type: 'string' },
    subscriptionId: { type: 'string' }, status: { type: 'string' }, lastEvent: { type: 'string' }, createdAt: isoTime, updatedAt: isoTime,
  },
};

export const scopeSchema: JsonSchema = { type: 'string', enum: [...SCOPES] };

export const apiKeyCreateSchema: JsonSchema = {
  type: 'object',
  required: ['name', 'scopes'],
  additionalProperties: false,
  properties: {
    name: { type: 'string', minLength: 1, maxLength: 200 },
    scopes: { type: 'array', items: scopeSchema, minItems: 1, uniqueItems: true },
    domains: { type: 'array', items: domainSchema, minItems: 1, maxItems: 1000 },
  },
};

export const apiKeySchema: JsonSchema = {
  type: 'object',
  required: ['id', 'name', 'tokenPrefix', 'scopes', 'domains', 'createdAt'],
  properties: {
    id: { type: 'string' }, name: { type: 'string' }, tokenPrefix: { type: 'string' },
    scopes: { type: 'array', items: { type: 'string' } }, domains: { type: ['array', 'null'], items: { type: 'string' } }, createdAt: isoTime,
    token: { type: 'string', description: 'Only in the answer to the creation: the bearer token (Herald keeps only its hash)' },
  },
};

export const idParams: JsonSchema = { type: 'object', required: ['id'], properties: { id: { type: 'string', minLength: 1, maxLength: 200 } } };
