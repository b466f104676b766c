/**
 * Answering a request the parser rejected. RFC 3261 §8.2 wants a 400 for a malformed request, but a
 * response can only be routed with the request's Via, Call-ID, From, To and CSeq: this scans the raw
 * header lines for them without trusting anything else. Responses and garbage get no answer; a
 * request whose Call-ID or CSeq is the problem still does (see below).
 */
import { parseCSeq } from './headers';
import { safeReason } from './reply';
import type { Destination, Peer } from './transport';

const WANTED: Record<string, string> = {
  via: 'Via', v: 'Via', from: 'From', f: 'From', to: 'To', t: 'To', 'call-id': 'Call-ID', i: 'Call-ID', cseq: 'CSeq',
};
const MAX_SCAN = 16 * 1024;

export function salvageReply(raw: Buffer, peer: Peer, status: number, reason: string): { bytes: Buffer; to: Destination } | null {
  const text = raw.subarray(0, MAX_SCAN).toString('latin1');
  const lines = text.split(/\r?\n/);
  let i = 0;
  while (i < lines.length && lines[i] === '') i++;
  const start = lines[i] ?? '';
  // Only requests are answered: a status line or an unreadable start line gets nothing.
  if (!/^[A-Za-z]+ \S+ SIP\/2\.0\s*$/.test(start)) return null;
  const found: Array<[string, string]> = [];
  for (i++; i < lines.length && lines[i] !== ''; i++) {
    const line = lines[i] as string;
    const c = line.indexOf(':');
    if (c <= 0) continue;
    const name = WANTED[line.slice(0, c).trim().toLowerCase()];
    const value = line.slice(c + 1).trim();
    if (!name || !/^[\x20-\x7e]*$/.test(value) || value.length > 1024) continue;
    if (name !== 'Via' && found.some(([n]) => n === name)) continue;
    found.push([name, value]);
  }
  const has = (n: string): boolean => found.some(([x, v]) => x === n && v !== '');
  if (!has('Via') || !has('From') || !has('To')) return null;
  // The 400 must itself be a parseable response (Call-ID and a valid CSeq are mandatory, §8.1.1):
  // the client matches it by Via branch and CSeq method (§17.1.3), so when the request's own Call-ID
  // or CSeq is the problem, answer with a placeholder Call-ID and the request line's method.
  const method = start.slice(0, start.indexOf(' '));
  const head = [`SIP/2.0 ${status} ${safeReason(reason)}`];
  for (const [n, v] of found) {
    if (n === 'Call-ID' || n === 'CSeq') continue;
    head.push(`${n}: ${n === 'To' && !/;\s*tag=/i.test(v) ? `${v};tag=herald-err` : v}`);
  }
  const callId = found.find(([n]) => n === 'Call-ID')?.[1] ?? '';
  head.push(`Call-ID: ${callId || 'herald-missing-call-id'}`);
  head.push(`CSeq: ${validCSeq(found.find(([n]) => n === 'CSeq')?.[1] ?? '', method)}`);
  head.push('Server: Herald', 'Content-Length: 0', '', '');
  const to: Destination = peer.transport === 'tcp'
    ? { host: peer.host, port: peer.port, connectionId: peer.connectionId }
    : { host: peer.host, port: peer.port };
  return { bytes: Buffer.from(head.join('\r\n'), 'latin1'), to };
}

/** The request's CSeq when it is well formed (even naming another method), else `<number or 0> <method>`. */
function validCSeq(value: string, method: string): string {
  try {
    parseCSeq(value);
    return value;
  } catch {
    const seq = /^\s*(\d{1,9})\b/.exec(value)?.[1] ?? '0';
    return `${seq} ${method}`;
  }
}
