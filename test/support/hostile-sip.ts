/**
 * Hostile SIP input beyond the core fuzz (issue 10): PUBLISH and SUBSCRIBE with bodies (valid,
 * deep, huge, many tuples, entity tricks, bad UTF-8, lying Content-Length), header floods (thousands
 * of headers), parameter floods (thousands of ;params), then byte mutations on top. Seeded: a
 * failure names its seed and index and replays.
 *
 * `judge()` runs what Herald runs on one input, without a socket or a database: the size bound of
 * the endpoint (513), parseMessage, the header readers of the PUBLISH/SUBSCRIBE handlers and the
 * PIDF validation of the publication service. Every refusal must be typed (SipParseError or
 * PresenceError); anything else is a crash bug and is returned as a failure.
 */
import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { isPresenceError } from '../../src/errors';
import { PresenceDocuments } from '../../src/presence/documents';
import { parseExpires } from '../../src/presence/expires';
import { aorOf, contentTypeOf, cseqOf, eventOf, expiresOf, nameAddr, tagOf } from '../../src/sip/handlers/dialog-parts';
import { parseNameAddr, parseVia, SipParseError } from '../../src/sip/headers';
import type { SipRequest } from '../../src/sip/message';
import { parseMessage } from '../../src/sip/parser';
import { parseUri } from '../../src/sip/uri';
import type { Rng } from './prng';

const FIXTURES = join(__dirname, '..', 'fixtures', 'sip');
const seeds: Buffer[] = readdirSync(FIXTURES).filter((f) => /publish|subscribe/.test(f) && f.endsWith('.sip')).sort().map((f) => readFileSync(join(FIXTURES, f)));

const int = (rng: Rng, n: number): number => Math.floor(rng() * n);
const pick = <T>(rng: Rng, xs: readonly T[]): T => xs[int(rng, xs.length)] as T;
/** Mostly small, sometimes large: sizes for floods. */
const size = (rng: Rng, max: number): number => (rng() < 0.8 ? 1 + int(rng, 200) : 1 + int(rng, max));

export const MAX_MESSAGE_BYTES = 65_535;
const documents = new PresenceDocuments(65_536);

function pidfBody(rng: Rng, entity: string): string {
  const kind = int(rng, 9);
  const head = `<?xml version="1.0" encoding="UTF-8"?>\n<presence xmlns="urn:ietf:params:xml:ns:pidf" entity="${entity}">`;
  switch (kind) {
    case 0: return `${head}<tuple id="t"><status><basic>${pick(rng, ['open', 'closed', 'neither', ''])}</basic></status></tuple></presence>`;
    case 1: { // deep nesting
      const d = size(rng, 20_000);
      return `${head}<tuple id="t"><status><basic>open</basic></status>${'<x>'.repeat(d)}${'</x>'.repeat(d)}</tuple></presence>`;
    }
    case 2: return `${head}<tuple id="t"><status><basic>open</basic></status><note>${'n'.repeat(size(rng, 60_000))}</note></tuple></presence>`;
    case 3: return `${head}${Array.from({ length: size(rng, 1500) }, (_, i) => `<tuple id="t${i}"><status><basic>open</basic></status></tuple>`).join('')}</presence>`;
    case 4: return `<?xml version="1.0"?><!DOCTYPE p [<!ENTITY a "${'a'.repeat(50)}"><!ENTITY b "&a;&a;&a;&a;&a;&a;&a;&a;">]>${head.replace(/^<\?xml[^>]*>\n/, '')}<tuple id="t"><status><basic>open</basic></status><note>&b;&b;&b;</note></tuple></presence>`;
    case 5: return `${head}<tuple id="t"><status><basic>open</basic></status><note>\xc3\x28\xff\xfe</note></tuple></presence>`;
    case 6: return `${head}<tuple id="t"${' a="1"'.repeat(size(rng, 3000))}><status><basic>open</basic></status></tuple></presence>`;
    case 7: return `${head}<tuple id="t"><status><basic>open</basic></status></tuple>`; // unterminated
    default: return head.slice(0, int(rng, head.length));
  }
}

function params(rng: Rng): string {
  const n = size(rng, 5000);
  const p = pick(rng, [';p=1', ';tag=x', ';lr', ';expires=', ';=', ';a=b;c', ';branch=z9hG4bK']);
  return p.repeat(n);
}

/** A PUBLISH or SUBSCRIBE built from scratch, with a body, floods and lies chosen by `rng`. */
function build(rng: Rng, n: number): Buffer {
  const publish = rng() < 0.5;
  const method = publish ? 'PUBLISH' : 'SUBSCRIBE';
  const aor = `sip:u${n % 97}@127.0.0.1`;
  const flood = int(rng, 6); // 0: header flood, 1: parameter flood, else plain
  const h: string[] = [
    `Via: SIP/2.0/UDP 127.0.0.1:5999;branch=z9hG4bKh${n};rport${flood === 1 && rng() < 0.3 ? params(rng) : ''}`,
    'Max-Forwards: 70',
    `From: <sip:w${n % 13}@127.0.0.1>;tag=f${n}${flood === 1 && rng() < 0.3 ? params(rng) : ''}`,
    `To: <${aor}${flood === 1 && rng() < 0.2 ? params(rng) : ''}>`,
    `Call-ID: hostile-${n}`,
    `CSeq: ${pick(rng, ['1', '2', '4294967295', '99999999999', '-1'])} ${method}`,
    `Event: presence${flood === 1 && rng() < 0.4 ? params(rng) : ''}`,
    `Expires: ${pick(rng, ['60', '0', '1', '3600', '4294967296', 'abc', ''])}`,
  ];
  if (!publish) h.push(`Contact: <sip:w@127.0.0.1:5999${flood === 1 ? params(rng) : ''}>`, `Accept: ${pick(rng, ['application/pidf+xml', '*/*', 'text/plain', ''])}`);
  if (flood === 0) {
    const count = size(rng, 4000);
    const line = pick(rng, ['Record-Route: <sip:p@127.0.0.1;lr>', 'X-H: v', 'Accept: application/pidf+xml', 'Via: SIP/2.0/UDP 127.0.0.1:1;branch=z9hG4bKx', 'SIP-If-Match: e', 'Supported: a', 'Require: x']);
    for (let i = 0; i < count; i++) h.push(line);
  }
  const body = publish || rng() < 0.1 ? Buffer.from(pidfBody(rng, aor), 'latin1') : Buffer.alloc(0);
  if (body.length > 0) h.push(`Content-Type: ${pick(rng, ['application/pidf+xml', 'application/pidf+xml;charset=utf-8', 'text/xml', ''])}`);
  if (publish && rng() < 0.3) h.push(`SIP-If-Match: ${pick(rng, ['e1', '', 'a, b', '"x"'])}`);
  const cl = rng() < 0.85 ? body.length : pick(rng, [0, body.length + 1, body.length - 1, 99_999_999, -1]);
  h.push(`Content-Length: ${cl}`);
  return Buffer.concat([Buffer.from(`${method} ${aor} SIP/2.0\r\n${h.join('\r\n')}\r\n\r\n`, 'latin1'), body]);
}

function mutateBytes(b: Buffer, rng: Rng): Buffer {
  const c = Buffer.from(b);
  for (let k = 1 + int(rng, 6); k > 0 && c.length > 0; k--) c[int(rng, c.length)] = int(rng, 256);
  return c;
}

/** Input number `n` of a run: built from scratch, or a real client's PUBLISH/SUBSCRIBE with floods. */
export function hostileInput(rng: Rng, n: number): Buffer {
  let b: Buffer;
  if (rng() < 0.7) b = build(rng, n);
  else {
    const s = pick(rng, seeds).toString('latin1');
    const at = s.indexOf('\r\n') + 2;
    const flood = rng() < 0.5 ? `X-Flood: ${'x'}\r\n`.repeat(size(rng, 3000)) : `Route: <sip:p@127.0.0.1${params(rng)}>\r\n`;
    b = Buffer.from(s.slice(0, at) + flood + s.slice(at), 'latin1');
  }
  return rng() < 0.3 ? mutateBytes(b, rng) : b;
}

export type Outcome = 'too-large' | 'refused' | 'accepted';

/** What Herald does with one input, up to the database. Throws (a failure) on anything untyped. */
export function judge(input: Buffer, datagram: boolean): Outcome {
  if (input.length > MAX_MESSAGE_BYTES) return 'too-large';
  let msg;
  try {
    msg = parseMessage(input, { datagram });
  } catch (e) {
    if (e instanceof SipParseError && e.cause === undefined) return 'refused';
    throw e;
  }
  if (msg.kind !== 'request') return 'refused';
  try {
    handlerReads(msg);
    return 'accepted';
  } catch (e) {
    if (e instanceof SipParseError || isPresenceError(e)) return 'refused';
    throw e;
  }
}

/** The reads of publishHandler/subscribeHandler and the publication service's body check. */
function handlerReads(req: SipRequest): void {
  req.headers.getAll('via').forEach((v) => parseVia(v));
  const ev = eventOf(req);
  parseExpires(req.headers.get('expires'));
  expiresOf(req);
  if (req.method === 'PUBLISH') {
    aorOf(req.uri, 'Request');
    const type = contentTypeOf(req);
    if (req.body.length > 0 && type === 'application/pidf+xml') documents.parse(req.body);
    return;
  }
  const from = nameAddr(req, 'from');
  const to = nameAddr(req, 'to');
  tagOf(from);
  aorOf(tagOf(to) ? to.uri : req.uri, 'Request');
  aorOf(from.uri, 'From');
  cseqOf(req);
  const contact = req.headers.getAll('contact')[0];
  if (contact) parseUri(parseNameAddr(contact).uri);
  for (const r of req.headers.getAll('record-route')) parseNameAddr(r);
  void ev;
}
