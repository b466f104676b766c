/**
 * Reading the parts of a request that name people and dialogs: From/To AORs and tags, Contact,
 * Record-Route, Event, Expires, Accept. Malformed values become 400 with a reason naming them.
 */
import { PresenceError } from '../../errors';
import { canonicalAor } from '../../presence/aor';
import { parseExpires } from '../../presence/expires';
import { parseEvent, parseMediaType, parseNameAddr, parseCSeq, type NameAddr } from '../headers';
import type { SipRequest } from '../message';

export function nameAddr(req: SipRequest, header: string): NameAddr {
  const v = req.headers.get(header);
  if (v === undefined) throw new PresenceError('BAD_REQUEST', `Missing ${header}`);
  return parseNameAddr(v);
}

export function aorOf(uri: string, what: string): string {
  const aor = canonicalAor(uri);
  if (!aor) throw new PresenceError('BAD_REQUEST', `Bad ${what} URI`);
  return aor;
}

export function tagOf(na: NameAddr): string | null {
  return na.params.get('tag') ?? null;
}

/** The event package, lower-cased, and its id parameter; undefined when there is no Event header. */
export function eventOf(req: SipRequest): { event: string; id: string | null } | undefined {
  const v = req.headers.get('event');
  return v === undefined ? undefined : parseEvent(v);
}

export function expiresOf(req: SipRequest): number | undefined {
  return parseExpires(req.headers.get('expires'));
}

export function contentTypeOf(req: SipRequest): string | null {
  const v = req.headers.get('content-type');
  return v === undefined || v.trim() === '' ? null : parseMediaType(v).type;
}

export function cseqOf(req: SipRequest): number {
  return parseCSeq(req.headers.get('cseq') ?? '').seq;
}
