/**
 * RFC 4479 composition: the live publications of one presentity become one document.
 * RFC 4479 §2: composition is "the act of combining a set of presence and event data about a
 * presentity into a coherent picture of the state of that presentity"; the policy is the
 * compositor's. Herald's policy, deterministic for equal input:
 *   - publications are ordered by `receivedAt` (equal times: later in the array is newer);
 *   - tuples are keyed by `id`: the newest publication wins a clash, but a tuple keeps the position of
 *     its first appearance (oldest publication first, document order within one);
 *   - `dm:person`: one person in the result, merged child by child from oldest to newest: a newer
 *     person's children replace the older children of the same name (all of them, as a group), other
 *     children stay; attributes and id are the newest person's;
 *   - `dm:device` keyed by `<dm:deviceID>` (else `id`), newest wins, position of first appearance;
 *   - top-level `<note>`s and other extensions are carried through, newest publication first,
 *     exact duplicates dropped;
 *   - output order follows the RFC 3863 §4.4 schema (tuple*, note*, then other namespaces):
 *     tuples, notes, the person, devices, other extensions.
 */
import { sameElement, withChanges, type XmlElement } from './xml';
import {
  basicTuple, deviceKey, isDevice, isPerson, isPresenceNote, isTuple, pidfTuples, tupleView, tupleWithBasic,
  type Basic, type PidfDocument,
} from './pidf';

export interface LivePublication {
  readonly body: PidfDocument;
  readonly receivedAt: number;
}

/** Tuple id used when nothing was ever published (an xs:ID, so it starts with a letter). */
export const CLOSED_TUPLE_ID = 'closed';

export function composePidf(entity: string, publications: readonly LivePublication[]): PidfDocument {
  const oldestFirst = publications
    .map((p, index) => ({ p, index }))
    .sort((a, b) => a.p.receivedAt - b.p.receivedAt || a.index - b.index)
    .map(({ p }) => p.body);
  const tuples = new KeyedNewestWins();
  const devices = new KeyedNewestWins();
  let person: XmlElement | undefined;
  for (const doc of oldestFirst) {
    for (const child of doc.children) {
      if (isTuple(child)) tuples.put(tupleView(child).id, child);
      else if (isDevice(child)) devices.put(deviceKey(child), child);
      else if (isPerson(child)) person = person === undefined ? child : mergePerson(person, child);
    }
  }
  const newestFirst = [...oldestFirst].reverse();
  const notes = distinct(newestFirst.flatMap((d) => d.children.filter(isPresenceNote)));
  const others = distinct(newestFirst.flatMap((d) => d.children.filter(isOtherExtension)));
  const children = [...tuples.values(), ...notes, ...(person === undefined ? [] : [person]), ...devices.values(), ...others];
  return { entity, attrs: [], children };
}

/**
 * The document for "nothing is published" (the last publication expired or was removed): every
 * tuple of `last` with basic `closed` — its id and status only; contact, notes, person, devices
 * and extensions are dropped, since nothing vouches for them any more — or, without `last`, one
 * closed tuple.
 */
export function closedPidf(entity: string, last?: PidfDocument): PidfDocument {
  const ids = last === undefined ? [] : pidfTuples(last).map((t) => t.id);
  const tuples = (ids.length > 0 ? ids : [CLOSED_TUPLE_ID]).map((id) => basicTuple(id, 'closed'));
  return { entity, attrs: [], children: tuples };
}

/** A copy of `doc` whose every tuple has `<basic>` set to `basic` (polite block, HTTP "hide"). */
export function withBasic(doc: PidfDocument, basic: Basic): PidfDocument {
  return { ...doc, children: doc.children.map((c) => (isTuple(c) ? tupleWithBasic(c, basic) : c)) };
}

function isOtherExtension(e: XmlElement): boolean {
  return !isTuple(e) && !isPresenceNote(e) && !isPerson(e) && !isDevice(e);
}

/** Person merge: children of `newer` replace same-named groups of `older`; newer's attributes (id). */
function mergePerson(older: XmlElement, newer: XmlElement): XmlElement {
  const key = (e: XmlElement): string => `${e.ns ?? ''} ${e.local}`;
  const replaced = new Set(newer.children.map(key));
  const kept = older.children.filter((c) => !replaced.has(key(c)));
  return withChanges(newer, { children: [...kept, ...newer.children] });
}

function distinct(elements: readonly XmlElement[]): XmlElement[] {
  const out: XmlElement[] = [];
  for (const e of elements) if (!out.some((o) => sameElement(o, e))) out.push(e);
  return out;
}

/** Map keyed by id: a later `put` replaces the value but keeps the first insertion position. */
class KeyedNewestWins {
  private readonly map = new Map<string, XmlElement>();

  put(key: string, value: XmlElement): void {
    this.map.set(key, value); // Map keeps the original insertion order on overwrite
  }

  values(): XmlElement[] {
    return [...this.map.values()];
  }
}
