/**
 * The PUBLISH procedure without I/O: RFC 3903 Table 1 (classify), the Expires rules (grantExpires),
 * entity-tags, and PublicationService over an in-memory store and a fake clock.
 */
import { FakeClock, type Random } from '../../src/clock';
import { isPresenceError, PresenceError, type ErrorCode } from '../../src/errors';
import { PresenceDocuments } from '../../src/presence/documents';
import { isEntityTag, newEntityTag } from '../../src/presence/entity-tag';
import { grantExpires, parseExpires, type ExpiresLimits } from '../../src/presence/expires';
import { KeyedLocks } from '../../src/presence/locks';
import type { Publication } from '../../src/presence/model';
import type { PublicationPatch, PublicationRepository, Store } from '../../src/presence/ports';
import { classify, PublicationService, type PublishRequest } from '../../src/presence/publications';

const LIMITS: ExpiresLimits = { minExpiresSec: 5, maxExpiresSec: 3600, defaultExpiresSec: 3600 };
const BODY = Buffer.from('<presence xmlns="urn:ietf:params:xml:ns:pidf" entity="sip:a@x"><tuple id="t"><status><basic>open</basic></status></tuple></presence>');
const CLOSED = Buffer.from('<presence xmlns="urn:ietf:params:xml:ns:pidf" entity="sip:a@x"><tuple id="t"><status><basic>closed</basic></status></tuple></presence>');

function codeOf(fn: () => unknown): ErrorCode | 'none' {
  try {
    fn();
    return 'none';
  } catch (e) {
    if (isPresenceError(e)) return e.code;
    throw e;
  }
}

async function rejection(p: Promise<unknown>): Promise<PresenceError> {
  try {
    await p;
  } catch (e) {
    if (isPresenceError(e)) return e;
    throw e;
  }
  throw new Error('expected a PresenceError');
}

describe('classify: RFC 3903 §4, Table 1', () => {
  const body = Buffer.from('x');
  it.each([
    // SIP-If-Match, body, Expires → kind
    ['no SIP-If-Match', 'a body', 60, 'initial'],
    ['no SIP-If-Match', 'a body', undefined, 'initial'],
    ['SIP-If-Match', 'no body', 60, 'refresh'],
    ['SIP-If-Match', 'no body', undefined, 'refresh'],
    ['SIP-If-Match', 'a body', 60, 'modify'],
    ['SIP-If-Match', 'no body', 0, 'remove'],
  ] as const)('%s, %s, Expires %p → %s', (ifMatch, b, expires, kind) => {
    expect(classify({ ifMatch: ifMatch === 'SIP-If-Match' ? 'e1' : null, body: b === 'a body' ? body : null, expires })).toBe(kind);
  });

  it('RFC 3903 §4.3: an empty body (baresip: Content-Type, Content-Length 0) is no body: a refresh', () => {
    expect(classify({ ifMatch: 'e1', body: Buffer.alloc(0), expires: 60 })).toBe('refresh');
  });

  it('RFC 3903 §4.5: SIP-If-Match + Expires 0 is a remove even with a body', () => {
    expect(classify({ ifMatch: 'e1', body, expires: 0 })).toBe('remove');
  });

  it('RFC 3903 §4.2: an initial PUBLISH without a body is 400 (MISSING_BODY)', () => {
    expect(codeOf(() => classify({ ifMatch: null, body: null, expires: 60 }))).toBe('MISSING_BODY');
    expect(codeOf(() => classify({ ifMatch: null, body: Buffer.alloc(0), expires: 60 }))).toBe('MISSING_BODY');
    expect(codeOf(() => classify({ ifMatch: null, body: null, expires: 0 }))).toBe('MISSING_BODY');
  });
});

describe('grantExpires: RFC 3903 §6 step 4', () => {
  it('grants default_expires when Expires is absent', () => {
    expect(grantExpires(undefined, LIMITS)).toBe(3600);
    expect(grantExpires(undefined, { ...LIMITS, defaultExpiresSec: 600 })).toBe(600);
  });

  it('never grants more than max_expires, even by default', () => {
    expect(grantExpires(undefined, { ...LIMITS, defaultExpiresSec: 7200 })).toBe(3600);
  });

  it('lowers a request above max_expires to max_expires', () => {
    expect(grantExpires(3601, LIMITS)).toBe(3600);
    expect(grantExpires(2 ** 32 - 1, LIMITS)).toBe(3600);
  });

  it('grants a request within [min_expires, max_expires] as asked', () => {
    expect(grantExpires(5, LIMITS)).toBe(5);
    expect(grantExpires(60, LIMITS)).toBe(60);
    expect(grantExpires(3600, LIMITS)).toBe(3600);
  });

  it('keeps 0 (remove) whatever min_expires says', () => {
    expect(grantExpires(0, LIMITS)).toBe(0);
  });

  it('answers 423 Interval Too Brief with Min-Expires to a non-zero request below min_expires', () => {
    for (const requested of [1, 4]) {
      let err: unknown;
      try {
        grantExpires(requested, LIMITS);
      } catch (e) {
        err = e;
      }
      expect(isPresenceError(err) && err.code).toBe('INTERVAL_TOO_BRIEF');
      expect(isPresenceError(err) && err.sipStatus).toBe(423);
      expect(isPresenceError(err) && err.headers).toEqual({ 'Min-Expires': '5' });
    }
  });

  it('applies no minimum when min_expires is 0', () => {
    expect(grantExpires(1, { ...LIMITS, minExpiresSec: 0 })).toBe(1);
  });
});

describe('parseExpires', () => {
  it('reads delta-seconds, absent as undefined, and caps at 2^32-1 (RFC 3261 §20.19)', () => {
    expect(parseExpires(undefined)).toBeUndefined();
    expect(parseExpires(' 60 ')).toBe(60);
    expect(parseExpires('0')).toBe(0);
    expect(parseExpires('9999999999')).toBe(2 ** 32 - 1);
  });

  it.each(['', 'abc', '-1', '1.5', '60s', '12345678901'])('answers 400 to Expires %p', (v) => {
    expect(codeOf(() => parseExpires(v))).toBe('BAD_REQUEST');
  });
});

describe('entity-tags', () => {
  it('RFC 3903 §6: a new, unguessable entity-tag every time (crypto random, 15 bytes)', () => {
    const random: Random = { token: (n) => `tok${n}` };
    expect(newEntityTag(random)).toBe('tok15');
  });

  it('RFC 3903 §11.3.2: an entity-tag is a token', () => {
    expect(isEntityTag('a.1795312172.23605.21.0')).toBe(true);
    expect(isEntityTag('Zm9v-YmFy_baz')).toBe(true);
    for (const bad of ['', 'a b', 'a,b', 'a;b', '"quoted"', 'a\tb']) expect(isEntityTag(bad)).toBe(false);
  });
});

/** An in-memory PublicationRepository; its writes can be told to lose a race. */
class MemoryPublications implements Partial<PublicationRepository> {
  rows: Publication[] = [];
  loseNextWrite = false;

  async live(presentity: string, event: string, now: number): Promise<Publication[]> {
    return this.rows.filter((p) => p.presentity === presentity && p.event === event && p.expiresAt > now);
  }

  async byEtag(presentity: string, event: string, etag: string, now: number): Promise<Publication | undefined> {
    return (await this.live(presentity, event, now)).find((p) => p.etag === etag);
  }

  async insert(p: Publication): Promise<void> {
    this.rows.push(p);
  }

  async replace(presentity: string, event: string, oldEtag: string, next: Publication): Promise<boolean> {
    if (this.lose()) return false;
    const i = this.rows.findIndex((p) => p.presentity === presentity && p.event === event && p.etag === oldEtag);
    if (i < 0) return false;
    this.rows[i] = next;
    return true;
  }

  async remove(presentity: string, event: string, etag: string): Promise<boolean> {
    if (this.lose()) return false;
    const before = this.rows.length;
    this.rows = this.rows.filter((p) => !(p.presentity === presentity && p.event === event && p.etag === etag));
    return this.rows.length < before;
  }

  async updateLive(presentity: string, event: string, oldEtag: string, now: number, patch: PublicationPatch): Promise<Publication | undefined> {
    if (this.lose()) return undefined;
    const i = this.rows.findIndex((p) => p.presentity === presentity && p.event === event && p.etag === oldEtag && p.expiresAt > now);
    if (i < 0) return undefined;
    const next = { ...(this.rows[i] as Publication), ...patch };
    this.rows[i] = next;
    return next;
  }

  async removeLive(presentity: string, event: string, etag: string, now: number): Promise<Publication | undefined> {
    if (this.lose()) return undefined;
    const found = this.rows.find((p) => p.presentity === presentity && p.event === event && p.etag === etag && p.expiresAt > now);
    if (found) this.rows = this.rows.filter((p) => p !== found);
    return found;
  }

  /** Another node changed the row between our read and our write (the WHERE etag = … no longer matches). */
  private lose(): boolean {
    const lost = this.loseNextWrite;
    this.loseNextWrite = false;
    return lost;
  }
}

function harness() {
  const clock = new FakeClock();
  let n = 0;
  const random: Random = { token: () => `etag${++n}` };
  const publications = new MemoryPublications();
  const store = {
    publications,
    transaction: <T>(work: (tx: { publications: MemoryPublications }) => Promise<T>): Promise<T> => work({ publications }),
  } as unknown as Store;
  const changes: Array<{ presentity: string; last: Publication | undefined }> = [];
  const service = new PublicationService({
    store, clock, random, locks: new KeyedLocks(4), documents: new PresenceDocuments(65536), limits: LIMITS,
    onChange: async (presentity, last) => {
      changes.push({ presentity, last });
    },
  });
  const req = (o: Partial<PublishRequest>): PublishRequest => ({
    presentity: 'sip:a@x', event: 'presence', ifMatch: null, expires: 60, body: null, contentType: null, source: 'sip', client: null, ...o,
  });
  return { clock, publications, service, changes, req };
}

describe('PublicationService: the RFC 3903 §6 procedure', () => {
  it('initial: stores the body under a new entity-tag with the granted expiry, and tells the watchers after', async () => {
    const { service, publications, clock, changes, req } = harness();
    const r = await service.publish(req({ body: BODY, contentType: 'application/pidf+xml', expires: 7200 }));
    expect(r).toMatchObject({ kind: 'initial', etag: 'etag1', expires: 3600 });
    expect(publications.rows).toEqual([expect.objectContaining({ etag: 'etag1', body: BODY.toString(), expiresAt: clock.now() + 3_600_000, receivedAt: clock.now() })]);
    expect(changes).toEqual([]);
    await r.notify();
    expect(changes).toEqual([{ presentity: 'sip:a@x', last: undefined }]);
  });

  it('refresh: new entity-tag and expiry, same body, content type and receivedAt; watchers are not told', async () => {
    const { service, publications, clock, changes, req } = harness();
    await service.publish(req({ body: BODY, contentType: 'application/pidf+xml' }));
    const t0 = clock.now();
    clock.advance(30_000);
    const r = await service.publish(req({ ifMatch: 'etag1', contentType: 'application/pidf+xml', body: Buffer.alloc(0), expires: 120 }));
    expect(r).toMatchObject({ kind: 'refresh', etag: 'etag2', expires: 120 });
    expect(publications.rows).toEqual([expect.objectContaining({ etag: 'etag2', body: BODY.toString(), contentType: 'application/pidf+xml', receivedAt: t0, expiresAt: clock.now() + 120_000 })]);
    await r.notify();
    expect(changes).toEqual([]);
  });

  it('modify: replaces the body under a new entity-tag and tells the watchers (the modified publication is still live)', async () => {
    const { service, publications, changes, req } = harness();
    await service.publish(req({ body: BODY, contentType: 'application/pidf+xml' }));
    const r = await service.publish(req({ ifMatch: 'etag1', body: CLOSED, contentType: 'application/pidf+xml' }));
    expect(r).toMatchObject({ kind: 'modify', etag: 'etag2' });
    expect(publications.rows.map((p) => [p.etag, p.body])).toEqual([['etag2', CLOSED.toString()]]);
    await r.notify();
    // `last` only matters when nothing is left to compose; after a modify the new version is live.
    expect(changes).toEqual([expect.objectContaining({ presentity: expect.any(String) })]);
    expect(changes[0]?.last).toBeUndefined();
  });

  it('remove: deletes the publication, answers no entity-tag and Expires 0, tells the watchers with the last version', async () => {
    const { service, publications, changes, req } = harness();
    await service.publish(req({ body: BODY, contentType: 'application/pidf+xml' }));
    const r = await service.publish(req({ ifMatch: 'etag1', expires: 0 }));
    expect(r).toMatchObject({ kind: 'remove', etag: null, expires: 0 });
    expect(publications.rows).toEqual([]);
    await r.notify();
    expect(changes[0]?.last?.body).toBe(BODY.toString());
  });

  it.each([
    ['refresh', {}],
    ['modify', { body: CLOSED, contentType: 'application/pidf+xml' }],
    ['remove', { expires: 0 }],
  ] as Array<[string, Partial<PublishRequest>]>)('412 to a %s whose entity-tag is unknown, expired, or of another presentity', async (_k, o) => {
    const { service, clock, req } = harness();
    await service.publish(req({ body: BODY, contentType: 'application/pidf+xml', expires: 60 }));
    expect((await rejection(service.publish(req({ ...o, ifMatch: 'nope' })))).code).toBe('CONDITIONAL_REQUEST_FAILED');
    expect((await rejection(service.publish(req({ ...o, ifMatch: 'etag1', presentity: 'sip:b@x' })))).code).toBe('CONDITIONAL_REQUEST_FAILED');
    clock.advance(60_000);
    expect((await rejection(service.publish(req({ ...o, ifMatch: 'etag1' })))).code).toBe('CONDITIONAL_REQUEST_FAILED');
  });

  it.each([
    ['refresh', {}],
    ['modify', { body: CLOSED, contentType: 'application/pidf+xml' }],
    ['remove', { expires: 0 }],
  ] as Array<[string, Partial<PublishRequest>]>)('412, not 200, when the row changed between read and write (another node won the race): %s', async (_k, o) => {
    // Regression: a conditional write that matched no row used to be ignored, answering 200 with an entity-tag that
    // named nothing (or "removing" a publication that another node had just modified, which stayed live).
    const { service, publications, changes, req } = harness();
    await service.publish(req({ body: BODY, contentType: 'application/pidf+xml' }));
    publications.loseNextWrite = true;
    expect((await rejection(service.publish(req({ ...o, ifMatch: 'etag1' })))).code).toBe('CONDITIONAL_REQUEST_FAILED');
    expect(publications.rows.map((p) => p.etag)).toEqual(['etag1']);
    expect(changes).toEqual([]);
  });

  it.each([
    ['423 (Expires below min_expires)', { expires: 1 }],
    ['415 (another body type)', { body: CLOSED, contentType: 'text/plain' }],
    ['400 (a body that is not PIDF)', { body: Buffer.from('<x/>'), contentType: 'application/pidf+xml' }],
  ] as Array<[string, Partial<PublishRequest>]>)('RFC 3903 §6: an unknown entity-tag is 412 (step 3) before %s is judged', async (_what, o) => {
    // Regression: Expires and body were judged first, so a stale entity-tag got 423/415/400 instead of 412.
    const { service, req } = harness();
    expect((await rejection(service.publish(req({ ...o, ifMatch: 'stale' })))).code).toBe('CONDITIONAL_REQUEST_FAILED');
  });

  it('RFC 3903 §6 steps 4-5: with a matching entity-tag the same requests get 423 with Min-Expires, 415, 400, and nothing changes', async () => {
    const { service, publications, req } = harness();
    await service.publish(req({ body: BODY, contentType: 'application/pidf+xml' }));
    const e423 = await rejection(service.publish(req({ ifMatch: 'etag1', expires: 1 })));
    expect([e423.code, e423.headers]).toEqual(['INTERVAL_TOO_BRIEF', { 'Min-Expires': '5' }]);
    expect((await rejection(service.publish(req({ ifMatch: 'etag1', body: CLOSED, contentType: 'text/plain' })))).code).toBe('UNSUPPORTED_MEDIA_TYPE');
    expect((await rejection(service.publish(req({ ifMatch: 'etag1', body: Buffer.from('<x/>'), contentType: 'application/pidf+xml' })))).code).toBe('BAD_BODY');
    expect(publications.rows.map((p) => [p.etag, p.body])).toEqual([['etag1', BODY.toString()]]);
  });

  it('RFC 3903 §6: checks the Event first (489 with Allow-Events: presence), before any other problem', async () => {
    const { service, req } = harness();
    for (const event of [undefined, 'presence.winfo', 'foo']) {
      const e = await rejection(service.publish(req({ event, ifMatch: 'two, tags', expires: 1 })));
      expect(e.code).toBe('BAD_EVENT');
      expect(e.headers).toEqual({ 'Allow-Events': 'presence' });
    }
  });

  it('RFC 3903 §6 step 3: 400 when SIP-If-Match is not one entity-tag', async () => {
    const { service, req } = harness();
    for (const ifMatch of ['a, b', '', 'a b']) {
      expect((await rejection(service.publish(req({ ifMatch })))).code).toBe('BAD_REQUEST');
    }
  });

  it('400 to an initial PUBLISH with Expires 0 (Table 1: an initial publication has Expires > 0)', async () => {
    const { service, publications, req } = harness();
    expect((await rejection(service.publish(req({ body: BODY, contentType: 'application/pidf+xml', expires: 0 })))).code).toBe('BAD_REQUEST');
    expect(publications.rows).toEqual([]);
  });

  it('RFC 3903 §6 step 5: 415 with Accept for another body type or none; the media type compares case-insensitively', async () => {
    const { service, req } = harness();
    const e = await rejection(service.publish(req({ body: BODY, contentType: 'text/plain' })));
    expect(e.code).toBe('UNSUPPORTED_MEDIA_TYPE');
    expect(e.headers).toEqual({ Accept: 'application/pidf+xml' });
    expect((await rejection(service.publish(req({ body: BODY, contentType: null })))).code).toBe('UNSUPPORTED_MEDIA_TYPE');
    // The SIP layer hands over the media type lower-cased or not: either way it is pidf.
    await expect(service.publish(req({ body: BODY, contentType: 'Application/PIDF+XML' }))).resolves.toMatchObject({ kind: 'initial' });
  });

  it('RFC 3903 §6 step 5: 400 (BAD_BODY) for a body that is not PIDF, 413 over max_body_size; nothing stored', async () => {
    const { service, publications, req } = harness();
    expect((await rejection(service.publish(req({ body: Buffer.from('<x/>'), contentType: 'application/pidf+xml' })))).code).toBe('BAD_BODY');
    const big = Buffer.from(BODY.toString().replace('</presence>', `<note>${'x'.repeat(70_000)}</note></presence>`));
    expect((await rejection(service.publish(req({ body: big, contentType: 'application/pidf+xml' })))).code).toBe('ENTITY_TOO_LARGE');
    expect(publications.rows).toEqual([]);
  });

  it('runs the requests of one presentity one at a time: 10 modifies on one entity-tag → one wins, nine 412', async () => {
    const { service, publications, req } = harness();
    await service.publish(req({ body: BODY, contentType: 'application/pidf+xml' }));
    const results = await Promise.allSettled(Array.from({ length: 10 }, () => service.publish(req({ ifMatch: 'etag1', body: CLOSED, contentType: 'application/pidf+xml' }))));
    expect(results.filter((x) => x.status === 'fulfilled')).toHaveLength(1);
    expect(results.filter((x) => x.status === 'rejected' && isPresenceError(x.reason) && x.reason.code === 'CONDITIONAL_REQUEST_FAILED')).toHaveLength(9);
    expect(publications.rows).toHaveLength(1);
  });
});
