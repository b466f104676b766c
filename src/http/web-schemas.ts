/**
 * JSON Schemas of the HTTP-watcher routes (issue 9): subscriptions, their events and streams,
 * subscribers and apps. Validated by fastify, published in the OpenAPI document. Answers carry
 * `_links` (seed 003), so their schemas allow further properties.
 */
import type { JsonSchema, SchemaLimits } from './schemas';

const sipUri: JsonSchema = { type: 'string', minLength: 5, maxLength: 300, description: 'sip: URI of a user, e.g. sip:alice@example.com' };
const uriList = (l: SchemaLimits): JsonSchema => ({ type: 'array', minItems: 1, maxItems: l.maxQueryUris, items: sipUri });
const minutes: JsonSchema = { type: 'integer', minimum: 1, description: 'Minutes; more than max_subscription_duration is lowered to it (seed 003 "duration")' };
const webhookUrl: JsonSchema = { type: 'string', minLength: 1, maxLength: 2000, description: 'Where events are POSTed; its origin must be on webhook_allow_list' };
const webhookFormat: JsonSchema = { type: 'string', enum: ['batch', 'envelope'], description: 'batch: [[uri, status], …] (seed 002); envelope: {subscriptionId, events}' };
const link: JsonSchema = { type: 'object', properties: { href: { type: 'string' } } };
const open = (properties: Record<string, JsonSchema>, description?: string): JsonSchema => ({
  type: 'object', additionalProperties: true, properties, ...(description ? { description } : {}),
});

export function subscriptionCreateSchema(l: SchemaLimits): JsonSchema {
  return {
    type: 'object', required: ['uris', 'durationMinutes'], additionalProperties: false,
    properties: {
      uris: uriList(l), durationMinutes: minutes, webhookUrl, webhookFormat,
      watcher: { ...sipUri, description: 'The watcher identity pres_rules apply to (default: the token\'s user, else sip:anonymous@anonymous.invalid)' },
    },
  };
}

export function subscriptionPatchSchema(l: SchemaLimits): JsonSchema {
  return {
    type: 'object', minProperties: 1, additionalProperties: false,
    properties: {
      add: { ...uriList(l), minItems: 0 }, remove: { ...uriList(l), minItems: 0 },
      durationMinutes: { ...minutes, description: 'A new duration from now (extends or shortens it), bounded by max_subscription_duration' },
    },
  };
}

export const webSubscriptionSchema: JsonSchema = open({
  id: { type: 'string' },
  state: { type: 'string', enum: ['active', 'ended'] },
  watcher: { type: 'string' },
  uris: { type: 'array', items: { type: 'string' } },
  expiresAt: { type: ['string', 'null'], format: 'date-time' },
  webhookUrl: { type: ['string', 'null'] },
  webhookFormat: webhookFormat,
  secret: { type: 'string', description: 'Key of the webhook signatures; shown only when the subscription is made' },
  lastSeq: { type: 'integer' },
  _links: open({ self: link, events: link, stream: link }),
});

export const subscriptionIdParams: JsonSchema = { type: 'object', required: ['id'], properties: { id: { type: 'string', minLength: 1, maxLength: 64 } } };

export const eventsQuery: JsonSchema = {
  type: 'object', additionalProperties: false,
  properties: {
    ack: { type: 'integer', minimum: 0, description: 'The seq of the last event received (the `next` link carries it); absent: from the oldest kept' },
    timeoutSec: { type: 'integer', minimum: 0, description: 'Hold at most this long (bounded by long_poll_timeout); 0 answers at once' },
  },
};

export const streamQuery: JsonSchema = {
  type: 'object', additionalProperties: false,
  properties: { ack: { type: 'integer', minimum: 0, description: 'Resume after this seq (like Last-Event-ID)' } },
};

export const streamHeaders: JsonSchema = {
  type: 'object',
  properties: { 'last-event-id': { type: 'string', pattern: '^[0-9]{1,15}$', description: 'SSE: resume after this event' } },
};

export const eventSchema: JsonSchema = open({
  seq: { type: 'integer' },
  type: { type: 'string', enum: ['presence', 'expiring', 'ended'] },
  at: { type: 'string', format: 'date-time' },
  uri: { type: 'string' },
  status: { type: 'string', enum: ['online', 'busy', 'away', 'offline'] },
});

export const eventBatchSchema: JsonSchema = open({
  _links: open({ self: link, next: link }, 'next is absent once the subscription has ended and every event was read'),
  subscription: open({ id: { type: 'string' }, state: { type: 'string' }, expiresAt: { type: ['string', 'null'] } }),
  events: { type: 'array', items: eventSchema },
});

export const streamResponse: JsonSchema = {
  description: 'text/event-stream (SSE: id = seq, event = type, data = the event) or, with Accept: application/x-ndjson, one ["uri","status"] line per presence change',
  content: { 'text/event-stream': { schema: { type: 'string' } }, 'application/x-ndjson': { schema: { type: 'string' } } },
};

export const subscribersSchema: JsonSchema = open({
  uri: { type: 'string' },
  watchers: {
    type: 'array',
    items: open({
      kind: { type: 'string', enum: ['sip', 'http'] }, id: { type: 'string' }, watcher: { type: 'string' },
      state: { type: 'string', enum: ['active', 'pending', 'terminated', 'rejected'] }, expiresAt: { type: ['string', 'null'] },
      appId: { type: ['string', 'null'] },
    }),
  },
});

export const appCreateSchema: JsonSchema = {
  type: 'object', required: ['name'], additionalProperties: false,
  properties: { name: { type: 'string', minLength: 1, maxLength: 200 }, webhookUrl, webhookFormat },
};

export const appSchema: JsonSchema = open({
  appId: { type: 'string' }, name: { type: 'string' },
  token: { type: 'string', description: "The app's bearer token (shown once)" },
  webhookSecret: { type: 'string', description: 'Key of the webhook signatures (shown once)' },
  grants: { type: 'array', items: { type: 'string' } },
  _links: open({ stream: link, events: link }),
});

export const appIdParams: JsonSchema = { type: 'object', required: ['appId'], properties: { appId: { type: 'string', minLength: 1, maxLength: 64 } } };
