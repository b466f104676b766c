/**
 * Operator endpoints (issue 8), scope `admin` with no domain limit:
 *   GET    /admin/presentities[?domain]                       presentities with live publications (views)
 *   GET    /admin/presentities/{domain}/{user}                one presentity: view, publications, subscriptions, watchers
 *   GET    /admin/publications[?presentity&domain&source]     live publications
 *   GET    /admin/subscriptions[?presentity&watcher&event&state], GET /admin/subscriptions/{id}
 *   DELETE /admin/subscriptions/{id}                          NOTIFY terminated;reason=deactivated, then remove
 *   GET    /admin/watchers[?presentity&watcher&status]        watcher records (watcher-info)
 *   POST   /admin/sweep                                       run the sweeper now
 *   GET    /admin/config                                      the effective parameters, secrets redacted
 *   POST/GET /admin/api-keys, DELETE /admin/api-keys/{id}     API keys (the token is shown once)
 * Listings page with `limit` and an opaque `cursor` (nextCursor of the previous page; null at the end).
 */
import type { FastifyInstance } from 'fastify';
import type { Clock, Random } from '../../clock';
import { PARAMS, type Config } from '../../config';
import { PresenceError } from '../../errors';
import { aorOf, canonicalAor } from '../../presence/aor';
import type { ApiKey, ApiKeyRepository, Scope } from '../../presence/api-keys';
import type { InspectionRepository } from '../../presence/inspection';
import type { Publication, Subscription, SubscriptionState, WatcherRecord, WatcherStatus } from '../../presence/model';
import type { Store } from '../../presence/ports';
import type { SubscriptionService } from '../../presence/subscriptions';
import { newApiToken } from '../auth';
import {
  apiKeyCreateSchema, apiKeySchema, domainSchema, idParams, pageOf, pageQuery, presenceViewSchema, publicationSchema,
  subscriptionSchema, userParams, watcherSchema, type SchemaLimits,
} from '../schemas';
import type { PresenceViews } from '../views';

export interface AdminRouteDeps {
  config: Config;
  store: Store;
  inspection: InspectionRepository;
  apiKeys: ApiKeyRepository;
  subscriptions: SubscriptionService;
  sweep: () => Promise<unknown>;
  sweepCounters: () => Record<string, number>;
  views: PresenceViews;
  clock: Clock;
  random: Random;
  limits: SchemaLimits;
}

interface Paged { cursor?: string; limit: number }

const iso = (ms: number): string => new Date(ms).toISOString();

export function adminRoutes(d: AdminRouteDeps) {
  return async (api: FastifyInstance): Promise<void> => {
    const config = { scope: 'admin' as const };
    const tags = ['admin'];
    const uriFilter = { type: 'string', maxLength: 300, description: 'A sip: URI' };

    api.get<{ Querystring: Paged & { domain?: string } }>('/admin/presentities', {
      config,
      schema: { summary: 'Presentities with a live publication, sorted', tags, querystring: pageQuery(d.limits, { domain: domainSchema }), response: { 200: pageOf(presenceViewSchema) } },
    }, async (req) => {
      const after = req.query.cursor === undefined ? undefined : decodeCursor<string>(req.query.cursor, (c) => typeof c === 'string');
      const uris = await d.store.publications.presentities({
        ...(req.query.domain ? { domain: req.query.domain } : {}), ...(after === undefined ? {} : { after }), limit: req.query.limit + 1, now: d.clock.now(),
      });
      const { items, next } = page(uris, req.query.limit, (u) => u);
      return { items: await d.views.views(items), nextCursor: next };
    });

    api.get<{ Params: { domain: string; user: string } }>('/admin/presentities/:domain/:user', {
      config,
      schema: { summary: 'One presentity: its view, live publications (with bodies), subscriptions and watchers', tags, params: userParams },
    }, async (req) => {
      const presentity = aorOf(req.params.domain, req.params.user);
      if (!presentity) throw new PresenceError('BAD_REQUEST', 'not a valid presentity');
      const now = d.clock.now();
      const [view, publications, subscriptions, watchers] = await Promise.all([
        d.views.view(presentity),
        d.store.publications.live(presentity, 'presence', now),
        d.inspection.subscriptions({ presentity, limit: d.limits.maxPageSize }),
        d.store.watchers.list(presentity, 'presence'),
      ]);
      return {
        view, publications: publications.map((p) => publicationView(p, true)), subscriptions: subscriptions.map(subscriptionView),
        watchers: watchers.map(watcherView),
      };
    });

    api.get<{ Querystring: Paged & { presentity?: string; domain?: string; source?: 'sip' | 'http' } }>('/admin/publications', {
      config,
      schema: {
        summary: 'Live publications, by (presentity, entity-tag)', tags,
        querystring: pageQuery(d.limits, { presentity: uriFilter, domain: domainSchema, source: { type: 'string', enum: ['sip', 'http'] } }),
        response: { 200: pageOf(publicationSchema) },
      },
    }, async (req) => {
      const q = req.query;
      const after = q.cursor === undefined ? undefined : decodeCursor<{ presentity: string; etag: string }>(q.cursor, (c) => isStrings(c, ['presentity', 'etag']));
      const rows = await d.inspection.publications({
        ...(q.presentity ? { presentity: uri(q.presentity, 'presentity') } : {}), ...(q.domain ? { domain: q.domain } : {}),
        ...(q.source ? { source: q.source } : {}), ...(after ? { after } : {}), limit: q.limit + 1, now: d.clock.now(),
      });
      const { items, next } = page(rows, q.limit, (p) => ({ presentity: p.presentity, etag: p.etag }));
      return { items: items.map((p) => publicationView(p, false)), nextCursor: next };
    });

    api.get<{ Querystring: Paged & { presentity?: string; watcher?: string; event?: string; state?: SubscriptionState } }>('/admin/subscriptions', {
      config,
      schema: {
        summary: 'Subscriptions (every state), by id', tags,
        querystring: pageQuery(d.limits, {
          presentity: uriFilter, watcher: uriFilter, event: { type: 'string', maxLength: 100 }, state: { type: 'string', enum: ['pending', 'active', 'terminated'] },
        }),
        response: { 200: pageOf(subscriptionSchema) },
      },
    }, async (req) => {
      const q = req.query;
      const after = q.cursor === undefined ? undefined : decodeCursor<string>(q.cursor, (c) => typeof c === 'string');
      const rows = await d.inspection.subscriptions({
        ...(q.presentity ? { presentity: uri(q.presentity, 'presentity') } : {}), ...(q.watcher ? { watcher: uri(q.watcher, 'watcher') } : {}),
        ...(q.event ? { event: q.event.toLowerCase() } : {}), ...(q.state ? { state: q.state } : {}), ...(after === undefined ? {} : { after }), limit: q.limit + 1,
      });
      const { items, next } = page(rows, q.limit, (s) => s.id);
      return { items: items.map(subscriptionView), nextCursor: next };
    });

    api.get<{ Params: { id: string } }>('/admin/subscriptions/:id', {
      config, schema: { summary: 'One subscription', tags, params: idParams, response: { 200: subscriptionSchema } },
    }, async (req) => subscriptionView(await subscription(d, req.params.id)));

    api.delete<{ Params: { id: string } }>('/admin/subscriptions/:id', {
      config, schema: { summary: 'Terminate a subscription: NOTIFY terminated;reason=deactivated, then remove it', tags, params: idParams, response: { 204: { type: 'null' } } },
    }, async (req, reply) => {
      await d.subscriptions.end(await subscription(d, req.params.id), 'deactivated');
      return reply.code(204).send();
    });

    api.get<{ Querystring: Paged & { presentity?: string; watcher?: string; status?: WatcherStatus } }>('/admin/watchers', {
      config,
      schema: {
        summary: 'Watcher records (watcher-info), by (presentity, event, subscription id)', tags,
        querystring: pageQuery(d.limits, { presentity: uriFilter, watcher: uriFilter, status: { type: 'string', enum: ['pending', 'active', 'waiting', 'terminated'] } }),
        response: { 200: pageOf(watcherSchema) },
      },
    }, async (req) => {
      const q = req.query;
      type Key = { presentity: string; event: string; subscriptionId: string };
      const after = q.cursor === undefined ? undefined : decodeCursor<Key>(q.cursor, (c) => isStrings(c, ['presentity', 'event', 'subscriptionId']));
      const rows = await d.inspection.watchers({
        ...(q.presentity ? { presentity: uri(q.presentity, 'presentity') } : {}), ...(q.watcher ? { watcher: uri(q.watcher, 'watcher') } : {}),
        ...(q.status ? { status: q.status } : {}), ...(after ? { after } : {}), limit: q.limit + 1,
      });
      const { items, next } = page(rows, q.limit, (w) => ({ presentity: w.presentity, event: w.event, subscriptionId: w.subscriptionId }));
      return { items: items.map(watcherView), nextCursor: next };
    });

    api.post('/admin/sweep', {
      config, schema: { summary: 'Run the sweeper now (waits for a running sweep instead of overlapping it)', tags },
    }, async () => {
      const done = await d.sweep();
      if (done === undefined || done === null || typeof done !== 'object') throw new PresenceError('UNAVAILABLE', 'the sweep failed; see the log');
      return { swept: done, counters: d.sweepCounters() };
    });

    api.get('/admin/config', {
      config, schema: { summary: 'The effective configuration; secret parameters show as [redacted]', tags },
    }, async () => {
      const parameters: Record<string, unknown> = {};
      for (const p of PARAMS) parameters[p.name] = p.secret ? '[redacted]' : d.config[p.key];
      return { parameters };
    });

    api.post<{ Body: { name: string; scopes: Scope[]; domains?: string[] } }>('/admin/api-keys', {
      config,
      schema: { summary: 'Make an API key; the answer carries its token, shown this once', tags, body: apiKeyCreateSchema, response: { 201: apiKeySchema } },
    }, async (req, reply) => {
      const { token, hash, prefix } = newApiToken(d.random);
      const key: ApiKey = {
        id: `key_${d.random.token(9)}`, name: req.body.name, tokenHash: hash, tokenPrefix: prefix, scopes: [...req.body.scopes],
        domains: req.body.domains ? req.body.domains.map((x) => x.toLowerCase()) : null, createdAt: d.clock.now(),
      };
      await d.apiKeys.insert(key);
      return reply.code(201).header('Location', `/admin/api-keys/${key.id}`).send({ ...apiKeyView(key), token });
    });

    api.get<{ Querystring: Paged }>('/admin/api-keys', {
      config, schema: { summary: 'API keys (without their tokens)', tags, querystring: pageQuery(d.limits, {}), response: { 200: pageOf(apiKeySchema) } },
    }, async (req) => {
      const after = req.query.cursor === undefined ? undefined : decodeCursor<string>(req.query.cursor, (c) => typeof c === 'string');
      const rows = await d.apiKeys.list({ ...(after === undefined ? {} : { after }), limit: req.query.limit + 1 });
      const { items, next } = page(rows, req.query.limit, (k) => k.id);
      return { items: items.map(apiKeyView), nextCursor: next };
    });

    api.delete<{ Params: { id: string } }>('/admin/api-keys/:id', {
      config, schema: { summary: 'Delete an API key (its token stops working at once)', tags, params: idParams, response: { 204: { type: 'null' } } },
    }, async (req, reply) => {
      if (!(await d.apiKeys.remove(req.params.id))) throw new PresenceError('NOT_FOUND', `no API key ${req.params.id}`);
      return reply.code(204).send();
    });
  };
}

async function subscription(d: AdminRouteDeps, id: string): Promise<Subscription> {
  const s = await d.store.subscriptions.byId(id);
  if (!s) throw new PresenceError('NOT_FOUND', `no subscription ${id}`);
  return s;
}

/** `limit + 1` rows were read: the extra one says whether there is a next page. */
function page<T, K>(rows: T[], limit: number, key: (t: T) => K): { items: T[]; next: string | null } {
  if (rows.length <= limit) return { items: rows, next: null };
  const items = rows.slice(0, limit);
  return { items, next: encodeCursor(key(items[items.length - 1] as T)) };
}

function encodeCursor(k: unknown): string {
  return Buffer.from(JSON.stringify(k), 'utf8').toString('base64url');
}

function decodeCursor<K>(cursor: string, valid: (c: unknown) => boolean): K {
  let c: unknown;
  try {
    c = JSON.parse(Buffer.from(cursor, 'base64url').toString('utf8'));
  } catch {
    c = undefined;
  }
  if (c === undefined || !valid(c)) throw new PresenceError('BAD_REQUEST', 'querystring.cursor is not a cursor this listing handed out');
  return c as K;
}

function isStrings(c: unknown, keys: string[]): boolean {
  return typeof c === 'object' && c !== null && keys.every((k) => typeof (c as Record<string, unknown>)[k] === 'string');
}

function uri(s: string, field: string): string {
  const aor = canonicalAor(s);
  if (!aor) throw new PresenceError('BAD_REQUEST', `querystring.${field} is not a sip: URI`);
  return aor;
}

function publicationView(p: Publication, withBody: boolean): Record<string, unknown> {
  return {
    presentity: p.presentity, event: p.event, etag: p.etag, source: p.source, client: p.client, contentType: p.contentType,
    ...(withBody ? { body: p.body } : {}), receivedAt: iso(p.receivedAt), expiresAt: iso(p.expiresAt),
  };
}

function subscriptionView(s: Subscription): Record<string, unknown> {
  return {
    id: s.id, presentity: s.presentity, event: s.event, eventId: s.eventId, watcher: s.watcher, watcherDisplayName: s.watcherDisplayName,
    state: s.state, reason: s.reason, callId: s.callId, remoteTarget: s.remoteTarget, transport: s.via.transport, node: s.node,
    localCseq: s.localCseq, remoteCseq: s.remoteCseq, createdAt: iso(s.createdAt), updatedAt: iso(s.updatedAt), expiresAt: iso(s.expiresAt),
  };
}

function watcherView(w: WatcherRecord): Record<string, unknown> {
  return {
    presentity: w.presentity, watcher: w.watcher, watcherDisplayName: w.watcherDisplayName, event: w.event, subscriptionId: w.subscriptionId,
    status: w.status, lastEvent: w.lastEvent, createdAt: iso(w.createdAt), updatedAt: iso(w.updatedAt),
  };
}

function apiKeyView(k: ApiKey): Record<string, unknown> {
  return { id: k.id, name: k.name, tokenPrefix: k.tokenPrefix, scopes: k.scopes, domains: k.domains, createdAt: iso(k.createdAt) };
}
