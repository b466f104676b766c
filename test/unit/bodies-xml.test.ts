import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { BodyError, parseXml, serializeXml, escapeAttr, escapeText, XML_NS, type XmlElement } from '../../src/bodies/xml';
import { parsePidf } from '../../src/bodies/pidf';

const fixture = (name: string): Buffer => readFileSync(join(__dirname, '../fixtures/pidf', name));
const PIDF = 'urn:ietf:params:xml:ns:pidf';

function bodyError(fn: () => unknown): BodyError {
  try {
    fn();
  } catch (e) {
    if (e instanceof BodyError) return e;
    throw new Error(`expected BodyError, got ${String(e)}`, { cause: e });
  }
  throw new Error('expected BodyError, nothing thrown');
}

function timed<T>(fn: () => T): { value: T; ms: number } {
  const t0 = process.hrtime.bigint();
  const value = fn();
  return { value, ms: Number(process.hrtime.bigint() - t0) / 1e6 };
}

function nested(depth: number): string {
  return `<presence xmlns="${PIDF}" entity="sip:a@b">` + '<x>'.repeat(depth - 1) + '</x>'.repeat(depth - 1) + '</presence>';
}

describe('xml: hostile input is rejected with BodyError, quickly', () => {
  it.each([
    ['xxe-external-entity-rejected.xml', 'DTD not allowed'],
    ['billion-laughs-rejected.xml', 'DTD not allowed'],
    ['entity-without-dtd-rejected.xml', 'not well-formed XML: undeclared entity reference'],
    ['invalid-utf8-rejected.xml', 'invalid UTF-8'],
    ['not-well-formed-rejected.xml', 'not well-formed XML'],
    ['unbound-prefix-rejected.xml', 'unbound namespace prefix'],
  ])('rejects %s as BAD_BODY (%s)', (name, reason) => {
    const { value: e, ms } = timed(() => bodyError(() => parseXml(fixture(name))));
    expect(e.code).toBe('BAD_BODY');
    expect(e.reason).toContain(reason);
    expect(ms).toBeLessThan(100);
  });

  it('rejects a 100k-deep document by depth, before any recursion, without stack overflow', () => {
    const deep = nested(100_000);
    const { value: e, ms } = timed(() => bodyError(() => parseXml(deep, { maxBytes: 10_000_000 })));
    expect(e.code).toBe('BAD_BODY');
    expect(e.reason).toBe('XML nested deeper than 64');
    expect(ms).toBeLessThan(100);
  });

  it('rejects the same 100k-deep document as ENTITY_TOO_LARGE under the default size bound', () => {
    const e = bodyError(() => parseXml(Buffer.from(nested(100_000))));
    expect(e.code).toBe('ENTITY_TOO_LARGE');
  });

  it('accepts nesting of exactly maxDepth and rejects one more', () => {
    expect(() => parseXml(nested(64))).not.toThrow();
    expect(bodyError(() => parseXml(nested(65))).reason).toBe('XML nested deeper than 64');
    expect(bodyError(() => parseXml(nested(5), { maxDepth: 4 })).code).toBe('BAD_BODY');
  });

  it('maps a body over maxBytes to ENTITY_TOO_LARGE, counting UTF-8 bytes of strings', () => {
    const doc = `<a>${'é'.repeat(60)}</a>`; // 67 chars, 127 bytes
    expect(bodyError(() => parseXml(doc, { maxBytes: 100 })).code).toBe('ENTITY_TOO_LARGE');
    expect(bodyError(() => parseXml(Buffer.from(doc), { maxBytes: 100 })).code).toBe('ENTITY_TOO_LARGE');
    expect(parseXml(doc, { maxBytes: 127 }).local).toBe('a');
  });

  it.each([
    ['a DOCTYPE without entities', '<!DOCTYPE a><a/>'],
    ['a lower-case doctype', '<!doctype a><a/>'],
    ['two root elements', '<a/><b/>'],
    ['text after the root', '<a/>tail'],
    ['a control character', '<a>\u0001</a>'],
    ['a lone surrogate in a string', '<a>\uD800</a>'],
    ['an illegal character reference', '<a>&#0;</a>'],
    ['a bare ampersand', '<a>fish & chips</a>'],
    ['a < in an attribute value', '<a b="<"/>'],
    ['a duplicate attribute through two prefixes', '<a xmlns:p="u" xmlns:q="u" p:x="1" q:x="2"/>'],
    ['a name with two colons', '<a:b:c xmlns:a="u"/>'],
    ['an undeclared prefix', '<p:a/>'],
    ['an empty prefixed declaration', '<p:a xmlns:p=""/>'],
    ['rebinding the xml prefix', '<a xmlns:xml="urn:x"/>'],
    ['a __proto__ attribute', '<a __proto__="1"/>'],
    ['a non-UTF-8 encoding declaration', '<?xml version="1.0" encoding="ISO-8859-1"?><a/>'],
    ['an empty body', ''],
    ['a markup declaration outside a DTD', '<a><!ELEMENT x ANY></a>'],
    ['a prototype attribute (refused by fast-xml-parser)', '<a prototype="1"/>'],
  ])('rejects %s as BAD_BODY', (_what, doc) => {
    expect(bodyError(() => parseXml(doc)).code).toBe('BAD_BODY');
  });
});

describe('xml: namespaces are resolved by URI with scoping', () => {
  it('resolves default and prefixed declarations, nearest declaration wins', () => {
    const root = parseXml('<a xmlns="urn:1" xmlns:p="urn:2"><p:b><c xmlns="urn:3"><d/></c></p:b><e xmlns=""/></a>');
    const b = root.children[0] as XmlElement;
    const c = b.children[0] as XmlElement;
    expect([root.ns, b.ns, c.ns, c.children[0]?.ns, root.children[1]?.ns]).toEqual(['urn:1', 'urn:2', 'urn:3', 'urn:3', null]);
    expect(b.prefix).toBe('p');
  });

  it('gives unprefixed attributes no namespace and prefixed ones their prefix URI; xml: is predefined', () => {
    const root = parseXml('<a xmlns="urn:1" xmlns:p="urn:2" x="1" p:y="2" xml:lang="en"/>');
    expect(root.attrs.map((a) => [a.ns, a.local, a.value])).toEqual([[null, 'x', '1'], ['urn:2', 'y', '2'], [XML_NS, 'lang', 'en']]);
  });

  it('decodes the five predefined entities and character references, leaves CDATA raw, normalizes CRLF', () => {
    const root = parseXml('<a t="x&#10;y&quot;"><b>&lt;&amp;&gt;&apos;&#x263A;&#65;</b><c><![CDATA[&amp;<]]></c><d>1\r\n2</d></a>');
    expect(root.attrs[0]?.value).toBe('x\ny"');
    expect(root.children.map((c) => c.text)).toEqual(["<&>'☺A", '&amp;<', '1\n2']);
  });

  it('keeps names fast-xml-parser treats as dangerous (toString, valueOf) exactly, distinct from __-prefixed ones', () => {
    const root = parseXml('<a toString="1" __toString="2"><valueOf/><__valueOf/></a>');
    expect(root.attrs.map((a) => a.local)).toEqual(['toString', '__toString']);
    expect(root.children.map((c) => c.local)).toEqual(['valueOf', '__valueOf']);
  });

  it('accepts a UTF-8 BOM', () => {
    expect(parseXml(Buffer.concat([Buffer.from([0xef, 0xbb, 0xbf]), Buffer.from('<a/>')])).local).toBe('a');
  });
});

describe('xml: writing', () => {
  it('escapes text and attribute values so they read back identically', () => {
    const nasty = 'a & b < c > d " e \' f\tg\nh\ri ]]>';
    const root: XmlElement = { ns: 'urn:1', local: 'a', attrs: [{ ns: null, local: 'v', value: nasty }], children: [], text: nasty };
    const xml = serializeXml(root, { defaultNs: 'urn:1' });
    const back = parseXml(xml);
    expect(back.attrs[0]?.value).toBe(nasty);
    expect(back.text).toBe(nasty);
    expect(escapeText('<&>')).toBe('&lt;&amp;&gt;');
    expect(escapeAttr('"')).toBe('&quot;');
  });

  it('drops characters XML cannot carry instead of writing a broken document', () => {
    expect(escapeText('a\u0000b\u001Fc')).toBe('abc');
    expect(escapeAttr('x\uD800y\uDC00z\uFFFE')).toBe('xyz');
    expect(escapeText('emoji \u{1F600} stays')).toBe('emoji \u{1F600} stays');
  });

  it('re-declares the default namespace for an element in no namespace and back', () => {
    const inner: XmlElement = { ns: 'urn:1', local: 'c', attrs: [], children: [], text: 'x' };
    const none: XmlElement = { ns: null, local: 'b', attrs: [], children: [inner], text: '' };
    const root: XmlElement = { ns: 'urn:1', local: 'a', attrs: [], children: [none], text: '' };
    const xml = serializeXml(root, { defaultNs: 'urn:1', indent: false });
    expect(xml).toContain('<a xmlns="urn:1"><b xmlns=""><c xmlns="urn:1">x</c></b></a>');
    expect(parsePidfLike(xml)).toEqual(['urn:1', null, 'urn:1']);
  });
});

function parsePidfLike(xml: string): Array<string | null> {
  const a = parseXml(xml);
  const b = a.children[0] as XmlElement;
  return [a.ns, b.ns, b.children[0]?.ns ?? null];
}

describe('xml: hostile PIDF fixtures through parsePidf', () => {
  it('rejects the XXE document without reading any file', () => {
    const e = bodyError(() => parsePidf(fixture('xxe-external-entity-rejected.xml')));
    expect(e).toMatchObject({ code: 'BAD_BODY', reason: 'DTD not allowed' });
  });
});
