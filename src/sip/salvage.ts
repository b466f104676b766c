/**
 * Answering a request the parser rejected. RFC 3261 §8.2 wants a 400 for a malformed request, but a
 * response can only be routed with the request's Via, Call-ID, From, To and CSeq: this scans the raw
 * header lines for them without trusting anything else. Responses and garbage get no answer.
 */
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
  const has = (n: string): boolean => found.some(([x]) => x === n);
  if (!has('Via') || !has('Call-ID') || !has('CSeq') || !has('From') || !has('To')) return null;
  const head = [`SIP/2.0 ${status} ${safeReason(reason)}`];
  for (const [n, v] of found) head.push(`${n}: ${n === 'To' && !/;\s*tag=/i.test(v) ? `${v};tag=herald-err` : v}`);
  head.push('Server: Herald', 'Content-Length: 0', '', '');
  const to: Destination = peer.transport === 'tcp'
    ? { host: peer.host, port: peer.port, connectionId: peer.connectionId }
    : { host: peer.host, port: peer.port };
  return { bytes: Buffer.from(head.join('\r\n'), 'latin1'), to };
}
