/**
 * A small typed status model over PIDF + RPID (RFC 4480) for the HTTP API, and its inverse.
 *
 * Mapping of RFC 4480 §3.2 activities (decided here, documented for API users):
 *   busy — busy, on-the-phone, meeting, performance, presentation, worship
 *          (the person is there but should not be disturbed);
 *   away — away, appointment, vacation, sleeping, steering, travel, holiday, lunch, meal,
 *          breakfast, dinner, in-transit, permanent-absence (the person is not at hand);
 *   anything else (playing, shopping, working, tv, spectator, looking-for-work, unknown, or
 *   none) leaves the status `online`. Busy wins over away when both are present.
 * `offline` whenever no tuple is open, whatever the activities say.
 */
import { BodyError, descendantsNamed, el, type XmlElement } from './xml';
import { basicTuple, presenceElement, serializePidf, pidfTuples, DM_NS, PIDF_NS, RPID_NS, type PidfDocument } from './pidf';

export type PresenceStatus = 'online' | 'busy' | 'away' | 'offline';

export interface StatusSummary {
  readonly basic: 'open' | 'closed';
  /** RPID activity names (local names, `rpid:other` as its text), document order, no duplicates. */
  readonly activities: string[];
  readonly note: string | null;
  readonly status: PresenceStatus;
}

export interface StatusInput {
  readonly status: PresenceStatus | 'hide';
  readonly note?: string;
  /** The tuple's id: an xs:ID (letter or `_` first), stable per client so refreshes replace it. */
  readonly tupleId: string;
  /** xs:dateTime, e.g. `2026-11-22T01:51:54Z`. */
  readonly timestamp?: string;
}

export const BUSY_ACTIVITIES: ReadonlySet<string> = new Set(['busy', 'on-the-phone', 'meeting', 'performance', 'presentation', 'worship']);
export const AWAY_ACTIVITIES: ReadonlySet<string> = new Set([
  'away', 'appointment', 'vacation', 'sleeping', 'steering', 'travel', 'holiday', 'lunch', 'meal',
  'breakfast', 'dinner', 'in-transit', 'permanent-absence',
]);

/** xs:ID is an NCName: the tuple id must be one for the document to be valid. */
const XS_ID = /^[A-Za-z_][\w.-]*$/;

export function statusOf(doc: PidfDocument): StatusSummary {
  // RFC 3863 §4.1.4: "open" means the tuple is ready to accept communication, "closed" that it is not.
  const basic = pidfTuples(doc).some((t) => t.basic === 'open') ? 'open' : 'closed';
  const activities = activitiesOf(doc);
  const note = noteOf(doc);
  return { basic, activities, note, status: basic === 'closed' ? 'offline' : statusFromActivities(activities) };
}

function statusFromActivities(activities: readonly string[]): PresenceStatus {
  if (activities.some((a) => BUSY_ACTIVITIES.has(a))) return 'busy';
  if (activities.some((a) => AWAY_ACTIVITIES.has(a))) return 'away';
  return 'online';
}

/**
 * RFC 4480 §3.2 activities, from `<rpid:activities>` anywhere in the document (RFC 4480 puts them in
 * `dm:person`; pre-RFC clients put them in tuple status). `unknown` and notes carry no activity.
 */
function activitiesOf(doc: PidfDocument): string[] {
  const out: string[] = [];
  for (const list of descendantsNamed(presenceElement(doc), RPID_NS, 'activities')) {
    for (const a of list.children) {
      if (a.ns !== RPID_NS || a.local === 'unknown' || a.local === 'note') continue;
      const name = a.local === 'other' ? a.text.trim() : a.local;
      if (name !== '' && !out.includes(name)) out.push(name);
    }
  }
  return out;
}

/** First non-empty note: presence-level, then tuple-level, then a person's `dm:note`. */
function noteOf(doc: PidfDocument): string | null {
  const tuples = doc.children.filter((c) => c.ns === PIDF_NS && c.local === 'tuple');
  const persons = doc.children.filter((c) => c.ns === DM_NS && c.local === 'person');
  const candidates: XmlElement[] = [
    ...notesIn(doc.children, PIDF_NS),
    ...tuples.flatMap((t) => notesIn(t.children, PIDF_NS)),
    ...persons.flatMap((p) => notesIn(p.children, DM_NS)),
  ];
  return candidates.find((n) => n.text.trim() !== '')?.text ?? null;
}

function notesIn(children: readonly XmlElement[], ns: string): XmlElement[] {
  return children.filter((c) => c.ns === ns && c.local === 'note');
}

/**
 * A PIDF body for an HTTP status write. online/busy/away → basic open; offline/hide → basic closed.
 * busy/away add `<dm:person><rpid:activities><rpid:busy|away/></rpid:activities></dm:person>`; a note
 * becomes a presence-level `<note>` (not for `hide`, which shows nothing). Round-trips through
 * parsePidf → statusOf.
 */
export function pidfFromStatus(entity: string, input: StatusInput): string {
  if (!XS_ID.test(input.tupleId)) throw new BodyError('BAD_BODY', 'tuple id is not an XML ID');
  if (entity.trim() === '') throw new BodyError('BAD_BODY', 'presence without entity');
  const open = input.status === 'online' || input.status === 'busy' || input.status === 'away';
  // RFC 3863 §4.4 schema: a tuple is status, extensions, contact?, note*, timestamp?.
  const extra = input.timestamp === undefined ? [] : [el(PIDF_NS, 'timestamp', { text: input.timestamp })];
  const children: XmlElement[] = [basicTuple(input.tupleId, open ? 'open' : 'closed', extra)];
  // RFC 3863 §4.4 schema: presence is tuple*, note*, then elements of other namespaces.
  if (input.note !== undefined && input.note.trim() !== '' && input.status !== 'hide') {
    children.push(el(PIDF_NS, 'note', { text: input.note }));
  }
  if (input.status === 'busy' || input.status === 'away') children.push(personWithActivity(input.tupleId, input.status));
  return serializePidf({ entity, attrs: [], children });
}

function personWithActivity(tupleId: string, activity: 'busy' | 'away'): XmlElement {
  const activities = el(RPID_NS, 'activities', { children: [el(RPID_NS, activity)] });
  return el(DM_NS, 'person', { attrs: [{ ns: null, local: 'id', value: `p-${tupleId}` }], children: [activities] });
}
