/**
 * Fuzzing the SIP message layer with a seeded PRNG (reproducible: the failing seed/iteration is
 * reported). Contract: for ANY bytes, parseMessage returns a message or throws SipParseError; the
 * structured header parsers a handler calls on a parsed message do the same; a parsed message
 * serializes and parses back to the same message; StreamFramer frames any chunking of a stream.
 */
import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { StreamFramer } from '../../src/sip/framer';
import { parseCSeq, parseEvent, parseMediaType, parseNameAddr, parseVia, SipParseError } from '../../src/sip/headers';
import type { SipMessage } from '../../src/sip/message';
import { parseMessage } from '../../src/sip/parser';
import { serialize } from '../../src/sip/serializer';
import { parseUri } from '../../src/sip/uri';
import { mulberry32, type Rng } from '../support/prng';

const FIXTURES = join(__dirname, '..', 'fixtures', 'sip');
const files = readdirSync(FIXTURES).filter((f) => f.endsWith('.sip'));
const seeds: Buffer[] = files.map((f) => readFileSync(join(FIXTURES, f)));

const rngFrom = mulberry32;

const int = (rng: Rng, n: number): number => Math.floor(rng() * n);
const pick = <T>(rng: Rng, xs: readonly T[]): T => xs[int(rng, xs.length)] as T;

function insertAt(buf: Buffer, at: number, bytes: Buffer): Buffer {
  return Buffer.concat([buf.subarray(0, at), bytes, buf.subarray(at)]);
}

/** Start offsets of the lines of the header section. */
function lineStarts(buf: Buffer): number[] {
  const starts = [0];
  const end = buf.indexOf('\r\n\r\n');
  for (let i = buf.indexOf(10); i >= 0 && (end < 0 || i < end); i = buf.indexOf(10, i + 1)) starts.push(i + 1);
  return starts;
}

const SPECIAL = [13, 10, 0, 58, 59, 60, 62, 34, 44, 32, 9, 92, 64];
const BAD_UTF8 = [[0xc0], [0xff], [0xe2, 0x82], [0xed, 0xa0, 0x80], [0xf4, 0x90, 0x80, 0x80], [0x80, 0x80], [0xc3]];
const HEADERS = ['Via', 'v', 'From', 'To', 'Call-ID', 'CSeq', 'Contact', 'Content-Length', 'l', 'Event', 'Content-Type'];

type Mutator = (b: Buffer, rng: Rng) => Buffer;

/** A header line with a value of up to 64 KiB. Costly to parse: mutate() uses it sparingly. */
function hugeValue(b: Buffer, rng: Rng): Buffer {
  const size = 1 + int(rng, 64 * 1024);
  const fill = pick(rng, ['a', ' ', ',', ';', '"', '<', 'é', '%']);
  const line = Buffer.from(`${pick(rng, HEADERS)}: ${fill.repeat(size)}\r\n`);
  return insertAt(b, pick(rng, lineStarts(b)), line);
}

const MUTATORS: Mutator[] = [
  function flipBytes(b, rng) {
    const c = Buffer.from(b);
    for (let k = 1 + int(rng, 8); k > 0 && c.length > 0; k--) c[int(rng, c.length)] = int(rng, 256);
    return c;
  },
  function flipBits(b, rng) {
    const c = Buffer.from(b);
    for (let k = 1 + int(rng, 4); k > 0 && c.length > 0; k--) {
      const at = int(rng, c.length);
      c[at] = (c[at] as number) ^ (1 << int(rng, 8));
    }
    return c;
  },
  function truncate(b, rng) {
    return b.subarray(0, int(rng, b.length + 1));
  },
  function duplicateHeader(b, rng) {
    const starts = lineStarts(b);
    const from = pick(rng, starts);
    const end = b.indexOf(10, from);
    const line = b.subarray(from, end < 0 ? b.length : end + 1);
    return insertAt(b, pick(rng, starts), line);
  },
  function badUtf8(b, rng) {
    return insertAt(b, int(rng, b.length + 1), Buffer.from(pick(rng, BAD_UTF8)));
  },
  function insertSpecial(b, rng) {
    let c = b;
    for (let k = 1 + int(rng, 5); k > 0; k--) c = insertAt(c, int(rng, c.length + 1), Buffer.from([pick(rng, SPECIAL)]));
    return c;
  },
  function deleteRange(b, rng) {
    const at = int(rng, b.length + 1);
    return Buffer.concat([b.subarray(0, at), b.subarray(Math.min(b.length, at + 1 + int(rng, 40)))]);
  },
  function spliceTwo(b, rng) {
    const other = pick(rng, seeds);
    return Buffer.concat([b.subarray(0, int(rng, b.length + 1)), other.subarray(int(rng, other.length + 1))]);
  },
  function rewriteHeaderValue(b, rng) {
    const name = pick(rng, HEADERS);
    const value = pick(rng, ['', '-1', '99999999999', '1 2', '<', '"', 'sip:', '[::1', 'SIP/2.0/UDP [', '0 PUBLISH', ';;=']);
    return insertAt(b, pick(rng, lineStarts(b)), Buffer.from(`${name}: ${value}\r\n`));
  },
];

function mutate(rng: Rng): Buffer {
  let b = pick(rng, seeds);
  for (let k = 1 + int(rng, 3); k > 0; k--) b = (rng() < 0.01 ? hugeValue : pick(rng, MUTATORS))(b, rng);
  return b;
}

/** Runs fn; SipParseError is an accepted outcome, anything else is described as a failure. */
function tolerate(fn: () => unknown): string | null {
  try {
    fn();
    return null;
  } catch (e) {
    if (e instanceof SipParseError) return null;
    return e instanceof Error ? (e.stack ?? e.message) : JSON.stringify(e);
  }
}

/** What a handler does with a parsed message: read structured values. */
function exercise(m: SipMessage): string | null {
  const h = m.headers;
  const checks: Array<() => unknown> = [
    () => h.getAll('Via').forEach((v) => parseVia(v)),
    () => parseCSeq(h.get('CSeq') ?? ''),
    () => parseEvent(h.get('Event') ?? ''),
    () => parseMediaType(h.get('Content-Type') ?? ''),
    () => (m.kind === 'request' ? parseUri(m.uri) : null),
    ...['From', 'To', 'Contact', 'Route'].flatMap((n) =>
      h.getAll(n).map((v) => () => parseUri(parseNameAddr(v, n).uri)),
    ),
  ];
  for (const c of checks) {
    const failure = tolerate(c);
    if (failure) return failure;
  }
  return null;
}

function view(m: SipMessage): string {
  const start = m.kind === 'request' ? `${m.method} ${m.uri}` : `${m.status} ${m.reason}`;
  const headers = m.headers.entries().filter(([n]) => !/^(content-length|l)$/i.test(n));
  return JSON.stringify([start, headers, m.body.toString('hex')]);
}

/** The whole contract for one input: 'parsed', 'refused', or a description of the broken rule. */
function check(input: Buffer, datagram: boolean): string {
  let msg: SipMessage;
  try {
    msg = parseMessage(input, { datagram });
  } catch (e) {
    if (e instanceof SipParseError && e.cause === undefined) return 'refused';
    // A SipParseError with a cause is parseMessage's safety net catching a bug: a failure too.
    const inner: unknown = e instanceof Error && e.cause !== undefined ? e.cause : e;
    return `parseMessage threw ${inner instanceof Error ? (inner.stack ?? inner.message) : JSON.stringify(inner)}`;
  }
  const failure = exercise(msg);
  if (failure) return `header parser threw ${failure}`;
  try {
    const again = parseMessage(serialize(msg));
    if (view(again) !== view(msg)) return 'round trip changed the message';
  } catch (e) {
    return `round trip threw ${String(e)}`;
  }
  return 'parsed';
}

const fine = (outcome: string): boolean => outcome === 'parsed' || outcome === 'refused';

describe('SIP fuzz', () => {
  it('parses 100,000 mutated messages into a message or a SipParseError, never anything else', () => {
    const rng = rngFrom(0x5eed);
    const failures: string[] = [];
    let parsed = 0;
    const total = 100_000;
    for (let i = 0; i < total && failures.length < 5; i++) {
      const input = mutate(rng);
      const datagram = (i & 1) === 0;
      const outcome = check(input, datagram);
      if (outcome === 'parsed') parsed++;
      else if (!fine(outcome)) failures.push(`#${i} (datagram=${datagram}): ${outcome}\n${input.subarray(0, 600).toString('latin1')}`);
    }
    expect(failures).toEqual([]);
    // The mutations must leave a fair share of messages parseable, or the test proves little.
    expect(parsed).toBeGreaterThan(total / 20);
  }, 60_000);

  it('frames any chunking of a stream of messages and CRLF keep-alives', () => {
    const rng = rngFrom(42);
    // Stream messages carry Content-Length: serialize each fixture (the serializer writes it).
    const messages = files
      .filter((f) => !f.startsWith('bad-'))
      .map((f) => serialize(parseMessage(readFileSync(join(FIXTURES, f)), { datagram: true })));
    for (let round = 0; round < 300; round++) {
      const chosen = Array.from({ length: 1 + int(rng, 6) }, () => pick(rng, messages));
      const stream = Buffer.concat(chosen.flatMap((m) => [Buffer.from('\r\n'.repeat(int(rng, 3))), m]));
      const framer = new StreamFramer(65536);
      const out: Buffer[] = [];
      for (let at = 0; at < stream.length; ) {
        const size = 1 + int(rng, rng() < 0.5 ? 8 : 2000);
        out.push(...framer.push(stream.subarray(at, at + size)));
        at += size;
      }
      expect(out.map((b) => b.toString('latin1'))).toEqual(chosen.map((b) => b.toString('latin1')));
      expect(framer.buffered).toBe(0);
    }
  });

  it('frames mutated streams into messages or a SipParseError, never anything else', () => {
    const rng = rngFrom(7);
    const failures: string[] = [];
    for (let round = 0; round < 5_000 && failures.length < 5; round++) {
      const stream = Buffer.concat(Array.from({ length: 1 + int(rng, 4) }, () => mutate(rng)));
      const framer = new StreamFramer(rng() < 0.5 ? 65536 : 2048);
      try {
        for (let at = 0; at < stream.length; ) {
          const size = 1 + int(rng, 3000);
          for (const raw of framer.push(stream.subarray(at, at + size))) {
            const outcome = check(raw, false);
            if (!fine(outcome)) failures.push(`round ${round}: ${outcome}`);
          }
          at += size;
        }
      } catch (e) {
        if (!(e instanceof SipParseError)) failures.push(`round ${round}: framer threw ${String(e)}`);
      }
    }
    expect(failures).toEqual([]);
  });
});
