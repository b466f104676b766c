/**
 * RFC 3903 (PUBLISH) conformance, raw SIP over real loopback sockets against a running Herald.
 * The backend is PostgreSQL when HERALD_TEST_DB_URL is set, else in-memory PGlite; CI runs both.
 * Each test names its own presentity, so tests sharing one Herald never see each other's state.
 */
import { randomBytes } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { startHerald, type RunningHerald } from '../support/herald';
import { SipTestClient, pidf, type HeaderList } from '../support/sip-client';
import type { SipRequest, SipResponse } from '../../src/sip/message';
import type { Store } from '../../src/presence/ports';
import { backendOf, createKnex } from '../../src/store/db';
import { createStore } from '../../src/store/store';

const WAIT = 15_000;
const PIDF = 'application/pidf+xml';
const fixture = (name: string): string => readFileSync(join(__dirname, '..', 'fixtures', 'pidf', name), 'utf8');

let seq = 0;
/** A presentity of its own for each test (user parts compare case-sensitively, hosts do not). */
function newAor(label: string): string {
  return `sip:${label}-${++seq}-${randomBytes(3).toString('hex')}@127.0.0.1`;
}

interface PublishOpts {
  body?: string;
  /** Content-Type header; default application/pidf+xml when there is a body, none otherwise; null: none. */
  contentType?: string | null;
  /** Expires header value; undefined → 60; null → no Expires header. */
  expires?: number | null;
  ifMatch?: string;
  /** Event header value; null → no Event header. */
  event?: string | null;
  callId?: string;
  requestUri?: string;
  /** More header lines, as written. */
  extra?: HeaderList;
}

function publish(c: SipTestClient, aor: string, o: PublishOpts = {}): Promise<SipResponse> {
  const h: HeaderList = [['From', `<${aor}>;tag=${randomBytes(4).toString('hex')}`], ['To', `<${aor}>`]];
  if (o.callId) h.push(['Call-ID', o.callId]);
  if (o.event !== null) h.push(['Event', o.event ?? 'presence']);
  if (o.expires !== null) h.push(['Expires', String(o.expires ?? 60)]);
  if (o.ifMatch !== undefined) h.push(['SIP-If-Match', o.ifMatch]);
  const ct = o.contentType === undefined ? (o.body ? PIDF : null) : o.contentType;
  if (ct !== null) h.push(['Content-Type', ct]);
  if (o.extra) h.push(...o.extra);
  return c.request('PUBLISH', o.requestUri ?? aor, h, o.body ?? '', WAIT);
}

function etagOf(r: SipResponse): string {
  const e = r.headers.get('sip-etag');
  if (!e) throw new Error(`no SIP-ETag in ${r.status} ${r.reason}`);
  return e;
}

async function initial(c: SipTestClient, aor: string, o: PublishOpts = {}): Promise<string> {
  const r = await publish(c, aor, { body: pidf(aor, 'open'), ...o });
  expect(r.status).toBe(200);
  return etagOf(r);
}

/** The live publications of a presentity, read through the store Herald uses. */
async function live(h: RunningHerald, aor: string, store: Store = h.app.store): Promise<Array<{ etag: string; body: string; expiresAt: number; receivedAt: number }>> {
  return store.publications.live(aor, 'presence', Date.now());
}

/** SUBSCRIBE a watcher to `aor`; resolves with the subscription's Call-ID once the first NOTIFY came. */
async function watch(bob: SipTestClient, aor: string): Promise<string> {
  const callId = `w-${randomBytes(6).toString('hex')}`;
  const first = bob.waitForRequest('NOTIFY', (n) => n.headers.get('call-id') === callId, WAIT);
  const res = await bob.request('SUBSCRIBE', aor, [
    ['Call-ID', callId], ['From', `<sip:bob@127.0.0.1>;tag=${randomBytes(4).toString('hex')}`], ['To', `<${aor}>`],
    ['Event', 'presence'], ['Expires', '600'], ['Contact', `<${bob.contact('bob')}>`],
  ], '', WAIT);
  expect([200, 202]).toContain(res.status);
  await first;
  return callId;
}

/** The next NOTIFY on the subscription `callId` whose body satisfies `pred`. */
function nextNotify(bob: SipTestClient, callId: string, pred: (body: string) => boolean): Promise<SipRequest> {
  return bob.waitForRequest('NOTIFY', (n) => n.headers.get('call-id') === callId && pred(n.body.toString('utf8')), WAIT);
}

function tupleIds(body: string): string[] {
  return [...body.matchAll(/<tuple\b[^>]*\bid="([^"]+)"/g)].map((m) => m[1] as string);
}

describe('RFC 3903 PUBLISH over UDP (default parameters)', () => {
  let h: RunningHerald;
  let alice: SipTestClient;
  let bob: SipTestClient;
  beforeAll(async () => {
    h = await startHerald();
    alice = await SipTestClient.open('udp', h.udp);
    bob = await SipTestClient.open('udp', h.udp);
  }, 60_000);
  afterAll(async () => {
    await alice?.close();
    await bob?.close();
    await h?.stop();
  });

  describe('§6 step 2: the Event header', () => {
    it('RFC 3903 §6: answers 489 Bad Event with Allow-Events when the Event header is missing', async () => {
      const aor = newAor('ev');
      const r = await publish(alice, aor, { body: pidf(aor, 'open'), event: null });
      expect(r.status).toBe(489);
      expect(r.headers.get('allow-events')).toMatch(/\bpresence\b/);
    });

    it.each(['presence.winfo', 'foo'])('RFC 3903 §6: answers 489 with Allow-Events: presence to a PUBLISH of event package %s', async (event) => {
      const aor = newAor('ev');
      const r = await publish(alice, aor, { body: pidf(aor, 'open'), event });
      expect(r.status).toBe(489);
      const allow = (r.headers.get('allow-events') ?? '').split(',').map((s) => s.trim());
      expect(allow).toContain('presence');
      expect(allow).not.toContain('presence.winfo');
      expect(await live(h, aor)).toHaveLength(0);
    });
  });

  describe('§4 / Table 1: initial, refresh, modify, remove', () => {
    it('RFC 3903 §4.2 / Table 1: answers 400 to an initial PUBLISH without a body', async () => {
      const aor = newAor('init');
      const r = await publish(alice, aor, {});
      expect(r.status).toBe(400);
      expect(await live(h, aor)).toHaveLength(0);
    });

    it('RFC 3903 §6: answers an initial PUBLISH 200 with a SIP-ETag and Expires, and stores the body', async () => {
      const aor = newAor('init');
      const body = pidf(aor, 'open', 'hello');
      const r = await publish(alice, aor, { body, expires: 60 });
      expect(r.status).toBe(200);
      expect(r.headers.get('expires')).toBe('60');
      const etag = etagOf(r);
      const pubs = await live(h, aor);
      expect(pubs.map((p) => [p.etag, p.body])).toEqual([[etag, body]]);
    });

    it('RFC 3903 §4.3: a refresh (SIP-If-Match, no body, Expires > 0) keeps the document and answers a new SIP-ETag', async () => {
      const aor = newAor('refresh');
      const body = pidf(aor, 'open', 'kept');
      const e1 = await initial(alice, aor, { body, expires: 30 });
      const before = (await live(h, aor))[0];
      const r = await publish(alice, aor, { ifMatch: e1, expires: 120 });
      expect(r.status).toBe(200);
      expect(r.headers.get('expires')).toBe('120');
      const e2 = etagOf(r);
      expect(e2).not.toBe(e1);
      const after = await live(h, aor);
      expect(after).toHaveLength(1);
      expect(after[0]?.etag).toBe(e2);
      expect(after[0]?.body).toBe(body);
      expect(after[0]?.expiresAt).toBeGreaterThan((before?.expiresAt ?? 0) + 60_000);
    });

    it('RFC 3903 §4.1: the entity-tag a refresh replaced answers 412 afterwards', async () => {
      const aor = newAor('refresh');
      const e1 = await initial(alice, aor);
      const e2 = etagOf(await publish(alice, aor, { ifMatch: e1 }));
      expect((await publish(alice, aor, { ifMatch: e1 })).status).toBe(412);
      expect((await publish(alice, aor, { ifMatch: e2 })).status).toBe(200);
    });

    it('RFC 3903 §4.3: a refresh with Content-Type but an empty body (baresip) keeps the document', async () => {
      const aor = newAor('bare');
      const body = pidf(aor, 'open', 'baresip');
      const e1 = await initial(alice, aor, { body });
      const r = await publish(alice, aor, { ifMatch: e1, contentType: PIDF, body: '' });
      expect(r.status).toBe(200);
      const e2 = etagOf(r);
      expect(e2).not.toBe(e1);
      const after = await live(h, aor);
      expect(after.map((p) => [p.etag, p.body])).toEqual([[e2, body]]);
    });

    it('RFC 3903 §4.4: a modify (SIP-If-Match + body) replaces the body and answers a new SIP-ETag', async () => {
      const aor = newAor('modify');
      const e1 = await initial(alice, aor, { body: pidf(aor, 'open', 'first') });
      const second = pidf(aor, 'closed', 'second');
      const r = await publish(alice, aor, { ifMatch: e1, body: second });
      expect(r.status).toBe(200);
      const e2 = etagOf(r);
      expect(e2).not.toBe(e1);
      expect((await live(h, aor)).map((p) => [p.etag, p.body])).toEqual([[e2, second]]);
    });

    it('RFC 3903 §4.5: a remove (SIP-If-Match, Expires: 0) answers 200 and the publication is gone', async () => {
      const aor = newAor('remove');
      const e1 = await initial(alice, aor);
      const r = await publish(alice, aor, { ifMatch: e1, expires: 0 });
      expect(r.status).toBe(200);
      expect(r.headers.get('expires')).toBe('0');
      expect(await live(h, aor)).toHaveLength(0);
      // Gone means gone: the entity-tag no longer names anything.
      expect((await publish(alice, aor, { ifMatch: e1 })).status).toBe(412);
    });

    it.each([
      ['refresh', {}],
      ['modify', { body: 'BODY' }],
      ['remove', { expires: 0 }],
    ] as Array<[string, PublishOpts]>)('RFC 3903 §6 step 3: answers 412 when SIP-If-Match names an unknown entity-tag (%s)', async (_kind, o) => {
      const aor = newAor('412');
      const known = await initial(alice, aor);
      const body = o.body === 'BODY' ? pidf(aor, 'closed') : o.body;
      const r = await publish(alice, aor, { ...o, ...(body !== undefined ? { body } : {}), ifMatch: `unknown-${randomBytes(6).toString('hex')}` });
      expect(r.status).toBe(412);
      // The live publication is untouched.
      expect((await live(h, aor)).map((p) => p.etag)).toEqual([known]);
    });

    it.each([
      ['two SIP-If-Match header lines', (e: string): HeaderList => [['SIP-If-Match', e], ['SIP-If-Match', 'other']]],
      ['two entity-tags in one line', (e: string): HeaderList => [['SIP-If-Match', `${e}, other`]]],
      ['an empty SIP-If-Match', (): HeaderList => [['SIP-If-Match', '']]],
    ])('RFC 3903 §6 step 3: answers 400 when SIP-If-Match does not hold a single entity-tag (%s)', async (_what, lines) => {
      const aor = newAor('400');
      const e = await initial(alice, aor);
      const r = await publish(alice, aor, { extra: lines(e) });
      expect(r.status).toBe(400);
      expect(r.reason).toMatch(/SIP-If-Match/);
      expect((await live(h, aor)).map((p) => p.etag)).toEqual([e]);
    });

    it.each([
      ['423 (Expires: 1)', { expires: 1 }],
      ['415 (text/plain body)', { body: 'hello', contentType: 'text/plain' }],
      ['400 (malformed body)', { body: '<presence' }],
    ] as Array<[string, PublishOpts]>)('RFC 3903 §6: answers 412 to an unknown entity-tag before judging what would be %s', async (_what, o) => {
      const aor = newAor('order');
      const r = await publish(alice, aor, { ...o, ifMatch: 'stale-etag' });
      expect(r.status).toBe(412);
    });

    it('RFC 3903 §6 step 3: answers 412 when SIP-If-Match names nothing at all for a presentity that never published', async () => {
      const aor = newAor('412');
      expect((await publish(alice, aor, { ifMatch: 'never-issued' })).status).toBe(412);
      expect((await publish(alice, aor, { ifMatch: 'never-issued', expires: 0 })).status).toBe(412);
      expect((await publish(alice, aor, { ifMatch: 'never-issued', body: pidf(aor, 'open') })).status).toBe(412);
      expect(await live(h, aor)).toHaveLength(0);
    });
  });

  describe('§4.1: publications are matched by entity-tag and presentity, not by Call-ID', () => {
    it('RFC 3903 §4.1: accepts a new Call-ID and From-tag for every PUBLISH of one publication (baresip)', async () => {
      const aor = newAor('callid');
      const e1 = await initial(alice, aor, { callId: `c1-${randomBytes(4).toString('hex')}` });
      const r2 = await publish(alice, aor, { ifMatch: e1, callId: `c2-${randomBytes(4).toString('hex')}` });
      expect(r2.status).toBe(200);
      const r3 = await publish(alice, aor, { ifMatch: etagOf(r2), body: pidf(aor, 'closed'), callId: `c3-${randomBytes(4).toString('hex')}` });
      expect(r3.status).toBe(200);
      const r4 = await publish(alice, aor, { ifMatch: etagOf(r3), expires: 0, callId: `c4-${randomBytes(4).toString('hex')}` });
      expect(r4.status).toBe(200);
      expect(await live(h, aor)).toHaveLength(0);
    });

    it('RFC 3903 §4.1: two initial PUBLISHes on one Call-ID are two publications', async () => {
      const aor = newAor('callid');
      const callId = `same-${randomBytes(4).toString('hex')}`;
      const a = await initial(alice, aor, { callId, body: pidf(aor, 'open', undefined, 'ta') });
      const b = await initial(alice, aor, { callId, body: pidf(aor, 'open', undefined, 'tb') });
      expect(a).not.toBe(b);
      expect((await live(h, aor)).map((p) => p.etag).sort()).toEqual([a, b].sort());
    });

    it('RFC 3903 §6 step 3: answers 412 when the entity-tag of presentity A is used for presentity B', async () => {
      const a = newAor('alice');
      const b = newAor('bob');
      const ea = await initial(alice, a);
      const eb = await initial(alice, b);
      expect((await publish(alice, b, { ifMatch: ea })).status).toBe(412);
      expect((await publish(alice, b, { ifMatch: ea, body: pidf(b, 'closed') })).status).toBe(412);
      expect((await publish(alice, b, { ifMatch: ea, expires: 0 })).status).toBe(412);
      expect((await live(h, a)).map((p) => p.etag)).toEqual([ea]);
      expect((await live(h, b)).map((p) => p.etag)).toEqual([eb]);
    });
  });

  describe('§6 step 4: Expires', () => {
    it('RFC 3903 §6 step 4: grants default_expires (3600) when Expires is absent', async () => {
      const aor = newAor('exp');
      const r = await publish(alice, aor, { body: pidf(aor, 'open'), expires: null });
      expect(r.status).toBe(200);
      expect(r.headers.get('expires')).toBe('3600');
      const [p] = await live(h, aor);
      expect((p?.expiresAt ?? 0) - (p?.receivedAt ?? 0)).toBe(3_600_000);
    });

    it('RFC 3903 §6 step 4: lowers an Expires above max_expires (3600) and says so in the 200', async () => {
      const aor = newAor('exp');
      const r = await publish(alice, aor, { body: pidf(aor, 'open'), expires: 7200 });
      expect(r.status).toBe(200);
      expect(r.headers.get('expires')).toBe('3600');
      const r2 = await publish(alice, aor, { ifMatch: etagOf(r), expires: 100000 });
      expect(r2.status).toBe(200);
      expect(r2.headers.get('expires')).toBe('3600');
    });

    it.each([1, 4])('RFC 3903 §6 step 4: answers 423 with Min-Expires: 5 to Expires: %i (below min_expires)', async (expires) => {
      const aor = newAor('exp');
      const r = await publish(alice, aor, { body: pidf(aor, 'open'), expires });
      expect(r.status).toBe(423);
      expect(r.headers.get('min-expires')).toBe('5');
      expect(await live(h, aor)).toHaveLength(0);
      const e = await initial(alice, aor);
      const refresh = await publish(alice, aor, { ifMatch: e, expires });
      expect(refresh.status).toBe(423);
      expect(refresh.headers.get('min-expires')).toBe('5');
    });

    it('RFC 3903 §6 step 4: accepts Expires equal to min_expires', async () => {
      const aor = newAor('exp');
      const r = await publish(alice, aor, { body: pidf(aor, 'open'), expires: 5 });
      expect(r.status).toBe(200);
      expect(r.headers.get('expires')).toBe('5');
    });
  });

  describe('§6 step 5: the body', () => {
    it.each(['text/plain', 'application/xpidf+xml', 'application/watcherinfo+xml'])('RFC 3903 §6 step 5: answers 415 with Accept: application/pidf+xml to a %s body', async (type) => {
      const aor = newAor('ct');
      const r = await publish(alice, aor, { body: pidf(aor, 'open'), contentType: type });
      expect(r.status).toBe(415);
      expect(r.headers.get('accept')).toBe(PIDF);
      expect(await live(h, aor)).toHaveLength(0);
    });

    it('RFC 3903 §6 step 5: answers 415 with Accept to a modify with the wrong Content-Type and keeps the document', async () => {
      const aor = newAor('ct');
      const body = pidf(aor, 'open');
      const e = await initial(alice, aor, { body });
      const r = await publish(alice, aor, { ifMatch: e, body: 'hello', contentType: 'text/plain' });
      expect(r.status).toBe(415);
      expect(r.headers.get('accept')).toBe(PIDF);
      expect((await live(h, aor)).map((p) => [p.etag, p.body])).toEqual([[e, body]]);
    });

    it('RFC 3903 §6 step 5: accepts Content-Type parameters and case (Application/PIDF+XML; charset=UTF-8)', async () => {
      const aor = newAor('ct');
      const r = await publish(alice, aor, { body: pidf(aor, 'open'), contentType: 'Application/PIDF+XML; charset=UTF-8' });
      expect(r.status).toBe(200);
    });

    it.each([
      ['malformed XML', 'not-well-formed-rejected.xml'],
      ['well-formed XML that is not PIDF', 'non-pidf-root-rejected.xml'],
      ['PIDF names in a foreign namespace', 'wrong-namespace-right-names-rejected.xml'],
      ['a tuple without id', 'tuple-without-id-rejected.xml'],
      ['presence without entity', 'presence-without-entity-rejected.xml'],
      ['a DTD (billion laughs)', 'billion-laughs-rejected.xml'],
      ['an external entity (XXE)', 'xxe-external-entity-rejected.xml'],
      ['an undeclared entity', 'entity-without-dtd-rejected.xml'],
    ])('RFC 3863 / RFC 3903 §6 step 5: answers 400 with a reason phrase naming the problem to %s', async (_what, file) => {
      const aor = newAor('bad');
      const r = await publish(alice, aor, { body: fixture(file) });
      expect(r.status).toBe(400);
      expect(r.reason).not.toBe('Bad Request');
      expect(r.reason.length).toBeGreaterThan(3);
      expect(await live(h, aor)).toHaveLength(0);
    });

    it('RFC 3903 §6 step 5: answers 400 to a modify with a malformed body and keeps the stored document', async () => {
      const aor = newAor('bad');
      const body = pidf(aor, 'open');
      const e = await initial(alice, aor, { body });
      const r = await publish(alice, aor, { ifMatch: e, body: fixture('not-well-formed-rejected.xml') });
      expect(r.status).toBe(400);
      expect((await live(h, aor)).map((p) => [p.etag, p.body])).toEqual([[e, body]]);
    });
  });

  describe('the Request-URI names the presentity (canonical AOR)', () => {
    it('drops the port: R-URI sip:alice@127.0.0.1:5080 and sip:alice@127.0.0.1 name the same presentity', async () => {
      const user = `alice-${randomBytes(3).toString('hex')}`;
      const withPort = `sip:${user}@127.0.0.1:5080`;
      const bare = `sip:${user}@127.0.0.1`;
      const e1 = await initial(alice, bare, { requestUri: withPort, body: pidf(withPort, 'open') });
      expect((await live(h, bare)).map((p) => p.etag)).toEqual([e1]);
      const r = await publish(alice, bare, { requestUri: bare, ifMatch: e1 });
      expect(r.status).toBe(200);
      const r2 = await publish(alice, bare, { requestUri: `${withPort};transport=udp`, ifMatch: etagOf(r), expires: 0 });
      expect(r2.status).toBe(200);
      expect(await live(h, bare)).toHaveLength(0);
    });

    it('compares the host case-insensitively: sip:carol@Example.COM:5080 and sip:carol@example.com are one presentity', async () => {
      const user = `carol-${randomBytes(3).toString('hex')}`;
      const e1 = await initial(alice, `sip:${user}@example.com`, { requestUri: `sip:${user}@Example.COM:5080` });
      expect((await live(h, `sip:${user}@example.com`)).map((p) => p.etag)).toEqual([e1]);
      const r = await publish(alice, `sip:${user}@example.com`, { requestUri: `sip:${user}@EXAMPLE.com`, ifMatch: e1 });
      expect(r.status).toBe(200);
    });

    it('keeps the user part case-sensitive: sip:Alice@127.0.0.1 is not sip:alice@127.0.0.1', async () => {
      const suffix = randomBytes(3).toString('hex');
      const lower = `sip:alice-${suffix}@127.0.0.1`;
      const upper = `sip:Alice-${suffix}@127.0.0.1`;
      const e1 = await initial(alice, lower, { requestUri: `sip:alice-${suffix}@127.0.0.1:5080` });
      expect((await publish(alice, upper, { requestUri: upper, ifMatch: e1 })).status).toBe(412);
      expect(await live(h, upper)).toHaveLength(0);
      expect((await live(h, lower)).map((p) => p.etag)).toEqual([e1]);
    });
  });

  describe('durability and order', () => {
    it('DESIGN: the 200 arrives only after the publication is committed (visible to another connection at once)', async () => {
      // On PostgreSQL, a second store on its own connection pool; PGlite has one connection (in-process).
      const other = backendOf(h.dbUrl) === 'postgres' ? createStore(createKnex(h.dbUrl)) : h.app.store;
      try {
        for (let i = 0; i < 5; i++) {
          const aor = newAor('durable');
          const body = pidf(aor, 'open', `n${i}`);
          const e1 = await initial(alice, aor, { body });
          expect((await live(h, aor, other)).map((p) => [p.etag, p.body])).toEqual([[e1, body]]);
          const closed = pidf(aor, 'closed', `n${i}`);
          const e2 = etagOf(await publish(alice, aor, { ifMatch: e1, body: closed }));
          expect((await live(h, aor, other)).map((p) => [p.etag, p.body])).toEqual([[e2, closed]]);
          expect((await publish(alice, aor, { ifMatch: e2, expires: 0 })).status).toBe(200);
          expect(await live(h, aor, other)).toHaveLength(0);
        }
      } finally {
        if (other !== h.app.store) await other.close();
      }
    });

    it('20 initial PUBLISHes of one presentity at once: all 200, 20 distinct entity-tags, all stored', async () => {
      const aor = newAor('burst');
      const rs = await Promise.all(Array.from({ length: 20 }, (_, i) => publish(alice, aor, { body: pidf(aor, 'open', undefined, `t${i}`) })));
      expect(rs.map((r) => r.status)).toEqual(Array(20).fill(200));
      const etags = rs.map(etagOf);
      expect(new Set(etags).size).toBe(20);
      expect((await live(h, aor)).map((p) => p.etag).sort()).toEqual([...etags].sort());
    });

    it('RFC 3903 §4.1 + per-presentity order: of 20 modifies with the same SIP-If-Match sent at once, exactly one wins, the others get 412', async () => {
      const aor = newAor('race');
      const e0 = await initial(alice, aor);
      const rs = await Promise.all(Array.from({ length: 20 }, (_, i) => publish(alice, aor, { ifMatch: e0, body: pidf(aor, i % 2 ? 'open' : 'closed', `m${i}`) })));
      const statuses = rs.map((r) => r.status).sort();
      expect(statuses).toEqual([200, ...Array(19).fill(412)]);
      const winner = rs.find((r) => r.status === 200) as SipResponse;
      const pubs = await live(h, aor);
      expect(pubs.map((p) => p.etag)).toEqual([etagOf(winner)]);
    });
  });

  describe('composition over the wire (presence event package)', () => {
    it('RFC 4479: a watcher gets both tuples of two devices, the remaining one after a remove, and basic closed after the last', async () => {
      const aor = newAor('devices');
      const callId = await watch(bob, aor);
      let n = nextNotify(bob, callId, (b) => tupleIds(b).includes('phone'));
      const ePhone = await initial(alice, aor, { body: pidf(aor, 'open', 'phone', 'phone') });
      await n;
      n = nextNotify(bob, callId, (b) => tupleIds(b).includes('desk'));
      const eDesk = await initial(alice, aor, { body: pidf(aor, 'open', 'desk', 'desk') });
      const both = (await n).body.toString('utf8');
      expect(tupleIds(both).sort()).toEqual(['desk', 'phone']);

      n = nextNotify(bob, callId, (b) => !tupleIds(b).includes('phone'));
      expect((await publish(alice, aor, { ifMatch: ePhone, expires: 0 })).status).toBe(200);
      const remaining = (await n).body.toString('utf8');
      expect(tupleIds(remaining)).toEqual(['desk']);
      expect(remaining).toContain('<basic>open</basic>');

      n = nextNotify(bob, callId, (b) => !tupleIds(b).includes('desk') || b.includes('<basic>closed</basic>'));
      expect((await publish(alice, aor, { ifMatch: eDesk, expires: 0 })).status).toBe(200);
      const last = await n;
      expect(last.headers.get('content-type')).toBe(PIDF);
      const closed = last.body.toString('utf8');
      expect(closed).toContain('<basic>closed</basic>');
      expect(closed).not.toContain('<basic>open</basic>');
      expect(closed).toContain(`entity="${aor}"`);
    });

    it('RFC 3863: PIDF elements go out unprefixed (<basic>open</basic> literally, as baresip matches it), even when published with a prefix', async () => {
      const aor = newAor('prefix');
      const callId = await watch(bob, aor);
      const n = nextNotify(bob, callId, (b) => b.length > 0);
      const prefixed = fixture('prefixed-pidf-namespace-open.xml').replace('sip:carol@example.com', aor);
      expect(prefixed).toContain('<p:basic>open</p:basic>');
      await initial(alice, aor, { body: prefixed });
      const body = (await n).body.toString('utf8');
      expect(body).toContain('<basic>open</basic>');
      expect(body).toMatch(/<presence\b[^>]*\sxmlns="urn:ietf:params:xml:ns:pidf"/);
      expect(body).toMatch(/<tuple id="c1">/);
      expect(body).not.toMatch(/<\w+:(presence|tuple|status|basic)\b/);
      expect(body).toContain(`entity="${aor}"`);
    });

    it('RFC 3863 §4.1.1: the composed document names the canonical presentity as entity', async () => {
      const user = `ent-${randomBytes(3).toString('hex')}`;
      const aor = `sip:${user}@127.0.0.1`;
      const callId = await watch(bob, aor);
      const n = nextNotify(bob, callId, (b) => b.length > 0);
      await initial(alice, aor, { requestUri: `sip:${user}@127.0.0.1:5080`, body: pidf(`sip:${user}@127.0.0.1:5080`, 'open') });
      expect((await n).body.toString('utf8')).toContain(`entity="${aor}"`);
    });

    it("RFC 3863 §4.1.3: linphone's <pidfonline:online/> status extension reaches the watcher in its namespace", async () => {
      const aor = newAor('linphone');
      const callId = await watch(bob, aor);
      const n = nextNotify(bob, callId, (b) => b.length > 0);
      await initial(alice, aor, { body: fixture('linphone-pidfonline-open.xml') });
      const body = (await n).body.toString('utf8');
      const m = /<(\w+):online\/>/.exec(body);
      expect(m).not.toBeNull();
      expect(body).toContain(`xmlns:${m?.[1] ?? ''}="http://www.linphone.org/xsds/pidfonline.xsd"`);
      expect(body).toMatch(/<status>\s*<basic>open<\/basic>\s*<\w+:online\/>\s*<\/status>/);
      expect(body).toContain('<contact priority="0.8">');
      expect(body).toContain('<timestamp>2026-11-22T01:51:54Z</timestamp>');
    });

    it('RFC 3903 §4.3: a refresh does not send the watcher an empty or changed document', async () => {
      const aor = newAor('quiet');
      const callId = await watch(bob, aor);
      const n = nextNotify(bob, callId, (b) => b.length > 0);
      const e1 = await initial(alice, aor, { body: pidf(aor, 'open', 'stay') });
      const first = (await n).body.toString('utf8');
      const before = bob.requests('NOTIFY').filter((x) => x.headers.get('call-id') === callId).length;
      const refresh = await publish(alice, aor, { ifMatch: e1, contentType: PIDF });
      expect(refresh.status).toBe(200);
      // A modify after the refresh is the marker: every NOTIFY in between must carry the same document.
      const m = nextNotify(bob, callId, (b) => b.includes('<basic>closed</basic>'));
      expect((await publish(alice, aor, { ifMatch: etagOf(refresh), body: pidf(aor, 'closed', 'stay') })).status).toBe(200);
      await m;
      const between = bob.requests('NOTIFY').filter((x) => x.headers.get('call-id') === callId).slice(before, -1);
      for (const x of between) expect(x.body.toString('utf8')).toBe(first);
    });
  });
});

describe('RFC 3903 PUBLISH: expires_offset (seed 001)', () => {
  let h: RunningHerald;
  let alice: SipTestClient;
  beforeAll(async () => {
    h = await startHerald({ expires_offset: 10 });
    alice = await SipTestClient.open('udp', h.udp);
  }, 60_000);
  afterAll(async () => {
    await alice?.close();
    await h?.stop();
  });

  it('seed 001: the 200 says Expires = granted - expires_offset while the record keeps the granted interval', async () => {
    const aor = newAor('offset');
    const r = await publish(alice, aor, { body: pidf(aor, 'open'), expires: 60 });
    expect(r.status).toBe(200);
    expect(r.headers.get('expires')).toBe('50');
    const [p] = await live(h, aor);
    expect((p?.expiresAt ?? 0) - (p?.receivedAt ?? 0)).toBe(60_000);
    const r2 = await publish(alice, aor, { ifMatch: etagOf(r), expires: null });
    expect(r2.status).toBe(200);
    expect(r2.headers.get('expires')).toBe('3590');
  });

  it('seed 001: a remove still answers Expires: 0', async () => {
    const aor = newAor('offset');
    const e = await initial(alice, aor);
    const r = await publish(alice, aor, { ifMatch: e, expires: 0 });
    expect(r.status).toBe(200);
    expect(r.headers.get('expires')).toBe('0');
  });
});

describe('RFC 3903 PUBLISH: max_body_size (over TCP)', () => {
  let h: RunningHerald;
  let tcp: SipTestClient;
  beforeAll(async () => {
    h = await startHerald({ max_body_size: 2048 });
    tcp = await SipTestClient.open('tcp', h.tcp);
  }, 60_000);
  afterAll(async () => {
    await tcp?.close();
    await h?.stop();
  });

  it('RFC 3261 §21.4.14: answers 413 Request Entity Too Large to a PIDF body over max_body_size', async () => {
    const aor = newAor('big');
    const body = pidf(aor, 'open', 'x'.repeat(4096));
    expect(Buffer.byteLength(body)).toBeGreaterThan(2048);
    const r = await publish(tcp, aor, { body });
    expect(r.status).toBe(413);
    expect(await live(h, aor)).toHaveLength(0);
  });

  it('RFC 3261 §21.4.14: answers 413 to a modify over max_body_size and keeps the stored document', async () => {
    const aor = newAor('big');
    const small = pidf(aor, 'open', 'small');
    const e = await initial(tcp, aor, { body: small });
    const r = await publish(tcp, aor, { ifMatch: e, body: pidf(aor, 'closed', 'y'.repeat(3000)) });
    expect(r.status).toBe(413);
    expect((await live(h, aor)).map((p) => [p.etag, p.body])).toEqual([[e, small]]);
  });

  it('accepts a body just under max_body_size over TCP', async () => {
    const aor = newAor('big');
    const base = pidf(aor, 'open', '');
    const body = pidf(aor, 'open', 'z'.repeat(2000 - Buffer.byteLength(base)));
    expect(Buffer.byteLength(body)).toBeLessThanOrEqual(2048);
    expect((await publish(tcp, aor, { body })).status).toBe(200);
  });
});

// Two Herald nodes on one PostgreSQL database (DESIGN: "any Herald node sharing the database can serve any
// request"). PGlite's memory:// database cannot be shared, so this runs on PostgreSQL only.
const onPostgres = (process.env.HERALD_TEST_DB_URL ?? '').trim() !== '';
(onPostgres ? describe : describe.skip)('RFC 3903 PUBLISH on two nodes sharing PostgreSQL', () => {
  let a: RunningHerald;
  let b: RunningHerald;
  let toA: SipTestClient;
  let toB: SipTestClient;
  beforeAll(async () => {
    a = await startHerald();
    b = await startHerald({ db_url: a.dbUrl });
    toA = await SipTestClient.open('udp', a.udp);
    toB = await SipTestClient.open('udp', b.udp);
  }, 60_000);
  afterAll(async () => {
    await toA?.close();
    await toB?.close();
    await b?.stop();
    await a?.stop();
  });

  it('a publication made on one node is refreshed, modified and removed on the other', async () => {
    const aor = newAor('nodes');
    const e1 = await initial(toA, aor);
    const r2 = await publish(toB, aor, { ifMatch: e1 });
    expect(r2.status).toBe(200);
    const r3 = await publish(toA, aor, { ifMatch: etagOf(r2), body: pidf(aor, 'closed') });
    expect(r3.status).toBe(200);
    expect((await publish(toB, aor, { ifMatch: etagOf(r3), expires: 0 })).status).toBe(200);
    expect(await live(a, aor)).toHaveLength(0);
  });

  it('RFC 3903 §6 step 3: modifies and removes on one entity-tag sent to both nodes at once: exactly one wins, the other gets 412', async () => {
    // Regression: the loser's conditional UPDATE/DELETE matched no row (PostgreSQL re-checks the WHERE after
    // the winner commits) but Herald answered 200 anyway, with an entity-tag that named nothing.
    for (let round = 0; round < 10; round++) {
      const aor = newAor('nodes');
      const e0 = await initial(toA, aor);
      const kinds: PublishOpts[] = round % 2 === 0
        ? [{ body: pidf(aor, 'closed', 'from A') }, { body: pidf(aor, 'closed', 'from B') }]
        : [{ expires: 0 }, { body: pidf(aor, 'closed', 'from B') }];
      const [ra, rb] = await Promise.all([publish(toA, aor, { ...kinds[0], ifMatch: e0 }), publish(toB, aor, { ...kinds[1], ifMatch: e0 })]);
      const statuses = [ra?.status, rb?.status].sort();
      expect(statuses).toEqual([200, 412]);
      const winner = ra?.status === 200 ? ra : rb;
      const pubs = await live(a, aor);
      if (winner?.headers.get('sip-etag')) expect(pubs.map((p) => p.etag)).toEqual([winner.headers.get('sip-etag')]);
      else expect(pubs).toEqual([]);
    }
  });
});
