/**
 * HTTP watchers (issue 9; seed 003 presenceSubscriptions, seed 000 /subscription and /subscriber):
 *   POST   /v1/subscriptions {uris, durationMinutes, webhookUrl?, webhookFormat?, watcher?}  201 + links
 *   GET    /v1/subscriptions/{id}            the subscription (owner or admin)
 *   PATCH  /v1/subscriptions/{id}            {add?, remove?, durationMinutes?}
 *   DELETE /v1/subscriptions/{id}            204
 *   GET    /v1/subscriptions/{id}/events?ack=N   the event channel (pending-GET)
 *   GET    /v1/subscriptions/{id}/stream         SSE, or ndjson with Accept: application/x-ndjson
 *   GET    /v1/subscribers/{domain}/{user}       every watcher of the user, SIP and HTTP, with state
 */
import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import { PresenceError } from '../../errors';
import { aorOf, canonicalAor, splitAor } from '../../presence/aor';
import type { WebEvent, WebSubscription } from '../../presence/model';
import type { Caller, WebSubscriptionService } from '../../presence/web-subscriptions';
import { requireDomain, type Grant } from '../auth';
import { eventView, type EventChannel } from '../event-channel';
import type { SchemaLimits } from '../schemas';
import { errorSchema, userParams } from '../schemas';

/** 410: the cursor is older than event_window; Herald-Oldest-Seq names the oldest event kept. */
export const goneSchema = { ...errorSchema, description: 'The cursor is older than event_window: the message and the Herald-Oldest-Seq header name the oldest event kept' };
import {
  eventBatchSchema, eventsQuery, streamHeaders, streamQuery, streamResponse, subscribersSchema, subscriptionCreateSchema,
  subscriptionIdParams, subscriptionPatchSchema, webSubscriptionSchema,
} from '../web-schemas';

/** RFC 3323 §4.1.1.3: the anonymous URI, for a watcher that names no identity. */
export const ANONYMOUS = 'sip:anonymous@anonymous.invalid';

export interface SubscriptionRouteDeps {
  service: WebSubscriptionService;
  channel: EventChannel;
  limits: SchemaLimits;
}

interface IdParams { id: string }
interface CreateBody { uris: string[]; durationMinutes: number; webhookUrl?: string; webhookFormat?: 'batch' | 'envelope'; watcher?: string }
interface PatchBody { add?: string[]; remove?: string[]; durationMinutes?: number }

export function callerOf(grant: Grant): Caller {
  return { id: grant.id, admin: grant.scopes.has('admin') && grant.domains === null };
}

export function subscriptionView(s: WebSubscription, members: readonly string[], withSecret = false): Record<string, unknown> {
  const self = `/v1/subscriptions/${s.id}`;
  return {
    id: s.id, state: s.state, watcher: s.watcher, uris: members, expiresAt: s.expiresAt === null ? null : new Date(s.expiresAt).toISOString(),
    webhookUrl: s.webhookUrl, webhookFormat: s.webhookFormat, lastSeq: s.lastSeq, ...(withSecret ? { secret: s.secret } : {}),
    ...(s.appId === null ? {} : { appId: s.appId }),
    _links: { self: { href: self }, events: { href: `${self}/events` }, stream: { href: `${self}/stream` } },
  };
}

/** The event channel's answer: the batch and, until the end has been read, the `next` cursor (seed 003). */
export async function answerEvents(
  d: Pick<SubscriptionRouteDeps, 'service' | 'channel'>, sub: WebSubscription, q: { ack?: number; timeoutSec?: number }, reply: FastifyReply, path: string,
): Promise<Record<string, unknown>> {
  const events = await d.channel.poll(sub, q.ack, (q.timeoutSec ?? Number.MAX_SAFE_INTEGER) * 1000, reply);
  const self = `/v1/subscriptions/${sub.id}`;
  const next = events[events.length - 1]?.seq ?? q.ack ?? sub.lastSeq;
  const ended = sub.state === 'ended' && next >= sub.lastSeq || events.some((e) => e.type === 'ended');
  reply.header('cache-control', 'no-cache');
  return {
    _links: {
      self: { href: `${path}?ack=${q.ack ?? 0}` },
      ...(ended ? {} : { next: { href: `${path}?ack=${next}` } }),
    },
    subscription: { id: sub.id, state: ended ? 'ended' : sub.state, expiresAt: sub.expiresAt === null ? null : new Date(sub.expiresAt).toISOString() },
    events: events.map((e: WebEvent) => eventView(e, self)),
  };
}

/** A stream (SSE or ndjson) from Last-Event-ID / ?ack; a bad cursor is answered as JSON before the stream starts. */
export async function openStream(
  d: Pick<SubscriptionRouteDeps, 'service' | 'channel'>, req: FastifyRequest<{ Querystring: { ack?: number } }>, reply: FastifyReply, sub: WebSubscription,
): Promise<void> {
  const header = req.headers['last-event-id'];
  const ack = typeof header === 'string' && header !== '' ? Number(header) : req.query.ack;
  const first = await d.service.read(sub, ack);
  const cursor = first[first.length - 1]?.seq ?? ack ?? sub.lastSeq;
  const ndjson = /application\/x-ndjson/i.test(req.headers.accept ?? '');
  d.channel.stream(req, reply, sub, first, cursor, ndjson ? 'ndjson' : 'sse', `/v1/subscriptions/${sub.id}`);
}

export function subscriptionRoutes(d: SubscriptionRouteDeps) {
  return async (api: FastifyInstance): Promise<void> => {
    const tags = ['subscriptions'];
    const config = { scope: 'subscriptions' as const };
    const load = (req: FastifyRequest<{ Params: IdParams }>): Promise<WebSubscription> => d.service.get(req.params.id, callerOf(req.grant as Grant));

    api.post<{ Body: CreateBody }>('/v1/subscriptions', {
      config,
      schema: {
        summary: 'Watch several presentities for a duration (seed 003); events go to the event channel, the stream and the webhook',
        tags, body: subscriptionCreateSchema(d.limits), response: { 201: webSubscriptionSchema },
      },
    }, async (req, reply) => {
      const grant = req.grant as Grant;
      if (grant.appId !== null) throw new PresenceError('FORBIDDEN', `an app watches the users who granted it: GET /v1/apps/${grant.appId}/stream`);
      for (const [i, u] of req.body.uris.entries()) {
        const aor = canonicalAor(u);
        if (aor?.includes('@')) requireDomain(grant, splitAor(aor).domain);
        else throw new PresenceError('BAD_REQUEST', `body.uris.${i} is not a sip: URI of a user`);
      }
      const watcher = watcherOf(grant, req.body.watcher);
      const { subscription, members } = await d.service.create({
        caller: callerOf(grant), watcher, uris: req.body.uris, durationMinutes: req.body.durationMinutes,
        ...(req.body.webhookUrl === undefined ? {} : { webhookUrl: req.body.webhookUrl }),
        ...(req.body.webhookFormat === undefined ? {} : { webhookFormat: req.body.webhookFormat }),
      });
      const fresh = (await d.service.get(subscription.id, callerOf(grant)));
      return reply.code(201).header('location', `/v1/subscriptions/${subscription.id}`).send(subscriptionView(fresh, members, true));
    });

    api.get<{ Params: IdParams }>('/v1/subscriptions/:id', {
      config, schema: { summary: 'One subscription (its owner or an admin)', tags, params: subscriptionIdParams, response: { 200: webSubscriptionSchema } },
    }, async (req) => {
      const s = await load(req);
      return subscriptionView(s, await d.service.members(s.id));
    });

    api.patch<{ Params: IdParams; Body: PatchBody }>('/v1/subscriptions/:id', {
      config,
      schema: { summary: 'Add or remove members, or set a new duration from now', tags, params: subscriptionIdParams, body: subscriptionPatchSchema(d.limits), response: { 200: webSubscriptionSchema } },
    }, async (req) => {
      const grant = req.grant as Grant;
      for (const u of [...(req.body.add ?? [])]) {
        const aor = canonicalAor(u);
        if (aor?.includes('@')) requireDomain(grant, splitAor(aor).domain);
      }
      const s = await d.service.patch(req.params.id, callerOf(grant), req.body);
      return subscriptionView(s, await d.service.members(s.id));
    });

    api.delete<{ Params: IdParams }>('/v1/subscriptions/:id', {
      config, schema: { summary: 'End a subscription now (204)', tags, params: subscriptionIdParams, response: { 204: { type: 'null' } } },
    }, async (req, reply) => {
      await d.service.remove(req.params.id, callerOf(req.grant as Grant));
      return reply.code(204).send();
    });

    api.get<{ Params: IdParams; Querystring: { ack?: number; timeoutSec?: number } }>('/v1/subscriptions/:id/events', {
      config,
      schema: {
        summary: 'The event channel (seed 003 pending-GET): events after ack at once, else held up to long_poll_timeout; 410 when ack is older than event_window',
        tags, params: subscriptionIdParams, querystring: eventsQuery, response: { 200: eventBatchSchema, 410: goneSchema },
      },
    }, async (req, reply) => answerEvents(d, await load(req), req.query, reply, `/v1/subscriptions/${req.params.id}/events`));

    api.get<{ Params: IdParams; Querystring: { ack?: number } }>('/v1/subscriptions/:id/stream', {
      config,
      schema: {
        summary: 'Server-Sent Events (Last-Event-ID resumes) or, with Accept: application/x-ndjson, seed 002\'s stream of [uri, status] lines',
        tags, params: subscriptionIdParams, querystring: streamQuery, headers: streamHeaders, response: { 200: streamResponse, 410: goneSchema },
      },
    }, async (req, reply) => openStream(d, req, reply, await load(req)));

    api.get<{ Params: { domain: string; user: string } }>('/v1/subscribers/:domain/:user', {
      config,
      schema: { summary: "Every watcher of the user, SIP and HTTP, with its state (seed 000 /subscriber)", tags, params: userParams, response: { 200: subscribersSchema } },
    }, async (req) => {
      const grant = req.grant as Grant;
      if (grant.appId !== null) throw new PresenceError('FORBIDDEN', 'an app token cannot list watchers');
      const aor = aorOf(req.params.domain, req.params.user);
      if (!aor) throw new PresenceError('BAD_REQUEST', `${req.params.user}@${req.params.domain} is not a valid presentity`);
      const list = await d.service.subscribers(aor);
      return {
        uri: aor,
        watchers: list.map((w) => ({ ...w, expiresAt: w.expiresAt === null ? null : new Date(w.expiresAt).toISOString() })),
      };
    });
  };
}

/** The watcher identity: the token's user; else the one named (its domain within the token's); else anonymous. */
function watcherOf(grant: Grant, named: string | undefined): string {
  const aor = named === undefined ? undefined : canonicalAor(named);
  if (named !== undefined && (!aor || !aor.includes('@'))) throw new PresenceError('BAD_REQUEST', 'body.watcher is not a sip: URI of a user');
  if (grant.user !== null) {
    if (aor !== undefined && aor !== grant.user) throw new PresenceError('FORBIDDEN', `body.watcher: this token watches as ${grant.user}`);
    return grant.user;
  }
  if (aor === undefined) return ANONYMOUS;
  requireDomain(grant, splitAor(aor).domain);
  return aor;
}
