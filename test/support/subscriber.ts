/**
 * Watcher-side helpers for the SUBSCRIBE/NOTIFY conformance suites: send a new SUBSCRIBE, keep the
 * dialog it created, send in-dialog SUBSCRIBEs, PUBLISH a state, read NOTIFY headers.
 * Everything is plain SIP over SipTestClient: nothing of Herald is called directly.
 */
import { randomBytes } from 'node:crypto';
import type { SipRequest, SipResponse } from '../../src/sip/message';
import { pidf, tagOf, type HeaderList, type SipTestClient } from './sip-client';

/** The watcher's view of a subscription dialog (RFC 3261 §12.1.2). */
export interface WatcherDialog {
  presentity: string;
  watcher: string;
  event: string;
  callId: string;
  fromTag: string;
  toTag: string;
  /** The remote target: Herald's Contact from the 2xx. */
  target: string;
  contact: string;
  cseq: number;
}

export interface SubscribeOptions {
  watcher?: string;
  event?: string;
  expires?: number | null;
  /** Contact header value (a name-addr); null: no Contact at all. Default: the client's own contact. */
  contact?: string | null;
  callId?: string;
  fromTag?: string;
  cseq?: number;
  extra?: HeaderList;
  timeoutMs?: number;
}

export const WAIT = 8000;

export function rnd(n = 4): string {
  return randomBytes(n).toString('hex');
}

/** A new SUBSCRIBE (no To-tag) to `presentity`; the dialog is returned when the answer is 2xx. */
export async function subscribe(c: SipTestClient, presentity: string, o: SubscribeOptions = {}): Promise<{ res: SipResponse; dialog: WatcherDialog | null }> {
  const watcher = o.watcher ?? 'sip:bob@127.0.0.1';
  const event = o.event ?? 'presence';
  const callId = o.callId ?? `${rnd(6)}@watcher`;
  const fromTag = o.fromTag ?? rnd();
  const cseq = o.cseq ?? 1;
  const contact = o.contact === undefined ? `<${c.contact(watcher.replace(/^sip:|@.*$/g, ''))}>` : o.contact;
  const h: HeaderList = [
    ['From', `<${watcher}>;tag=${fromTag}`], ['To', `<${presentity}>`], ['Call-ID', callId], ['CSeq', `${cseq} SUBSCRIBE`],
    ['Event', event],
  ];
  if (o.expires !== null) h.push(['Expires', String(o.expires ?? 600)]);
  if (contact !== null) h.push(['Contact', contact]);
  h.push(...(o.extra ?? []));
  const res = await c.request('SUBSCRIBE', presentity, h, '', o.timeoutMs ?? WAIT);
  if (res.status >= 300) return { res, dialog: null };
  const m = /<([^>]+)>/.exec(res.headers.get('contact') ?? '');
  return {
    res,
    dialog: {
      presentity, watcher, event, callId, fromTag, toTag: tagOf(res.headers.get('to')) ?? '', target: m?.[1] ?? presentity,
      contact: contact ?? '', cseq,
    },
  };
}

/** An in-dialog SUBSCRIBE (refresh, or un-SUBSCRIBE with expires 0) to Herald's Contact. */
export async function resubscribe(c: SipTestClient, d: WatcherDialog, expires: number, o: { cseq?: number; extra?: HeaderList; toTag?: string } = {}): Promise<SipResponse> {
  d.cseq = o.cseq ?? d.cseq + 1;
  const h: HeaderList = [
    ['From', `<${d.watcher}>;tag=${d.fromTag}`], ['To', `<${d.presentity}>;tag=${o.toTag ?? d.toTag}`], ['Call-ID', d.callId],
    ['CSeq', `${d.cseq} SUBSCRIBE`], ['Event', d.event], ['Expires', String(expires)],
  ];
  if (d.contact) h.push(['Contact', d.contact]);
  h.push(...(o.extra ?? []));
  return c.request('SUBSCRIBE', d.target, h, '', WAIT);
}

/** PUBLISH a one-tuple PIDF (`basic`) for `presentity`; returns the response. */
export function publish(c: SipTestClient, presentity: string, basic: 'open' | 'closed', o: { expires?: number; note?: string; ifMatch?: string } = {}): Promise<SipResponse> {
  const h: HeaderList = [['From', `<${presentity}>;tag=${rnd()}`], ['To', `<${presentity}>`], ['Event', 'presence'], ['Expires', String(o.expires ?? 600)], ['Content-Type', 'application/pidf+xml']];
  if (o.ifMatch) h.push(['SIP-If-Match', o.ifMatch]);
  return c.request('PUBLISH', presentity, h, pidf(presentity, basic, o.note), WAIT);
}

/** NOTIFYs of one dialog (Call-ID + watcher tag), in arrival order, UDP retransmissions (same CSeq) left out. */
export function notifiesOf(c: SipTestClient, d: Pick<WatcherDialog, 'callId' | 'fromTag'>): SipRequest[] {
  const seen = new Set<number>();
  return c.requests('NOTIFY').filter((n) => {
    if (!inDialog(n, d) || seen.has(cseqOf(n))) return false;
    seen.add(cseqOf(n));
    return true;
  });
}

/** The k-th (0-based) distinct NOTIFY of a dialog, already received or still to come. */
export function nthNotify(c: SipTestClient, d: Pick<WatcherDialog, 'callId' | 'fromTag'>, k: number, timeoutMs = WAIT): Promise<SipRequest> {
  return c.waitForRequest('NOTIFY', (n) => inDialog(n, d) && notifiesOf(c, d)[k] === n, timeoutMs, true);
}

export function inDialog(n: SipRequest, d: Pick<WatcherDialog, 'callId' | 'fromTag'>): boolean {
  return n.headers.get('call-id') === d.callId && tagOf(n.headers.get('to')) === d.fromTag;
}

/** Wait for the next NOTIFY of a dialog (`includePast`: or one already received that matches). */
export function nextNotify(c: SipTestClient, d: Pick<WatcherDialog, 'callId' | 'fromTag'>, match: (n: SipRequest) => boolean = () => true, includePast = false, timeoutMs = WAIT): Promise<SipRequest> {
  return c.waitForRequest('NOTIFY', (n) => inDialog(n, d) && match(n), timeoutMs, includePast);
}

export function cseqOf(m: SipRequest | SipResponse): number {
  return Number(/^\s*(\d+)/.exec(m.headers.get('cseq') ?? '')?.[1] ?? NaN);
}

export function subState(n: SipRequest): string {
  return (n.headers.get('subscription-state') ?? '').replace(/\s+/g, '');
}

export function bodyOf(n: SipRequest): string {
  return n.body.toString('utf8');
}

/** The raw header block of a received message (to assert on what is absent or written as is). */
export function rawHeaders(c: SipTestClient, n: SipRequest): string {
  const i = c.received.indexOf(n);
  const raw = i >= 0 ? c.raw[i]?.toString('utf8') ?? '' : '';
  return raw.split('\r\n\r\n')[0] ?? '';
}

/** Resolves after `ms` (for "nothing more arrives" checks only; never to wait for an outcome). */
export function sleep(ms: number): Promise<void> {
  return new Promise((r) => setTimeout(r, ms));
}

/** Poll `probe` until it returns true (bounded); for outcomes that have no message of their own. */
export async function eventually(probe: () => Promise<boolean> | boolean, timeoutMs = WAIT, stepMs = 50): Promise<void> {
  const end = Date.now() + timeoutMs;
  for (;;) {
    if (await probe()) return;
    if (Date.now() > end) throw new Error(`condition not met within ${timeoutMs} ms`);
    await sleep(stepMs);
  }
}
