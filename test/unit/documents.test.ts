/**
 * PresenceDocuments: validating publication bodies (400/413 as PresenceError) and composing the one
 * document a presentity's watchers get from its live publication records (RFC 4479), with the
 * parsed-body cache keyed by entity-tag.
 */
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { isPresenceError } from '../../src/errors';
import { PresenceDocuments } from '../../src/presence/documents';
import type { Publication } from '../../src/presence/model';

const fixture = (name: string): string => readFileSync(join(__dirname, '..', 'fixtures', 'pidf', name), 'utf8');
const AOR = 'sip:alice@example.com';
const PIDF_NS = 'urn:ietf:params:xml:ns:pidf';

function body(tuples: string, extra = '', entity = 'sip:alice@192.0.2.1:5060'): string {
  return `<?xml version="1.0"?><presence xmlns="${PIDF_NS}" xmlns:dm="urn:ietf:params:xml:ns:pidf:data-model" xmlns:rpid="urn:ietf:params:xml:ns:pidf:rpid" xmlns:x="urn:example:x" entity="${entity}">${tuples}${extra}</presence>`;
}

function tuple(id: string, basic: 'open' | 'closed', note = ''): string {
  return `<tuple id="${id}"><status><basic>${basic}</basic></status>${note ? `<note>${note}</note>` : ''}</tuple>`;
}

let n = 0;
function pub(content: string, receivedAt: number, etag = `e${++n}`): Publication {
  return { presentity: AOR, event: 'presence', etag, body: content, contentType: 'application/pidf+xml', source: 'sip', client: null, receivedAt, expiresAt: receivedAt + 60_000 };
}

function ids(xml: string): string[] {
  return [...xml.matchAll(/<tuple\b[^>]*\bid="([^"]+)"/g)].map((m) => m[1] as string);
}

function errorCode(fn: () => unknown): string {
  try {
    fn();
  } catch (e) {
    if (isPresenceError(e)) return `${e.code} ${e.sipStatus} ${e.message}`;
    throw e;
  }
  return 'none';
}

describe('PresenceDocuments.parse: publication bodies', () => {
  const docs = new PresenceDocuments(2048);

  it('accepts the real clients\' documents', () => {
    for (const f of ['baresip-open.xml', 'baresip-open-crlf.xml', 'baresip-closed.xml', 'linphone-pidfonline-open.xml', 'prefixed-pidf-namespace-open.xml']) {
      expect(() => docs.parse(fixture(f))).not.toThrow();
    }
  });

  it.each([
    ['not-well-formed-rejected.xml'],
    ['non-pidf-root-rejected.xml'],
    ['tuple-without-id-rejected.xml'],
    ['billion-laughs-rejected.xml'],
    ['xxe-external-entity-rejected.xml'],
  ])('%s → PresenceError BAD_BODY (SIP 400) with a reason', (file) => {
    const code = errorCode(() => docs.parse(fixture(file)));
    expect(code).toMatch(/^BAD_BODY 400 \S/);
    expect(code).not.toMatch(/^BAD_BODY 400 Bad Request$/);
  });

  it('a body over max_body_size → PresenceError ENTITY_TOO_LARGE (SIP 413)', () => {
    expect(errorCode(() => docs.parse(body(tuple('t', 'open', 'x'.repeat(3000)))))).toMatch(/^ENTITY_TOO_LARGE 413/);
  });
});

describe('PresenceDocuments.compose: RFC 4479 composition of live publications', () => {
  it('two devices publishing: both tuples, oldest first, entity = the canonical presentity, PIDF unprefixed', () => {
    const docs = new PresenceDocuments(65536);
    const phone = pub(body(tuple('phone', 'open', 'on the move')), 1000);
    const desk = pub(body(tuple('desk', 'closed')), 2000);
    const c = docs.compose(AOR, [desk, phone]);
    expect(c.empty).toBe(false);
    expect(ids(c.content)).toEqual(['phone', 'desk']);
    expect(c.content).toContain(`entity="${AOR}"`);
    expect(c.content).toContain('<basic>open</basic>');
    expect(c.content).toContain('<basic>closed</basic>');
    expect(c.content).toMatch(new RegExp(`<presence [^>]*xmlns="${PIDF_NS}"`));
  });

  it('one device expired: the live list no longer has it, the document has the remaining tuple only', () => {
    const docs = new PresenceDocuments(65536);
    const phone = pub(body(tuple('phone', 'open')), 1000);
    const desk = pub(body(tuple('desk', 'open')), 2000);
    expect(ids(docs.compose(AOR, [phone, desk]).content)).toEqual(['phone', 'desk']);
    expect(ids(docs.compose(AOR, [desk]).content)).toEqual(['desk']);
  });

  it('clashing tuple ids: the newest publication wins, at the position of first appearance', () => {
    const docs = new PresenceDocuments(65536);
    const older = pub(body(tuple('same', 'open', 'older') + tuple('other', 'open')), 1000);
    const newer = pub(body(tuple('same', 'closed', 'newer')), 2000);
    const c = docs.compose(AOR, [newer, older]);
    expect(ids(c.content)).toEqual(['same', 'other']);
    expect(c.content).toContain('<note>newer</note>');
    expect(c.content).not.toContain('older');
  });

  it('unknown extensions are preserved: linphone pidfonline, acme elements and attributes, RPID, CIPID', () => {
    const docs = new PresenceDocuments(65536);
    const linphone = pub(fixture('linphone-pidfonline-open.xml'), 1000);
    const rich = pub(fixture('rich-extensions-open.xml'), 2000);
    const c = docs.compose(AOR, [linphone, rich]);
    expect(ids(c.content)).toEqual(['r95fev', 'd1']);
    const online = /<(\w+):online\/>/.exec(c.content)?.[1];
    expect(c.content).toContain(`xmlns:${online ?? '?'}="http://www.linphone.org/xsds/pidfonline.xsd"`);
    expect(c.content).toMatch(/<(\w+):presence-flag level="3">on<\/\1:presence-flag>/);
    expect(c.content).toMatch(/<(\w+):mood-ring color="blue"\/>/);
    expect(c.content).toContain('<rpid:meeting/>');
    expect(c.content).toContain('http://example.com/~dave');
    expect(c.content).toContain('<timestamp>2026-11-22T01:51:54Z</timestamp>');
  });

  it('is deterministic: the same live set in any order gives the same bytes', () => {
    const docs = new PresenceDocuments(65536);
    const a = pub(body(tuple('a', 'open'), '<dm:person id="p1"><rpid:activities><rpid:away/></rpid:activities></dm:person>'), 1000);
    const b = pub(body(tuple('b', 'closed'), '<x:thing/>'), 2000);
    expect(docs.compose(AOR, [a, b]).content).toBe(docs.compose(AOR, [b, a]).content);
  });

  it('no live publication left: a closed document with the last publication\'s tuple ids, marked empty', () => {
    const docs = new PresenceDocuments(65536);
    const last = pub(fixture('linphone-pidfonline-open.xml'), 1000);
    const c = docs.compose(AOR, [], last);
    expect(c.empty).toBe(true);
    expect(ids(c.content)).toEqual(['r95fev']);
    expect(c.content).toContain('<basic>closed</basic>');
    expect(c.content).not.toContain('<basic>open</basic>');
    expect(c.content).toContain(`entity="${AOR}"`);
    expect(c.politeContent()).toBe(c.content);
  });

  it('no live publication and no last one known: one closed tuple', () => {
    const c = new PresenceDocuments(65536).compose(AOR, []);
    expect(c.empty).toBe(true);
    expect(ids(c.content)).toHaveLength(1);
    expect(c.content).toContain('<basic>closed</basic>');
  });

  it('politeContent closes every tuple and keeps the rest (RFC 5025 polite blocking)', () => {
    const docs = new PresenceDocuments(65536);
    const c = docs.compose(AOR, [pub(body(tuple('a', 'open', 'hi') + tuple('b', 'open')), 1000)]);
    const polite = c.politeContent();
    expect(ids(polite)).toEqual(['a', 'b']);
    expect(polite).not.toContain('<basic>open</basic>');
    expect(polite).toContain('<note>hi</note>');
    expect(c.content).toContain('<basic>open</basic>');
    expect(c.politeContent()).toBe(polite);
  });
});

describe('PresenceDocuments: the parsed-body cache', () => {
  it('parses a stored body once per entity-tag; remember() saves even that', () => {
    const docs = new PresenceDocuments(65536);
    const p = pub(body(tuple('t', 'open')), 1000, 'etag-A');
    const parse = jest.spyOn(docs, 'parse');
    docs.compose(AOR, [p]);
    docs.compose(AOR, [p]);
    expect(parse).toHaveBeenCalledTimes(1);
    const q = pub(body(tuple('u', 'open')), 2000, 'etag-B');
    docs.remember(AOR, 'etag-B', docs.parse(q.body));
    parse.mockClear();
    docs.compose(AOR, [p, q]);
    expect(parse).not.toHaveBeenCalled();
  });

  it('forget() drops an entry: the next compose parses the stored body again', () => {
    const docs = new PresenceDocuments(65536);
    const p = pub(body(tuple('t', 'open')), 1000, 'etag-C');
    docs.compose(AOR, [p]);
    docs.forget(AOR, 'etag-C');
    const parse = jest.spyOn(docs, 'parse');
    docs.compose(AOR, [p]);
    expect(parse).toHaveBeenCalledTimes(1);
  });

  it('keys by presentity and entity-tag: the same entity-tag of another presentity is another document', () => {
    const docs = new PresenceDocuments(65536);
    const a = pub(body(tuple('of-a', 'open')), 1000, 'same');
    const b = { ...pub(body(tuple('of-b', 'open')), 1000, 'same'), presentity: 'sip:bob@example.com' };
    expect(ids(docs.compose(AOR, [a]).content)).toEqual(['of-a']);
    expect(ids(docs.compose('sip:bob@example.com', [b]).content)).toEqual(['of-b']);
  });

  it('stays bounded by its size, evicting the oldest entry first', () => {
    const docs = new PresenceDocuments(65536, 3);
    const pubs = [1, 2, 3, 4].map((i) => pub(body(tuple(`t${i}`, 'open')), i, `etag-${i}`));
    for (const p of pubs) docs.compose(AOR, [p]);
    const parse = jest.spyOn(docs, 'parse');
    docs.compose(AOR, [pubs[3] as Publication]);
    expect(parse).not.toHaveBeenCalled();
    docs.compose(AOR, [pubs[0] as Publication]);
    expect(parse).toHaveBeenCalledTimes(1);
    expect((docs as unknown as { cache: Map<string, unknown> }).cache.size).toBeLessThanOrEqual(3);
  });
});

describe('PresenceDocuments: the cache stays bounded on every path', () => {
  it('remember() evicts too: 1000 publications remembered (never composed, never forgotten) keep at most cacheSize entries', () => {
    // Regression: remember() inserted without the size check; a presentity without watchers is never
    // composed and a publication that expires is never forgotten, so the cache grew without bound.
    const docs = new PresenceDocuments(65536, 10);
    const parsed = docs.parse(body(tuple('t', 'open')));
    for (let i = 0; i < 1000; i++) docs.remember(`sip:user${i}@example.com`, `etag-${i}`, parsed);
    expect((docs as unknown as { cache: Map<string, unknown> }).cache.size).toBe(10);
  });
});

describe('PresenceDocuments with a stored body that no longer parses', () => {
  it('composes from the other publications instead of failing the whole fan-out', () => {
    const docs = new PresenceDocuments(65536);
    const base = { presentity: 'sip:a@x', event: 'presence', contentType: 'application/pidf+xml', source: 'sip' as const, client: null, expiresAt: 2 };
    const good = { ...base, etag: 'g', receivedAt: 1, body: '<presence xmlns="urn:ietf:params:xml:ns:pidf" entity="sip:a@x"><tuple id="ok"><status><basic>open</basic></status></tuple></presence>' };
    const bad = { ...base, etag: 'b', receivedAt: 2, body: '<presence' };
    const c = docs.compose('sip:a@x', [good, bad]);
    expect(c.content).toContain('id="ok"');
    expect(c.empty).toBe(false);
    expect(docs.compose('sip:a@x', [bad]).content).toContain('<basic>closed</basic>');
  });
});
