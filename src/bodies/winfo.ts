/**
 * application/watcherinfo+xml (RFC 3858), built by hand (fixed shape, hot path: one document per
 * winfo NOTIFY) and parsed back (tests, tools). Deterministic: same input → same bytes.
 */
import { attrValue, childrenNamed, escapeAttr, escapeText, isElement, parseXml, BodyError, XML_DECLARATION, type XmlElement } from './xml';

export const WATCHERINFO_NS = 'urn:ietf:params:xml:ns:watcherinfo';
export const WATCHERINFO_CONTENT_TYPE = 'application/watcherinfo+xml';

export type WatcherStatus = 'pending' | 'active' | 'waiting' | 'terminated';
export type WinfoState = 'full' | 'partial';

export interface WinfoWatcher {
  readonly id: string;
  readonly status: WatcherStatus;
  /** RFC 3858 §4.3 event: subscribe, approved, deactivated, probation, rejected, timeout, giveup, noresource. */
  readonly event: string;
  readonly uri: string;
  readonly displayName?: string | null;
  /** Seconds the watcher has been subscribed. */
  readonly durationSubscribed?: number;
  /** Seconds until the subscription expires. */
  readonly expiration?: number;
}

export interface WatcherinfoInput {
  readonly version: number;
  readonly state: WinfoState;
  readonly resource: string;
  readonly package: string;
  /** Accepted for callers' bookkeeping; RFC 3858's <watcher-list> has no state attribute, so not written. */
  readonly listState?: WinfoState;
  readonly watchers: readonly WinfoWatcher[];
}

export interface WatcherList {
  readonly resource: string;
  readonly package: string;
  readonly watchers: WinfoWatcher[];
}

export interface ParsedWatcherinfo {
  readonly version: number;
  readonly state: WinfoState;
  readonly watcherLists: WatcherList[];
}

const STATUSES: ReadonlySet<string> = new Set(['pending', 'active', 'waiting', 'terminated']);

export function buildWatcherinfo(input: WatcherinfoInput): string {
  // RFC 3858 §4.1: version starts at 0 and increments by one for each document sent in a subscription.
  if (!Number.isSafeInteger(input.version) || input.version < 0) throw new Error(`winfo version must be a non-negative integer, got ${input.version}`);
  const lines = [
    XML_DECLARATION,
    `<watcherinfo xmlns="${WATCHERINFO_NS}" version="${input.version}" state="${input.state}">`,
    `  <watcher-list resource="${escapeAttr(input.resource)}" package="${escapeAttr(input.package)}">`,
  ];
  for (const w of input.watchers) lines.push('    ' + watcherXml(w));
  lines.push('  </watcher-list>', '</watcherinfo>');
  return lines.join('\n');
}

function watcherXml(w: WinfoWatcher): string {
  let tag = `<watcher id="${escapeAttr(w.id)}" status="${w.status}" event="${escapeAttr(w.event)}"`;
  if (w.displayName !== undefined && w.displayName !== null) tag += ` display-name="${escapeAttr(w.displayName)}"`;
  const duration = seconds(w.durationSubscribed);
  if (duration !== undefined) tag += ` duration-subscribed="${duration}"`;
  const expiration = seconds(w.expiration);
  if (expiration !== undefined) tag += ` expiration="${expiration}"`;
  // RFC 3858 §4.3: the content of <watcher> is the URI of the watcher.
  return `${tag}>${escapeText(w.uri)}</watcher>`;
}

function seconds(n: number | undefined): number | undefined {
  return n === undefined || !Number.isFinite(n) ? undefined : Math.max(0, Math.floor(n));
}

/** Parse an application/watcherinfo+xml body (namespace by URI). Throws BodyError. */
export function parseWatcherinfo(body: Buffer | string, opts: { maxBytes?: number } = {}): ParsedWatcherinfo {
  const root = parseXml(body, opts);
  if (!isElement(root, WATCHERINFO_NS, 'watcherinfo')) throw new BodyError('BAD_BODY', 'root element is not watcherinfo');
  const version = unsigned(attrValue(root, 'version'));
  if (version === undefined) throw new BodyError('BAD_BODY', 'watcherinfo without a valid version');
  const state = attrValue(root, 'state');
  if (state !== 'full' && state !== 'partial') throw new BodyError('BAD_BODY', 'watcherinfo state is neither full nor partial');
  return { version, state, watcherLists: childrenNamed(root, WATCHERINFO_NS, 'watcher-list').map(parseList) };
}

function parseList(list: XmlElement): WatcherList {
  const resource = attrValue(list, 'resource');
  const pkg = attrValue(list, 'package');
  if (resource === undefined || pkg === undefined) throw new BodyError('BAD_BODY', 'watcher-list without resource or package');
  return { resource, package: pkg, watchers: childrenNamed(list, WATCHERINFO_NS, 'watcher').map(parseWatcher) };
}

function parseWatcher(w: XmlElement): WinfoWatcher {
  const id = attrValue(w, 'id');
  const status = attrValue(w, 'status');
  const event = attrValue(w, 'event');
  if (id === undefined || event === undefined || status === undefined || !STATUSES.has(status)) {
    throw new BodyError('BAD_BODY', 'watcher without id, status or event');
  }
  return {
    id, status: status as WatcherStatus, event, uri: w.text.trim(),
    displayName: attrValue(w, 'display-name') ?? null,
    durationSubscribed: unsigned(attrValue(w, 'duration-subscribed')),
    expiration: unsigned(attrValue(w, 'expiration')),
  };
}

/** xs:unsignedLong / xs:nonNegativeInteger (as far as a JS number is exact); undefined when absent or invalid. */
function unsigned(v: string | undefined): number | undefined {
  const t = v?.trim();
  if (t === undefined || !/^[0-9]{1,15}$/.test(t)) return undefined;
  return Number(t);
}
