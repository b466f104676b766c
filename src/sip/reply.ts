/**
 * Building responses (RFC 3261 §8.2.6) and deciding where they go (§18.2.2, RFC 3581).
 * The only place, with http/, that turns a PresenceError into a status line.
 */
import { cryptoRandom } from '../clock';
import { isDatabaseUnavailable, isPresenceError } from '../errors';
import { Headers, type SipRequest, type SipResponse } from './message';
import { parseVia, SipParseError } from './headers';
import type { Destination, Peer } from './transport';

export interface ResponseSpec {
  status: number;
  reason?: string;
  headers?: Array<[string, string]>;
  body?: { contentType: string; content: string | Buffer };
  /** To-tag to add when the request's To has none (a dialog-creating 2xx gives its own). */
  toTag?: string;
}

const REASONS: Record<number, string> = {
  100: 'Trying', 200: 'OK', 202: 'Accepted', 400: 'Bad Request', 403: 'Forbidden', 404: 'Not Found',
  405: 'Method Not Allowed', 406: 'Not Acceptable', 408: 'Request Timeout', 412: 'Conditional Request Failed',
  413: 'Request Entity Too Large', 415: 'Unsupported Media Type', 420: 'Bad Extension', 423: 'Interval Too Brief',
  481: 'Call/Transaction Does Not Exist', 483: 'Too Many Hops', 489: 'Bad Event', 500: 'Server Internal Error',
  503: 'Service Unavailable', 513: 'Message Too Large',
};

export function reasonFor(status: number): string {
  return REASONS[status] ?? (status < 300 ? 'OK' : 'Error');
}

/** A reason phrase must be one line of printable text (RFC 3261 §25.1 Reason-Phrase). */
export function safeReason(reason: string): string {
  const clean = reason.replace(/[^\x20-\x7e]/g, ' ').replace(/\s+/g, ' ').trim().slice(0, 120);
  return clean || 'Error';
}

export function errorResponse(err: unknown): ResponseSpec {
  if (isPresenceError(err)) {
    // A 400 names its problem in the reason phrase; other codes keep the RFC phrase.
    const reason = err.sipStatus === 400 && err.message !== err.sipReason ? err.message : err.sipReason;
    return { status: err.sipStatus, reason: safeReason(reason), headers: Object.entries(err.headers) };
  }
  // The database is out of reach: tell the client to come back (RFC 3261 §21.5.4), don't claim a bug.
  if (isDatabaseUnavailable(err)) return { status: 503, reason: 'Service Unavailable', headers: [['Retry-After', '5']] };
  // A header a handler parsed on demand was malformed: 400 naming it (RFC 3261 §8.2).
  if (err instanceof SipParseError) return { status: err.status, reason: safeReason(err.reason) };
  return { status: 500, reason: 'Server Internal Error' };
}

/** RFC 3261 §19.3: a To tag, "a cryptographically random number with at least 32 bits of randomness" (here 64). */
export function newTag(): string {
  return cryptoRandom.token(8);
}

/**
 * RFC 3261 §8.2.6.2: copy Via (in order), From, Call-ID, CSeq and To, adding a To tag when the
 * request had none; RFC 3581 §4: add `received` and fill `rport` on the top Via.
 */
export function buildResponse(req: SipRequest, peer: Peer, spec: ResponseSpec): SipResponse {
  const entries: Array<[string, string]> = [];
  const vias = req.headers.getAll('via');
  vias.forEach((v, i) => entries.push(['Via', i === 0 ? stampVia(v, peer) : v]));
  entries.push(['From', req.headers.get('from') ?? '']);
  const to = req.headers.get('to') ?? '';
  const hasTag = /;\s*tag=/i.test(to);
  entries.push(['To', hasTag || spec.status === 100 ? to : `${to};tag=${spec.toTag ?? newTag()}`]);
  entries.push(['Call-ID', req.headers.get('call-id') ?? '']);
  entries.push(['CSeq', req.headers.get('cseq') ?? '']);
  for (const h of spec.headers ?? []) entries.push(h);
  entries.push(['Server', 'Herald']);
  let body: Buffer = Buffer.alloc(0);
  if (spec.body) {
    entries.push(['Content-Type', spec.body.contentType]);
    body = typeof spec.body.content === 'string' ? Buffer.from(spec.body.content, 'utf8') : spec.body.content;
  }
  return { kind: 'response', status: spec.status, reason: safeReason(spec.reason ?? reasonFor(spec.status)), headers: new Headers(entries), body };
}

function stampVia(via: string, peer: Peer): string {
  let out = via;
  let v;
  try {
    v = parseVia(via);
  } catch {
    return via;
  }
  if (v.host.replace(/^\[|\]$/g, '') !== peer.host && !/;\s*received=/i.test(out)) out += `;received=${peer.host}`;
  // RFC 3581 §4: "the server MUST insert an rport parameter ... containing the source port".
  if (v.params.has('rport') && !v.params.get('rport')) out = out.replace(/;\s*rport(?=;|$|\s)/i, `;rport=${peer.port}`);
  return out;
}

/**
 * RFC 3261 §18.2.2 and RFC 3581 §4: over TCP, back on the connection the request came on; over
 * UDP, to the source address, at the source port when the client asked for rport, else at the
 * sent-by port (5060 by default).
 */
export function responseDestination(req: SipRequest, peer: Peer): Destination {
  if (peer.transport === 'tcp') return { host: peer.host, port: peer.port, connectionId: peer.connectionId };
  const top = req.headers.getAll('via')[0];
  try {
    const v = top ? parseVia(top) : undefined;
    if (v && !v.params.has('rport')) return { host: peer.host, port: v.port ?? 5060 };
  } catch {
    /* unparseable Via: answer the source */
  }
  return { host: peer.host, port: peer.port };
}

