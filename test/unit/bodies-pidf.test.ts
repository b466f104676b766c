import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { BodyError, firstChild, type XmlElement } from '../../src/bodies/xml';
import {
  parsePidf, serializePidf, pidfTuples, pidfPersons, pidfDevices, deviceKey, DM_NS, PIDF_NS, RPID_NS, type PidfDocument,
} from '../../src/bodies/pidf';

const fixture = (name: string): Buffer => readFileSync(join(__dirname, '../fixtures/pidf', name));
const LINPHONE_NS = 'http://www.linphone.org/xsds/pidfonline.xsd';

function reason(fn: () => unknown): string {
  try {
    fn();
  } catch (e) {
    if (e instanceof BodyError) return `${e.code}: ${e.reason}`;
    throw e;
  }
  return 'nothing thrown';
}

describe('pidf: real client documents parse', () => {
  it.each([
    ['baresip-open.xml', 'sip:alice-4d40316d@127.0.0.1:5080', 't4109', 'open'],
    ['baresip-open-crlf.xml', 'sip:alice-4d40316d@127.0.0.1:5080', 't4109', 'open'],
    ['baresip-closed.xml', 'sip:alice-4d40316d@127.0.0.1:5080', 't4109', 'closed'],
    ['linphone-pidfonline-open.xml', 'sip:alice-570a755c@127.0.0.1:5080', 'r95fev', 'open'],
    ['kamailio-notify-baresip-open.xml', 'sip:alice-4d40316d@127.0.0.1:5080', 't4109', 'open'],
    ['kamailio-notify-baresip-closed-last-tuple.xml', 'sip:alice-4d40316d@127.0.0.1:5080', 't4109', 'closed'],
    ['kamailio-notify-linphone-closed-last-tuple.xml', 'sip:alice-570a755c@127.0.0.1:5080', 'r95fev', 'closed'],
  ])('parses %s: entity, one tuple, basic', (name, entity, id, basic) => {
    const doc = parsePidf(fixture(name));
    expect(doc.entity).toBe(entity);
    expect(pidfTuples(doc).map((t) => [t.id, t.basic])).toEqual([[id, basic]]);
  });

  it("keeps baresip's dm:person with its empty rpid:activities", () => {
    const [person] = pidfPersons(parsePidf(fixture('baresip-open.xml')));
    expect(person?.attrs).toEqual([{ ns: null, local: 'id', prefix: null, value: 'p4159' }]);
    expect(person?.children.map((c) => [c.ns, c.local])).toEqual([[RPID_NS, 'activities']]);
  });

  it("keeps linphone's pidfonline:online, contact priority and timestamp", () => {
    const [tuple] = pidfTuples(parsePidf(fixture('linphone-pidfonline-open.xml')));
    const el = tuple?.element as XmlElement;
    const status = firstChild(el, PIDF_NS, 'status') as XmlElement;
    expect(status.children.map((c) => [c.ns, c.local])).toEqual([[PIDF_NS, 'basic'], [LINPHONE_NS, 'online']]);
    expect(firstChild(el, PIDF_NS, 'contact')?.attrs[0]).toMatchObject({ local: 'priority', value: '0.8' });
    expect(firstChild(el, PIDF_NS, 'timestamp')?.text).toBe('2026-11-22T01:51:54Z');
  });
});

describe('pidf: namespaces are matched by URI, not prefix', () => {
  it('accepts PIDF written under the prefix p:', () => {
    const doc = parsePidf(fixture('prefixed-pidf-namespace-open.xml'));
    expect(pidfTuples(doc).map((t) => [t.id, t.basic])).toEqual([['c1', 'open']]);
    expect(pidfPersons(doc)).toHaveLength(1);
  });

  it('rejects presence/tuple/basic in a foreign namespace', () => {
    expect(reason(() => parsePidf(fixture('wrong-namespace-right-names-rejected.xml')))).toBe('BAD_BODY: root element is not PIDF presence');
  });

  it('does not count a foreign-namespace tuple as a PIDF tuple', () => {
    const doc = parsePidf(`<presence xmlns="${PIDF_NS}" xmlns:x="urn:x" entity="sip:a@b"><x:tuple/></presence>`);
    expect(pidfTuples(doc)).toEqual([]);
    expect(doc.children).toHaveLength(1);
  });
});

describe('pidf: validation', () => {
  it.each([
    ['non-pidf-root-rejected.xml', 'BAD_BODY: root element is not PIDF presence'],
    ['tuple-without-id-rejected.xml', 'BAD_BODY: tuple without id'],
    ['tuple-without-status-rejected.xml', 'BAD_BODY: tuple without one status'],
    ['presence-without-entity-rejected.xml', 'BAD_BODY: presence without entity'],
    ['basic-neither-open-nor-closed-rejected.xml', 'BAD_BODY: basic is neither open nor closed'],
    ['xxe-external-entity-rejected.xml', 'BAD_BODY: DTD not allowed'],
    ['billion-laughs-rejected.xml', 'BAD_BODY: DTD not allowed'],
    ['invalid-utf8-rejected.xml', 'BAD_BODY: invalid UTF-8'],
  ])('rejects %s', (name, expected) => {
    expect(reason(() => parsePidf(fixture(name)))).toBe(expected);
  });

  it('rejects two tuples with the same id', () => {
    const body = `<presence xmlns="${PIDF_NS}" entity="sip:a@b"><tuple id="t"><status/></tuple><tuple id="t"><status/></tuple></presence>`;
    expect(reason(() => parsePidf(body))).toBe('BAD_BODY: duplicate tuple id');
  });

  it('accepts a status without basic and a presence without tuples', () => {
    expect(pidfTuples(parsePidf(`<presence xmlns="${PIDF_NS}" entity="sip:a@b"><tuple id="t"><status/></tuple></presence>`))[0]?.basic).toBeNull();
    expect(parsePidf(`<presence xmlns="${PIDF_NS}" entity="sip:a@b"/>`).children).toEqual([]);
  });

  it('honours maxBytes with ENTITY_TOO_LARGE', () => {
    expect(reason(() => parsePidf(fixture('linphone-pidfonline-open.xml'), { maxBytes: 516 }))).toMatch(/^ENTITY_TOO_LARGE/);
    expect(() => parsePidf(fixture('linphone-pidfonline-open.xml'), { maxBytes: 517 })).not.toThrow();
  });
});

describe('pidf: serialization', () => {
  it('writes PIDF elements unprefixed, so baresip finds <basic>open</basic> literally', () => {
    for (const name of ['baresip-open.xml', 'linphone-pidfonline-open.xml', 'prefixed-pidf-namespace-open.xml']) {
      const xml = serializePidf(parsePidf(fixture(name)));
      expect(xml).toMatch(/<basic>open<\/basic>/);
      expect(xml).toMatch(/^<\?xml version="1\.0" encoding="UTF-8"\?>\n<presence xmlns="urn:ietf:params:xml:ns:pidf"/);
    }
  });

  it('uses the stable prefixes dm and rpid whatever the publisher called them', () => {
    const xml = serializePidf(parsePidf(fixture('prefixed-pidf-namespace-open.xml')));
    expect(xml).toContain(`xmlns:dm="${DM_NS}"`);
    expect(xml).toContain(`xmlns:rpid="${RPID_NS}"`);
    expect(xml).toContain('<dm:person id="cp1">');
    expect(xml).toContain('<rpid:on-the-phone/>');
    expect(xml).toContain('<note xml:lang="en">Tom &amp; Jerry &lt;3</note>');
  });

  it('keeps original prefixes of unknown namespaces and generates one when the original is taken', () => {
    const body = `<presence xmlns="${PIDF_NS}" xmlns:dm="urn:not-data-model" entity="sip:a@b"><dm:x/><y xmlns="urn:y"/></presence>`;
    const xml = serializePidf(parsePidf(body));
    expect(xml).toContain('xmlns:ns1="urn:not-data-model"');
    expect(xml).toContain('xmlns:ns2="urn:y"');
    expect(xml).toContain('<ns1:x/>');
    expect(xml).toContain('<ns2:y/>');
  });

  it('preserves unknown extensions through parse → serialize → parse', () => {
    for (const name of ['rich-extensions-open.xml', 'linphone-pidfonline-open.xml', 'kamailio-notify-linphone-closed-last-tuple.xml', 'baresip-open-crlf.xml']) {
      const once = parsePidf(fixture(name));
      const twice = parsePidf(serializePidf(once));
      expect(stripPrefixes(twice)).toEqual(stripPrefixes(once));
    }
  });

  it('keeps the unknown acme extension elements and attributes of the rich document', () => {
    const xml = serializePidf(parsePidf(fixture('rich-extensions-open.xml')));
    expect(xml).toContain('<acme:presence-flag level="3">on</acme:presence-flag>');
    expect(xml).toContain('<acme:battery acme2:unit="percent">80</acme:battery>');
    expect(xml).toContain('<acme:mood-ring color="blue"/>');
    expect(deviceKey(pidfDevices(parsePidf(xml))[0] as XmlElement)).toBe('deviceID:urn:uuid:d0d0d0d0-0000-4000-8000-000000000001');
  });

  it('is deterministic and idempotent: serialize(parse(serialize(d))) === serialize(d)', () => {
    const first = serializePidf(parsePidf(fixture('rich-extensions-open.xml')));
    expect(serializePidf(parsePidf(first))).toBe(first);
    expect(serializePidf(parsePidf(fixture('rich-extensions-open.xml')))).toBe(first);
  });

  it('escapes entity and attribute values', () => {
    const doc: PidfDocument = { entity: 'sip:"a"&<b>@c', attrs: [], children: [] };
    const xml = serializePidf(doc);
    expect(xml).toContain('entity="sip:&quot;a&quot;&amp;&lt;b&gt;@c"');
    expect(parsePidf(xml).entity).toBe('sip:"a"&<b>@c');
  });
});

/** Prefixes are serialization hints; equality of documents is by namespace URI. */
function stripPrefixes(doc: PidfDocument): unknown {
  const strip = (e: XmlElement): unknown => ({
    ns: e.ns, local: e.local, text: e.text,
    attrs: e.attrs.map((a) => ({ ns: a.ns, local: a.local, value: a.value })),
    children: e.children.map(strip),
  });
  return { entity: doc.entity, attrs: doc.attrs.map((a) => [a.ns, a.local, a.value]), children: doc.children.map(strip) };
}
