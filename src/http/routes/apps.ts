/**
 * Apps (seed 002 "For App Developers"):
 *   POST   /v1/apps {name, webhookUrl?, webhookFormat?}      admin: register; → appId, token, webhookSecret
 *   GET    /v1/apps/{appId}                                   the app and its grants (admin or the app)
 *   DELETE /v1/apps/{appId}                                   admin
 *   PUT    /v1/apps/{appId}/grants/{domain}/{user}            the user (their token) or an admin grants access
 *   DELETE /v1/apps/{appId}/grants/{domain}/{user}            … and revokes it
 *   GET    /v1/apps/{appId}/stream                            seed 002's "GET <appid>/presence.json": every granted user's changes
 *   GET    /v1/apps/{appId}/events?ack=N                      the same as an event channel
 */
import type { FastifyInstance, FastifyRequest } from 'fastify';
import type { Random } from '../../clock';
import { PresenceError } from '../../errors';
import { aorOf } from '../../presence/aor';
import type { AppService } from '../../presence/apps';
import type { WebApp, WebSubscription } from '../../presence/model';
import type { WebSubscriptionService } from '../../presence/web-subscriptions';
import { newApiToken, requireAdmin, tokenDigest, type Grant } from '../auth';
import type { EventChannel } from '../event-channel';
import { userParams } from '../schemas';
import { appCreateSchema, appIdParams, appSchema, eventBatchSchema, eventsQuery, streamHeaders, streamQuery, streamResponse } from '../web-schemas';
import { answerEvents, goneSchema, openStream } from './subscriptions';

export interface AppRouteDeps {
  apps: AppService;
  service: WebSubscriptionService;
  channel: EventChannel;
  random: Random;
}

interface AppParams { appId: string }
interface GrantParams extends AppParams { domain: string; user: string }

const ADMIN = { id: 'admin', admin: true };

export function appRoutes(d: AppRouteDeps) {
  return async (api: FastifyInstance): Promise<void> => {
    const tags = ['apps'];
    const links = (app: WebApp): Record<string, unknown> => ({
      self: { href: `/v1/apps/${app.id}` }, stream: { href: `/v1/apps/${app.id}/stream` }, events: { href: `/v1/apps/${app.id}/events` },
    });
    /** The app's standing subscription, for the app itself or an admin. */
    const standing = async (req: FastifyRequest<{ Params: AppParams }>): Promise<WebSubscription> => {
      const grant = req.grant as Grant;
      if (grant.appId !== req.params.appId) requireAdmin(grant);
      const app = await d.apps.get(req.params.appId);
      return d.service.get(app.subscriptionId, ADMIN);
    };

    api.post<{ Body: { name: string; webhookUrl?: string; webhookFormat?: 'batch' | 'envelope' } }>('/v1/apps', {
      config: { scope: 'admin' },
      schema: { summary: 'Register an app (seed 002); its token and webhook secret are shown once', tags, body: appCreateSchema, response: { 201: appSchema } },
    }, async (req, reply) => {
      const t = newApiToken(d.random);
      const token = `hra_${t.token.slice(4)}`;
      const { app, subscription } = await d.apps.register({
        name: req.body.name, tokenHash: newTokenHash(token),
        ...(req.body.webhookUrl === undefined ? {} : { webhookUrl: req.body.webhookUrl }),
        ...(req.body.webhookFormat === undefined ? {} : { webhookFormat: req.body.webhookFormat }),
      });
      return reply.code(201).header('location', `/v1/apps/${app.id}`).send({
        appId: app.id, name: app.name, token, webhookSecret: subscription.secret, webhookUrl: subscription.webhookUrl, grants: [], _links: links(app),
      });
    });

    api.get<{ Params: AppParams }>('/v1/apps/:appId', {
      config: { scope: 'subscriptions' }, schema: { summary: 'The app and the users who granted it', tags, params: appIdParams, response: { 200: appSchema } },
    }, async (req) => {
      const sub = await standing(req);
      const app = await d.apps.get(req.params.appId);
      return { appId: app.id, name: app.name, webhookUrl: sub.webhookUrl, grants: await d.apps.grants(app.id), _links: links(app) };
    });

    api.delete<{ Params: AppParams }>('/v1/apps/:appId', {
      config: { scope: 'admin' }, schema: { summary: 'Remove an app, its grants and its events (204)', tags, params: appIdParams, response: { 204: { type: 'null' } } },
    }, async (req, reply) => {
      if (!(await d.apps.remove(req.params.appId))) throw new PresenceError('NOT_FOUND', `no app ${req.params.appId}`);
      return reply.code(204).send();
    });

    const grantSchema = (summary: string, ok: Record<string, unknown>): Record<string, unknown> => ({
      summary, tags, params: { ...userParams, required: ['appId', 'domain', 'user'], properties: { ...(userParams.properties as object), ...(appIdParams.properties as object) } }, response: ok,
    });
    /** Only the user (a token with api_tokens `user` = them) or an admin grants or revokes. */
    const grantee = (req: FastifyRequest<{ Params: GrantParams }>): string => {
      const aor = aorOf(req.params.domain, req.params.user);
      if (!aor) throw new PresenceError('BAD_REQUEST', `${req.params.user}@${req.params.domain} is not a valid presentity`);
      const grant = req.grant as Grant;
      if (grant.user !== aor) requireAdmin(grant);
      return aor;
    };
    api.put<{ Params: GrantParams }>('/v1/apps/:appId/grants/:domain/:user', {
      config: { scope: 'presence:write' },
      schema: grantSchema("The user grants the app access to their presence (201, 200 when it had it)", { 200: { type: 'object', additionalProperties: true }, 201: { type: 'object', additionalProperties: true } }),
    }, async (req, reply) => {
      const aor = grantee(req);
      const { created } = await d.apps.grant(req.params.appId, aor);
      return reply.code(created ? 201 : 200).send({ appId: req.params.appId, uri: aor, granted: true });
    });
    api.delete<{ Params: GrantParams }>('/v1/apps/:appId/grants/:domain/:user', {
      config: { scope: 'presence:write' }, schema: grantSchema('The user revokes the grant (204)', { 204: { type: 'null' } }),
    }, async (req, reply) => {
      await d.apps.revoke(req.params.appId, grantee(req));
      return reply.code(204).send();
    });

    api.get<{ Params: AppParams; Querystring: { ack?: number } }>('/v1/apps/:appId/stream', {
      config: { scope: 'subscriptions' },
      schema: { summary: "seed 002's presence.json: every granted user's changes, as SSE or ndjson [uri, status] lines", tags, params: appIdParams, querystring: streamQuery, headers: streamHeaders, response: { 200: streamResponse, 410: goneSchema } },
    }, async (req, reply) => openStream(d, req, reply, await standing(req)));

    api.get<{ Params: AppParams; Querystring: { ack?: number; timeoutSec?: number } }>('/v1/apps/:appId/events', {
      config: { scope: 'subscriptions' },
      schema: { summary: "The app's event channel (pending-GET, like a subscription's)", tags, params: appIdParams, querystring: eventsQuery, response: { 200: eventBatchSchema, 410: goneSchema } },
    }, async (req, reply) => answerEvents(d, await standing(req), req.query, reply, `/v1/apps/${req.params.appId}/events`));
  };
}

function newTokenHash(token: string): string {
  return tokenDigest(token).toString('hex');
}
