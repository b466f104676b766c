/**
 * PIDF (RFC 3863) with the RFC 4479 data model and RFC 4480 RPID: parse + validate, keep everything
 * (unknown extensions included) so a document can be written back faithfully, and serialize with
 * the PIDF namespace as the default one (baresip matches `<basic>open</basic>` with a regex).
 * Namespaces are matched by URI, never by prefix.
 */
import {
  attrValue, childrenNamed, el, firstChild, isElement, parseXml, serializeXml, withChanges, BodyError,
  type ParseXmlOptions, type XmlAttr, type XmlElement,
} from './xml';

export const PIDF_NS = 'urn:ietf:params:xml:ns:pidf';
export const DM_NS = 'urn:ietf:params:xml:ns:pidf:data-model';
export const RPID_NS = 'urn:ietf:params:xml:ns:pidf:rpid';
export const CAPS_NS = 'urn:ietf:params:xml:ns:pidf:caps';
export const CIPID_NS = 'urn:ietf:params:xml:ns:pidf:cipid';
export const GEOPRIV_NS = 'urn:ietf:params:xml:ns:pidf:geopriv10';

/** Stable prefixes for the namespaces presence documents usually carry. */
export const PIDF_PREFIXES: Readonly<Record<string, string>> = {
  [DM_NS]: 'dm',
  [RPID_NS]: 'rpid',
  [CAPS_NS]: 'caps',
  [CIPID_NS]: 'c',
  [GEOPRIV_NS]: 'gp',
};

export type Basic = 'open' | 'closed';

/**
 * A parsed presence document. `children` are the children of `<presence>` in document order
 * (tuples, notes, dm:person, dm:device, extensions): the single source of truth, read through the
 * helpers below. `attrs` are the other attributes of `<presence>` (not `entity`, not xmlns).
 */
export interface PidfDocument {
  readonly entity: string;
  readonly attrs: readonly XmlAttr[];
  readonly children: readonly XmlElement[];
}

/** A tuple seen through its typed fields; `element` is the whole `<tuple>`. */
export interface PidfTuple {
  readonly id: string;
  readonly basic: Basic | null;
  readonly element: XmlElement;
}

export interface ParsePidfOptions {
  readonly maxBytes?: number;
  readonly maxDepth?: number;
}

/** Parse and validate an application/pidf+xml body. Throws BodyError (BAD_BODY / ENTITY_TOO_LARGE). */
export function parsePidf(body: Buffer | string, opts: ParsePidfOptions = {}): PidfDocument {
  const root = parseXml(body, opts satisfies ParseXmlOptions);
  if (!isElement(root, PIDF_NS, 'presence')) throw new BodyError('BAD_BODY', 'root element is not PIDF presence');
  // RFC 3863 §4.1.1: "The <presence> element MUST have an 'entity' attribute."
  const entity = attrValue(root, 'entity');
  if (entity === undefined || entity.trim() === '') throw new BodyError('BAD_BODY', 'presence without entity');
  const ids = new Set<string>();
  for (const tuple of childrenNamed(root, PIDF_NS, 'tuple')) validateTuple(tuple, ids);
  const attrs = root.attrs.filter((a) => !(a.ns === null && a.local === 'entity'));
  return { entity: entity.trim(), attrs, children: root.children };
}

function validateTuple(tuple: XmlElement, ids: Set<string>): void {
  // RFC 3863 §4.1.2: "The <tuple> element MUST contain an 'id' attribute ... The value of the 'id'
  // attribute is an identifier which MUST be unique within the same presentity."
  const id = attrValue(tuple, 'id');
  if (id === undefined || id === '') throw new BodyError('BAD_BODY', 'tuple without id');
  if (ids.has(id)) throw new BodyError('BAD_BODY', 'duplicate tuple id');
  ids.add(id);
  // RFC 3863 §4.1.2: "The <tuple> element MUST contain one <status> element".
  const statuses = childrenNamed(tuple, PIDF_NS, 'status');
  if (statuses.length !== 1) throw new BodyError('BAD_BODY', 'tuple without one status');
  const basic = firstChild(statuses[0] as XmlElement, PIDF_NS, 'basic');
  // RFC 3863 §4.1.4: the <basic> element contains one of the strings "open" or "closed".
  if (basic !== undefined && basic.text.trim() !== 'open' && basic.text.trim() !== 'closed') {
    throw new BodyError('BAD_BODY', 'basic is neither open nor closed');
  }
}

/** The document as `<presence>` element (entity first, then the other attributes). */
export function presenceElement(doc: PidfDocument): XmlElement {
  return el(PIDF_NS, 'presence', { attrs: [{ ns: null, local: 'entity', value: doc.entity }, ...doc.attrs], children: doc.children });
}

/**
 * Deterministic application/pidf+xml: XML declaration, PIDF elements unprefixed in the default
 * namespace, dm/rpid/... with stable prefixes, unknown namespaces with their original (or a
 * generated) prefix, all declared on `<presence>`.
 */
export function serializePidf(doc: PidfDocument): string {
  return serializeXml(presenceElement(doc), { defaultNs: PIDF_NS, prefixes: PIDF_PREFIXES });
}

// ---- typed views ----

export function isTuple(e: XmlElement): boolean {
  return isElement(e, PIDF_NS, 'tuple');
}

export function isPerson(e: XmlElement): boolean {
  return isElement(e, DM_NS, 'person');
}

export function isDevice(e: XmlElement): boolean {
  return isElement(e, DM_NS, 'device');
}

export function isPresenceNote(e: XmlElement): boolean {
  return isElement(e, PIDF_NS, 'note');
}

export function tupleView(tuple: XmlElement): PidfTuple {
  const status = firstChild(tuple, PIDF_NS, 'status');
  const basic = status === undefined ? undefined : firstChild(status, PIDF_NS, 'basic');
  const value = basic?.text.trim();
  return { id: attrValue(tuple, 'id') ?? '', basic: value === 'open' || value === 'closed' ? value : null, element: tuple };
}

export function pidfTuples(doc: PidfDocument): PidfTuple[] {
  return doc.children.filter(isTuple).map(tupleView);
}

export function pidfPersons(doc: PidfDocument): XmlElement[] {
  return doc.children.filter(isPerson);
}

export function pidfDevices(doc: PidfDocument): XmlElement[] {
  return doc.children.filter(isDevice);
}

/** RFC 4479 §3.3 device identity: the `<dm:deviceID>` text (a URN), falling back to the element's `id`. */
export function deviceKey(device: XmlElement): string {
  const deviceId = firstChild(device, DM_NS, 'deviceID')?.text.trim();
  return deviceId !== undefined && deviceId !== '' ? `deviceID:${deviceId}` : `id:${attrValue(device, 'id') ?? ''}`;
}

/** A copy of `tuple` whose status carries `<basic>value</basic>` (inserted first when absent). */
export function tupleWithBasic(tuple: XmlElement, value: Basic): XmlElement {
  const basic = el(PIDF_NS, 'basic', { text: value });
  const status = firstChild(tuple, PIDF_NS, 'status') ?? el(PIDF_NS, 'status');
  const hasBasic = firstChild(status, PIDF_NS, 'basic') !== undefined;
  // RFC 3863 §4.4 schema: <status> is a sequence of an optional <basic> followed by extensions.
  const statusChildren = hasBasic
    ? status.children.map((c) => (isElement(c, PIDF_NS, 'basic') ? basic : c))
    : [basic, ...status.children];
  const newStatus = withChanges(status, { children: statusChildren, text: '' });
  const hasStatus = firstChild(tuple, PIDF_NS, 'status') !== undefined;
  const children = hasStatus
    ? tuple.children.map((c) => (isElement(c, PIDF_NS, 'status') ? newStatus : c))
    : [newStatus, ...tuple.children];
  return withChanges(tuple, { children });
}

/** Build a minimal tuple `<tuple id><status><basic/></status></tuple>`. */
export function basicTuple(id: string, value: Basic, extra: readonly XmlElement[] = []): XmlElement {
  const status = el(PIDF_NS, 'status', { children: [el(PIDF_NS, 'basic', { text: value })] });
  return el(PIDF_NS, 'tuple', { attrs: [{ ns: null, local: 'id', value: id }], children: [status, ...extra] });
}
