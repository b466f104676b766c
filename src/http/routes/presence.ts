/**
 * /v1/presence: the presence API of issue 8 (seeds 000 and 004) over the state SIP uses.
 *   GET    /v1/presence/{domain}/{user}                    JSON view, or the composed PIDF (Accept)
 *   PUT    /v1/presence/{domain}/{user}[/clients/{client}] create or replace that client's publication
 *   POST   (same paths)                                    the same, seed 004's verb
 *   DELETE (same paths)                                    remove it (204); watchers are NOTIFYed
 *   GET    /v1/presence/{domain}?user=a&user=b             those users
 *   GET    /v1/presence/{domain}                           everyone with a live publication, Range: records=i-j
 *   POST   /v1/presence/query {uris}                       uri → view
 */
import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import type { Clock } from '../../clock';
import { PresenceError } from '../../errors';
import { aorOf, canonicalAor, splitAor } from '../../presence/aor';
import { DEFAULT_CLIENT, type HttpPublicationService, type HttpRecord, type HttpStatus } from '../../presence/http-publications';
import type { InspectionRepository } from '../../presence/inspection';
import { requireDomain, requireGranted, type Grant, type GrantCheck } from '../auth';
import { parseRecordsRange, sliceFor } from '../range';
import {
  clientParams, domainParams, errorSchema, listQuery, presenceViewSchema, queryBody, queryResult, rangeHeaders, recordSchema,
  statusWriteSchema, userParams, type SchemaLimits,
} from '../schemas';
import type { PresenceViews } from '../views';

export interface PresenceRouteDeps {
  views: PresenceViews;
  publications: HttpPublicationService;
  inspection: InspectionRepository;
  clock: Clock;
  limits: SchemaLimits;
  /** An app's token reads only the users who granted it (seed 002). */
  isGranted: GrantCheck;
}

export const PIDF_TYPE = 'application/pidf+xml';

interface UserParams { domain: string; user: string }
interface ClientParams extends UserParams { client: string }
interface StatusBody { status: HttpStatus; note?: string; ttlSeconds?: number }

export function presenceRoutes(d: PresenceRouteDeps) {
  return async (api: FastifyInstance): Promise<void> => {
    const tags = ['presence'];
    const read = { scope: 'presence:read' as const };
    const write = { scope: 'presence:write' as const };

    api.get<{ Params: UserParams }>('/v1/presence/:domain/:user', {
      config: read,
      schema: {
        summary: 'The presence of one presentity: JSON view, or the composed PIDF with Accept: application/pidf+xml',
        tags, params: userParams,
        response: { 200: { content: { 'application/json': { schema: presenceViewSchema }, [PIDF_TYPE]: { schema: { type: 'string' } } } } },
      },
    }, async (req, reply) => {
      const presentity = presentityOf(req.params.domain, req.params.user);
      await requireGranted(req.grant as Grant, [presentity], d.isGranted);
      if (prefersPidf(req.headers.accept)) return reply.type(PIDF_TYPE).send(await d.views.pidf(presentity));
      return reply.type('application/json; charset=utf-8').send(await d.views.view(presentity));
    });

    const writeSchema = (params: Record<string, unknown>, summary: string): Record<string, unknown> => ({
      summary, tags, params, body: statusWriteSchema,
      response: { 200: { ...recordSchema, description: 'Replaced' }, 201: { ...recordSchema, description: 'Created' } },
    });
    const put = async (req: FastifyRequest<{ Params: UserParams & Partial<ClientParams>; Body: StatusBody }>, reply: FastifyReply): Promise<FastifyReply> => {
      const presentity = presentityOf(req.params.domain, req.params.user);
      const { status, note, ttlSeconds } = req.body;
      const record = await d.publications.put({
        presentity, client: req.params.client ?? DEFAULT_CLIENT, status,
        ...(note === undefined ? {} : { note }), ...(ttlSeconds === undefined ? {} : { ttlSeconds }),
      });
      return reply.code(record.created ? 201 : 200).send(recordView(record));
    };
    const del = async (req: FastifyRequest<{ Params: UserParams & Partial<ClientParams> }>, reply: FastifyReply): Promise<FastifyReply> => {
      await d.publications.remove(presentityOf(req.params.domain, req.params.user), req.params.client ?? DEFAULT_CLIENT);
      return reply.code(204).send();
    };
    for (const method of ['PUT', 'POST'] as const) {
      api.route({ method, url: '/v1/presence/:domain/:user', config: write, schema: writeSchema(userParams, `Set the status of the client "${DEFAULT_CLIENT}" (creates or replaces its publication)`), handler: put });
      api.route({ method, url: '/v1/presence/:domain/:user/clients/:client', config: write, schema: writeSchema(clientParams, "Set one client's status (creates or replaces its publication)"), handler: put });
    }
    api.delete('/v1/presence/:domain/:user', {
      config: write, schema: { summary: `Remove the publication of the client "${DEFAULT_CLIENT}" (204 also when there was none)`, tags, params: userParams, response: { 204: { type: 'null' } } },
    }, del);
    api.delete('/v1/presence/:domain/:user/clients/:client', {
      config: write, schema: { summary: "Remove one client's publication (204 also when there was none)", tags, params: clientParams, response: { 204: { type: 'null' } } },
    }, del);

    api.get<{ Params: { domain: string }; Querystring: { user?: string[] } }>('/v1/presence/:domain', {
      config: read,
      schema: {
        summary: 'Several users (?user=a&user=b), or everyone with a live publication in the domain, sorted, pageable with Range: records=i-j',
        tags, params: domainParams, querystring: listQuery(d.limits), headers: rangeHeaders,
        response: {
          200: { type: 'array', items: presenceViewSchema },
          206: { type: 'array', items: presenceViewSchema, description: 'Part of the list; Content-Range: records i-j/total' },
          416: { ...errorSchema, description: 'The range starts past the end; Content-Range: records */total' },
        },
      },
    }, async (req, reply) => {
      const { domain } = req.params;
      reply.header('Accept-Ranges', 'records');
      if (req.query.user !== undefined && req.query.user.length > 0) {
        const uris = [...new Set(req.query.user.map((u) => presentityOf(domain, u)))];
        await requireGranted(req.grant as Grant, uris, d.isGranted);
        return reply.send(await d.views.views(uris));
      }
      if ((req.grant as Grant).appId !== null) throw new PresenceError('FORBIDDEN', 'an app token reads only the users who granted it: name them with ?user=');
      const filter = { domain: domain.toLowerCase(), event: 'presence', now: d.clock.now() };
      const total = await d.inspection.countPresentities(filter);
      const slice = sliceFor(parseRecordsRange(req.headers.range), total, d.limits.maxPageSize);
      const uris = slice.count === 0 ? [] : await d.inspection.presentityRange({ ...filter, offset: slice.offset, limit: slice.count });
      if (slice.contentRange) reply.header('Content-Range', slice.contentRange);
      return reply.code(slice.status).send(await d.views.views(uris));
    });

    api.post<{ Body: { uris: string[] } }>('/v1/presence/query', {
      config: read,
      schema: {
        summary: 'The presence of several presentities by URI (seed 000 /presence/q): a map uri → view',
        tags, body: queryBody(d.limits), response: { 200: queryResult },
      },
    }, async (req) => {
      const grant = req.grant as Grant;
      const named = req.body.uris.map((u, i) => {
        const aor = canonicalAor(u);
        if (!aor || !aor.includes('@')) throw new PresenceError('BAD_REQUEST', `body.uris.${i} is not a sip: URI of a user`);
        requireDomain(grant, splitAor(aor).domain);
        return { u, aor };
      });
      await requireGranted(grant, named.map((n) => n.aor), d.isGranted);
      const views = await d.views.views([...new Set(named.map((n) => n.aor))]);
      const byAor = new Map(views.map((v) => [v.uri, v]));
      return Object.fromEntries(named.map((n) => [n.u, byAor.get(n.aor)]));
    });
  };
}

function presentityOf(domain: string, user: string): string {
  const aor = aorOf(domain, user);
  if (!aor) throw new PresenceError('BAD_REQUEST', `${user}@${domain} is not a valid presentity`);
  return aor;
}

function recordView(r: HttpRecord): Record<string, unknown> {
  return {
    uri: r.presentity, client: r.client, status: r.status, note: r.note, ttlSeconds: r.ttlSeconds,
    lastModified: new Date(r.receivedAt).toISOString(), expiresAt: new Date(r.expiresAt).toISOString(), source: 'http',
  };
}

/**
 * RFC 9110 §12.5.1 content negotiation between the JSON view and PIDF: each type takes the q of the
 * most specific range that matches it; the higher q wins, a tie goes to the one named explicitly,
 * else JSON. Neither acceptable → 406.
 */
export function prefersPidf(accept: string | undefined): boolean {
  if (accept === undefined || accept.trim() === '') return false;
  const ranges = accept.split(',').map((part) => {
    const [type = '', ...params] = part.split(';').map((x) => x.trim().toLowerCase());
    const q = params.find((p) => p.startsWith('q='));
    const qv = q === undefined ? 1 : Number(q.slice(2));
    return { type, q: Number.isFinite(qv) ? qv : 0 };
  });
  const match = (t: string): { q: number; exact: boolean } => {
    const [major] = t.split('/');
    const exact = ranges.find((r) => r.type === t);
    if (exact) return { q: exact.q, exact: true };
    const partial = ranges.find((r) => r.type === `${major}/*`) ?? ranges.find((r) => r.type === '*/*');
    return { q: partial?.q ?? 0, exact: false };
  };
  const json = match('application/json');
  const pidf = match(PIDF_TYPE);
  if (json.q <= 0 && pidf.q <= 0) throw new PresenceError('NOT_ACCEPTABLE', `can answer application/json or ${PIDF_TYPE}`);
  if (pidf.q !== json.q) return pidf.q > json.q;
  return pidf.exact && !json.exact;
}
