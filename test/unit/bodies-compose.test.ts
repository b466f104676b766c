import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { firstChild, type XmlElement } from '../../src/bodies/xml';
import { parsePidf, serializePidf, pidfTuples, pidfPersons, pidfDevices, DM_NS, PIDF_NS, RPID_NS } from '../../src/bodies/pidf';
import { composePidf, closedPidf, withBasic, CLOSED_TUPLE_ID } from '../../src/bodies/compose';

const fixture = (name: string): Buffer => readFileSync(join(__dirname, '../fixtures/pidf', name));
const ENTITY = 'sip:alice@example.com';
const NS = `xmlns="${PIDF_NS}" xmlns:dm="${DM_NS}" xmlns:rpid="${RPID_NS}"`;

function doc(inner: string, entity = 'sip:alice@192.0.2.1:5060'): ReturnType<typeof parsePidf> {
  return parsePidf(`<presence ${NS} entity="${entity}">${inner}</presence>`);
}

function tuple(id: string, basic: 'open' | 'closed', contact = `sip:${id}@192.0.2.1`): string {
  return `<tuple id="${id}"><status><basic>${basic}</basic></status><contact>${contact}</contact></tuple>`;
}

function device(id: string, deviceId: string, extra = ''): string {
  return `<dm:device id="${id}"><dm:deviceID>${deviceId}</dm:deviceID>${extra}</dm:device>`;
}

const tupleSummary = (d: ReturnType<typeof parsePidf>): string[][] =>
  pidfTuples(d).map((t) => [t.id, t.basic ?? '', firstChild(t.element, PIDF_NS, 'contact')?.text ?? '']);

describe('compose: RFC 4479 composition of live publications', () => {
  const desk = { body: doc(tuple('desk', 'open') + device('d1', 'urn:uuid:1')), receivedAt: 1000 };
  const mobile = { body: doc(tuple('mobile', 'closed') + device('d2', 'urn:uuid:2')), receivedAt: 2000 };

  it('composes two devices publishing into one document with both tuples and both devices', () => {
    const composed = composePidf(ENTITY, [mobile, desk]);
    expect(composed.entity).toBe(ENTITY);
    expect(tupleSummary(composed)).toEqual([['desk', 'open', 'sip:desk@192.0.2.1'], ['mobile', 'closed', 'sip:mobile@192.0.2.1']]);
    expect(pidfDevices(composed).map((d) => firstChild(d, DM_NS, 'deviceID')?.text)).toEqual(['urn:uuid:1', 'urn:uuid:2']);
  });

  it('composes from the remaining publication once the other expired', () => {
    const composed = composePidf(ENTITY, [mobile]);
    expect(tupleSummary(composed)).toEqual([['mobile', 'closed', 'sip:mobile@192.0.2.1']]);
    expect(pidfDevices(composed)).toHaveLength(1);
  });

  it('lets the newest publication win a tuple id clash, at the position of first appearance', () => {
    const old = { body: doc(tuple('t1', 'open', 'sip:old@x') + tuple('t2', 'open')), receivedAt: 1 };
    const newer = { body: doc(tuple('t1', 'closed', 'sip:new@x')), receivedAt: 2 };
    expect(tupleSummary(composePidf(ENTITY, [newer, old]))).toEqual([['t1', 'closed', 'sip:new@x'], ['t2', 'open', 'sip:t2@192.0.2.1']]);
    expect(tupleSummary(composePidf(ENTITY, [old, newer]))).toEqual([['t1', 'closed', 'sip:new@x'], ['t2', 'open', 'sip:t2@192.0.2.1']]);
  });

  it('breaks a receivedAt tie by array order (later entry is newer)', () => {
    const a = { body: doc(tuple('t', 'open')), receivedAt: 5 };
    const b = { body: doc(tuple('t', 'closed')), receivedAt: 5 };
    expect(pidfTuples(composePidf(ENTITY, [a, b]))[0]?.basic).toBe('closed');
    expect(pidfTuples(composePidf(ENTITY, [b, a]))[0]?.basic).toBe('open');
  });

  it('merges persons into one: newest children win by name, other children stay, newest id kept', () => {
    const older = { body: doc(`${tuple('a', 'open')}<dm:person id="p-old"><rpid:activities><rpid:busy/></rpid:activities><dm:note>old note</dm:note></dm:person>`), receivedAt: 1 };
    const newer = { body: doc(`${tuple('b', 'open')}<dm:person id="p-new"><rpid:activities><rpid:away/></rpid:activities></dm:person>`), receivedAt: 2 };
    const persons = pidfPersons(composePidf(ENTITY, [older, newer]));
    expect(persons).toHaveLength(1);
    const person = persons[0] as XmlElement;
    expect(person.attrs[0]?.value).toBe('p-new');
    expect(person.children.map((c) => c.local)).toEqual(['note', 'activities']);
    expect(firstChild(person, RPID_NS, 'activities')?.children.map((c) => c.local)).toEqual(['away']);
  });

  it('keys devices by deviceID, newest wins', () => {
    const older = { body: doc(device('d1', 'urn:uuid:1', '<dm:note>old</dm:note>')), receivedAt: 1 };
    const newer = { body: doc(device('d9', 'urn:uuid:1', '<dm:note>new</dm:note>')), receivedAt: 2 };
    const devices = pidfDevices(composePidf(ENTITY, [older, newer]));
    expect(devices.map((d) => [d.attrs[0]?.value, firstChild(d, DM_NS, 'note')?.text])).toEqual([['d9', 'new']]);
  });

  it('carries notes and unknown extensions through, newest first, without exact duplicates', () => {
    const a = { body: doc(`${tuple('a', 'open')}<note>at lunch</note><x:flag xmlns:x="urn:x">1</x:flag>`), receivedAt: 1 };
    const b = { body: doc(`${tuple('b', 'open')}<note>in a call</note><note>at lunch</note><x:flag xmlns:x="urn:x">1</x:flag>`), receivedAt: 2 };
    const composed = composePidf(ENTITY, [a, b]);
    const notes = composed.children.filter((c) => c.local === 'note').map((c) => c.text);
    expect(notes).toEqual(['in a call', 'at lunch']);
    expect(composed.children.filter((c) => c.ns === 'urn:x')).toHaveLength(1);
  });

  it('orders the result deterministically: tuples, notes, person, devices, other extensions', () => {
    const a = { body: doc(`<x:ext xmlns:x="urn:x"/>${device('d', 'urn:uuid:d')}<dm:person id="p"/>${tuple('a', 'open')}<note>n</note>`), receivedAt: 1 };
    const b = { body: parsePidf(fixture('linphone-pidfonline-open.xml')), receivedAt: 2 };
    const composed = composePidf(ENTITY, [b, a]);
    expect(composed.children.map((c) => c.local)).toEqual(['tuple', 'tuple', 'note', 'person', 'device', 'ext']);
    expect(serializePidf(composePidf(ENTITY, [a, b]))).toBe(serializePidf(composed));
  });

  it('composes the real baresip and linphone documents into a document baresip reads as open', () => {
    const composed = composePidf(ENTITY, [
      { body: parsePidf(fixture('baresip-closed.xml')), receivedAt: 1 },
      { body: parsePidf(fixture('linphone-pidfonline-open.xml')), receivedAt: 2 },
    ]);
    const xml = serializePidf(composed);
    expect(xml).toContain('<basic>open</basic>');
    expect(xml).toContain('<basic>closed</basic>');
    expect(xml).toContain('<pidfonline:online/>');
    expect(xml).toContain(`entity="${ENTITY}"`);
  });

  it('returns a document without tuples when nothing is live', () => {
    expect(composePidf(ENTITY, [])).toEqual({ entity: ENTITY, attrs: [], children: [] });
  });
});

describe('compose: closed and hidden documents', () => {
  it('closes every tuple of the last publication, keeping only id and status', () => {
    const last = parsePidf(fixture('linphone-pidfonline-open.xml'));
    const closed = closedPidf(ENTITY, last);
    expect(closed.entity).toBe(ENTITY);
    expect(pidfTuples(closed).map((t) => [t.id, t.basic])).toEqual([['r95fev', 'closed']]);
    const xml = serializePidf(closed);
    expect(xml).not.toContain('contact');
    expect(xml).toBe(
      '<?xml version="1.0" encoding="UTF-8"?>\n' +
        `<presence xmlns="${PIDF_NS}" entity="${ENTITY}">\n  <tuple id="r95fev">\n    <status>\n      <basic>closed</basic>\n    </status>\n  </tuple>\n</presence>`,
    );
  });

  it('produces one closed tuple when there is no last publication', () => {
    expect(pidfTuples(closedPidf(ENTITY)).map((t) => [t.id, t.basic])).toEqual([[CLOSED_TUPLE_ID, 'closed']]);
    expect(pidfTuples(closedPidf(ENTITY, parsePidf(`<presence xmlns="${PIDF_NS}" entity="sip:a@b"/>`)))).toHaveLength(1);
  });

  it('withBasic closes every tuple and keeps everything else, without touching the input', () => {
    const original = parsePidf(fixture('rich-extensions-open.xml'));
    const before = serializePidf(original);
    const hidden = withBasic(original, 'closed');
    expect(pidfTuples(hidden).map((t) => t.basic)).toEqual(['closed']);
    expect(serializePidf(hidden)).toBe(before.replace('<basic>open</basic>', '<basic>closed</basic>'));
    expect(serializePidf(original)).toBe(before);
  });

  it('withBasic inserts basic first in a status that had none', () => {
    const d = withBasic(doc('<tuple id="t"><status><x:y xmlns:x="urn:x"/></status></tuple>'), 'closed');
    const status = firstChild(pidfTuples(d)[0]?.element as XmlElement, PIDF_NS, 'status') as XmlElement;
    expect(status.children.map((c) => c.local)).toEqual(['basic', 'y']);
  });
});
