/**
 * Wire fuzzing: thousands of mutated real-client messages (test/fixtures/sip) sent over real
 * loopback UDP and TCP to a running Herald. Mutations (seeded PRNG, so a failure replays): bit
 * flips, interesting bytes, truncation, header duplication and deletion, huge values, bad UTF-8,
 * Content-Length lies, bare LFs, folding, start-line changes, odd TCP segmenting.
 * Afterwards Herald must still answer OPTIONS, every response it sent must parse, and nothing may
 * end in an unhandled rejection or uncaught exception.
 *
 * Seed and size: HERALD_WIRE_FUZZ_SEED (default 3261), HERALD_WIRE_FUZZ_N (default 6000 messages,
 * half over each transport).
 *
 * Safety fence: mutated Via/Contact values can name any host or port. Herald's transports are
 * wrapped so that it only ever sends to this test's own sockets on 127.0.0.1; anything else is
 * dropped (counted) as if the network had lost it.
 */
import { createSocket, type Socket as UdpSocket } from 'node:dgram';
import { readdirSync, readFileSync } from 'node:fs';
import { connect, type Socket as TcpSocket } from 'node:net';
import { join } from 'node:path';
import { StreamFramer } from '../../src/sip/framer';
import { Headers, type SipMessage } from '../../src/sip/message';
import { parseMessage } from '../../src/sip/parser';
import { serialize } from '../../src/sip/serializer';
import { fence } from '../support/fence';
import { startHerald, type RunningHerald } from '../support/herald';
import { SipTestClient } from '../support/sip-client';
import { mulberry32 } from '../support/prng';

const SEED = Number(process.env.HERALD_WIRE_FUZZ_SEED ?? 3261);
const TOTAL = Math.max(5000, Number(process.env.HERALD_WIRE_FUZZ_N ?? 6000));
const FIXTURES = join(__dirname, '..', 'fixtures', 'sip');

const prng = mulberry32;

class Mutator {
  private readonly rnd: () => number;
  constructor(seed: number) {
    this.rnd = prng(seed);
  }
  int(n: number): number {
    return Math.floor(this.rnd() * n);
  }
  pick<T>(xs: readonly T[]): T {
    return xs[this.int(xs.length)] as T;
  }
  chance(p: number): boolean {
    return this.rnd() < p;
  }

  mutate(msg: Buffer, maxSize: number): Buffer {
    let out = msg;
    const rounds = 1 + this.int(3);
    for (let i = 0; i < rounds; i++) out = this.pick(OPERATORS)(out, this);
    return out.length > maxSize ? out.subarray(0, maxSize) : out;
  }
}

type Operator = (b: Buffer, m: Mutator) => Buffer;

const INTERESTING = [0x00, 0xff, 0x3a, 0x3b, 0x3c, 0x3e, 0x22, 0x2c, 0x0d, 0x0a, 0x20, 0x09, 0x40, 0x5b, 0x5d, 0x3d, 0x25, 0x80, 0x7f];
const BAD_UTF8 = [[0xc3, 0x28], [0xe2, 0x82], [0xf0, 0x28, 0x8c, 0xbc], [0xc0, 0xaf], [0x80], [0xed, 0xa0, 0x80], [0xf8, 0x88, 0x80, 0x80, 0x80], [0xfe, 0xff]];
const METHODS = ['INVITE', 'ACK', 'CANCEL', 'BYE', 'OPTIONS', 'NOTIFY', 'MESSAGE', 'PUBLISH', 'SUBSCRIBE', 'REGISTER', 'REFER', 'UPDATE', 'PRACK', 'INFO', 'publish', 'X', ''];

function headEnd(b: Buffer): number {
  const i = b.indexOf('\r\n\r\n');
  return i < 0 ? b.length : i;
}

/** The header lines (without the start line) as [start, end) byte ranges. */
function headerLines(b: Buffer): Array<[number, number]> {
  const end = headEnd(b);
  const out: Array<[number, number]> = [];
  let pos = b.indexOf('\r\n');
  while (pos >= 0 && pos < end) {
    const next = b.indexOf('\r\n', pos + 2);
    const stop = next < 0 || next > end ? end : next;
    out.push([pos + 2, stop]);
    pos = next;
    if (next < 0 || next >= end) break;
  }
  return out;
}

function splice(b: Buffer, at: number, remove: number, insert: Buffer | string): Buffer {
  const ins = typeof insert === 'string' ? Buffer.from(insert, 'latin1') : insert;
  return Buffer.concat([b.subarray(0, at), ins, b.subarray(at + remove)]);
}

const OPERATORS: Operator[] = [
  // Bit flips anywhere.
  (b, m) => {
    const c = Buffer.from(b);
    for (let i = 1 + m.int(8); i > 0 && c.length > 0; i--) {
      const at = m.int(c.length);
      c[at] = (c[at] ?? 0) ^ (1 << m.int(8));
    }
    return c;
  },
  // Interesting bytes in the header section.
  (b, m) => {
    const c = Buffer.from(b);
    const end = Math.max(1, headEnd(c));
    for (let i = 1 + m.int(4); i > 0; i--) c[m.int(end)] = m.pick(INTERESTING);
    return c;
  },
  // Truncation.
  (b, m) => b.subarray(0, m.int(b.length + 1)),
  // Header duplication (a single-valued one such as From, CSeq or Content-Length included).
  (b, m) => {
    const lines = headerLines(b);
    if (!lines.length) return b;
    const [s, e] = m.pick(lines);
    const copy = Buffer.from(`${b.subarray(s, e).toString('latin1')}\r\n`.repeat(1 + m.int(3)), 'latin1');
    return splice(b, s, 0, copy);
  },
  // Header deletion.
  (b, m) => {
    const lines = headerLines(b);
    if (!lines.length) return b;
    const [s, e] = m.pick(lines);
    return splice(b, s, e - s + 2, '');
  },
  // Huge values: a header value, a parameter or the body grows to kilobytes.
  (b, m) => {
    const lines = headerLines(b);
    if (!lines.length) return b;
    const [, e] = m.pick(lines);
    const size = m.pick([100, 1000, 5000, 20_000, 60_000]);
    const fill = m.pick([';p=', ',', ' ', 'a', '<sip:x@y>, ', '"']).repeat(Math.ceil(size / 4));
    return splice(b, e, 0, fill.slice(0, size));
  },
  // Bad UTF-8 in a header value or the body.
  (b, m) => {
    const seq = Buffer.from(m.pick(BAD_UTF8));
    return splice(b, m.int(b.length + 1), 0, seq);
  },
  // Content-Length lies.
  (b, m) => {
    const s = b.toString('latin1');
    const v = m.pick(['0', '1', '-1', '99999999999', '4294967296', 'abc', '', ' 12 ', '0x10', String(m.int(2000)), '1e3']);
    const replaced = s.replace(/(\r\n(?:Content-Length|l)[ \t]*:[ \t]*)[^\r\n]*/i, `$1${v}`);
    return Buffer.from(replaced === s ? s.replace('\r\n\r\n', `\r\nContent-Length: ${v}\r\n\r\n`) : replaced, 'latin1');
  },
  // Line ends: CRLF → LF here and there, or a stray CR.
  (b, m) => {
    const s = b.toString('latin1');
    if (m.chance(0.5)) return Buffer.from(s.replace(/\r\n/g, () => (m.chance(0.5) ? '\n' : '\r\n')), 'latin1');
    return splice(b, m.int(b.length + 1), 0, '\r');
  },
  // Folding: a header value continued on the next line, or a continuation before any header.
  (b, m) => {
    const lines = headerLines(b);
    if (!lines.length) return b;
    const [s, e] = m.pick(lines);
    const mid = s + m.int(Math.max(1, e - s));
    return m.chance(0.8) ? splice(b, mid, 0, `\r\n${m.pick([' ', '\t', '  \t'])}`) : splice(b, s, 0, ' folded\r\n');
  },
  // Start line: another method, URI or version.
  (b, m) => {
    const s = b.toString('latin1');
    const eol = s.indexOf('\r\n');
    if (eol < 0) return b;
    const parts = s.slice(0, eol).split(' ');
    const which = m.int(3);
    if (which === 0) parts[0] = m.pick(METHODS);
    else if (which === 1) parts[1] = m.pick(['sip:', '*', 'sip:[::1]:5060', 'sip:a@[::1', 'tel:+1', 'sip:x@127.0.0.1;transport=tcp?subject=x', 'http://x', 'sip:%00@x']);
    else parts[2] = m.pick(['SIP/3.0', 'SIP/2.0 ', 'sip/2.0', 'SIP/2', 'HTTP/1.1']);
    return Buffer.from(parts.join(' ') + s.slice(eol), 'latin1');
  },
  // Compact forms and case changes of header names.
  (b, m) => {
    const s = b.toString('latin1');
    const map: Array<[RegExp, string]> = [[/\r\nVia:/i, '\r\nv:'], [/\r\nFrom:/i, '\r\nf:'], [/\r\nTo:/i, '\r\nt:'], [/\r\nCall-ID:/i, '\r\ni:'], [/\r\nContent-Length:/i, '\r\nl:'], [/\r\nEvent:/i, '\r\no:'], [/\r\nContact:/i, '\r\nm:'], [/\r\nCSeq:/i, '\r\nCSEQ :']];
    const [re, to] = m.pick(map);
    return Buffer.from(s.replace(re, to), 'latin1');
  },
];

interface Outcome {
  sent: number;
  received: Buffer[];
  unparseable: Array<{ raw: string; error: string }>;
}

/** Loads the fixtures and points their addresses at `host:port` (so answers and NOTIFYs come back). */
function fixtures(host: string, port: number): Buffer[] {
  return readdirSync(FIXTURES).filter((f) => f.endsWith('.sip')).sort().map((f) => {
    const raw = readFileSync(join(FIXTURES, f));
    return Buffer.from(raw.toString('latin1').replace(/127\.0\.0\.1:\d+/g, `${host}:${port}`), 'latin1');
  });
}

/** A fresh branch and Call-ID per message, so that no two are one transaction or one dialog. */
function freshIds(b: Buffer, n: number): Buffer {
  const s = b.toString('latin1')
    .replace(/branch=[^;,\s\r\n]+/, `branch=z9hG4bKfz${SEED}x${n}`)
    .replace(/(\r\n(?:Call-ID|i)[ \t]*:[ \t]*)[^\r\n]*/i, `$1fuzz-${SEED}-${n}`);
  return Buffer.from(s, 'latin1');
}

function answer(req: SipMessage): Buffer | null {
  if (req.kind !== 'request' || req.method === 'ACK') return null;
  const h: Array<[string, string]> = req.headers.getAll('via').map((v) => ['Via', v]);
  h.push(['From', req.headers.get('from') ?? ''], ['To', req.headers.get('to') ?? ''], ['Call-ID', req.headers.get('call-id') ?? ''], ['CSeq', req.headers.get('cseq') ?? '']);
  return serialize({ kind: 'response', status: 200, reason: 'OK', headers: new Headers(h), body: Buffer.alloc(0) });
}

/** Lets Herald catch up before the next batch: wait until it has nothing in flight. */
async function settle(h: RunningHerald, maxMs = 20_000): Promise<void> {
  const until = Date.now() + maxMs;
  await new Promise((r) => setTimeout(r, 5));
  while (h.app.endpoint.pendingRequests > 0 && Date.now() < until) await new Promise((r) => setTimeout(r, 10));
}

describe('wire fuzz: mutated real-client messages against a running Herald', () => {
  let h: RunningHerald;
  const problems: string[] = [];
  const onRejection = (reason: unknown): void => {
    problems.push(`unhandledRejection: ${reason instanceof Error ? reason.stack ?? reason.message : String(reason)}`);
  };
  const onException = (err: Error): void => {
    problems.push(`uncaughtException: ${err.stack ?? err.message}`);
  };
  let udp: UdpSocket;
  const allowed = new Set<number>();
  let fenceStats: { dropped: number };

  beforeAll(async () => {
    process.on('unhandledRejection', onRejection);
    process.on('uncaughtException', onException);
    // Short timers: NOTIFYs to unreachable places give up within 3.2 s; retransmissions stay cheap.
    h = await startHerald({ sip_t1: 50, sip_t2: 400 });
    udp = createSocket('udp4');
    await new Promise<void>((r) => udp.bind(0, '127.0.0.1', () => r()));
    allowed.add(udp.address().port);
    fenceStats = fence(h, allowed);
  });

  afterAll(async () => {
    await new Promise<void>((r) => udp.close(() => r()));
    await h.stop();
    process.off('unhandledRejection', onRejection);
    process.off('uncaughtException', onException);
  });

  function check(buf: Buffer, datagram: boolean, out: Outcome): SipMessage | null {
    out.received.push(buf);
    try {
      return parseMessage(buf, { datagram });
    } catch (err) {
      out.unparseable.push({ raw: buf.toString('latin1').slice(0, 400), error: String(err) });
      return null;
    }
  }

  async function fuzzUdp(n: number, m: Mutator): Promise<Outcome> {
    const out: Outcome = { sent: 0, received: [], unparseable: [] };
    const port = udp.address().port;
    udp.on('message', (buf, rinfo) => {
      const msg = check(buf, true, out);
      const reply = msg && answer(msg);
      if (reply) udp.send(reply, rinfo.port, rinfo.address);
    });
    const base = fixtures('127.0.0.1', port);
    for (let i = 0; i < n; i++) {
      const msg = m.mutate(freshIds(m.pick(base), i), 60_000);
      await new Promise<void>((resolve) => udp.send(msg, h.udp.port, '127.0.0.1', () => resolve()));
      out.sent++;
      if (i % 100 === 99) await settle(h);
    }
    await settle(h);
    return out;
  }

  async function fuzzTcp(n: number, m: Mutator): Promise<Outcome> {
    const out: Outcome = { sent: 0, received: [], unparseable: [] };
    const base = fixtures('127.0.0.1', udp.address().port);
    let i = 0;
    while (i < n) {
      const sock = await new Promise<TcpSocket>((resolve, reject) => {
        const s = connect({ host: h.tcp.host, port: h.tcp.port }, () => resolve(s));
        s.once('error', reject);
      });
      sock.on('error', () => {});
      allowed.add(sock.localPort ?? 0);
      const framer = new StreamFramer(1024 * 1024);
      const closed = new Promise<void>((r) => sock.once('close', () => r()));
      sock.on('data', (chunk: Buffer) => {
        let msgs: Buffer[];
        try {
          msgs = framer.push(chunk);
        } catch (err) {
          out.unparseable.push({ raw: chunk.toString('latin1').slice(0, 400), error: `framing: ${String(err)}` });
          sock.destroy();
          return;
        }
        for (const b of msgs) {
          const msg = check(b, false, out);
          const reply = msg && answer(msg);
          if (reply && !sock.destroyed) sock.write(reply);
        }
      });
      // A few messages per connection: a broken frame closes it (Herald) or swallows what follows.
      const perConnection = 1 + m.int(12);
      for (let k = 0; k < perConnection && i < n && !sock.destroyed; k++, i++) {
        const msg = m.mutate(freshIds(m.pick(base), 100_000 + i), 70_000);
        // Sometimes in odd segments, sometimes glued with keep-alive CRLFs.
        if (m.chance(0.3)) {
          let at = 0;
          while (at < msg.length && !sock.destroyed) {
            const len = 1 + m.int(Math.min(600, msg.length - at));
            sock.write(msg.subarray(at, at + len));
            at += len;
            if (m.chance(0.3)) await new Promise((r) => setImmediate(r));
          }
        } else {
          sock.write(m.chance(0.1) ? Buffer.concat([Buffer.from('\r\n\r\n'), msg]) : msg);
        }
        out.sent++;
      }
      await settle(h);
      sock.end();
      await Promise.race([closed, new Promise((r) => setTimeout(r, 2000))]);
      sock.destroy();
      allowed.delete(sock.localPort ?? 0);
    }
    return out;
  }

  it(`survives ${TOTAL} mutated messages (seed ${SEED}) over UDP and TCP: still answers OPTIONS, every response parses, nothing unhandled`, async () => {
    const m = new Mutator(SEED);
    const u = await fuzzUdp(Math.ceil(TOTAL / 2), m);
    const t = await fuzzTcp(Math.floor(TOTAL / 2), m);

    for (const kind of ['udp', 'tcp'] as const) {
      const c = await SipTestClient.open(kind, h[kind]);
      allowed.add(c.local.port);
      try {
        const res = await c.request('OPTIONS', 'sip:herald@127.0.0.1', [], '', 10_000);
        expect(res.status).toBe(200);
      } finally {
        await c.close();
      }
    }
    const statuses = new Map<string, number>();
    for (const b of [...u.received, ...t.received]) {
      const k = /^SIP\/2\.0 (\d{3})/.exec(b.toString('latin1', 0, 16))?.[1] ?? 'request';
      statuses.set(k, (statuses.get(k) ?? 0) + 1);
    }
    console.log(`wire fuzz seed ${SEED}: sent udp ${u.sent} tcp ${t.sent}; received ${u.received.length + t.received.length} messages ${JSON.stringify(Object.fromEntries([...statuses].sort()))}; fence dropped ${fenceStats.dropped}`);
    expect(u.sent + t.sent).toBeGreaterThanOrEqual(5000);
    expect(u.received.length).toBeGreaterThan(0);
    expect(t.received.length).toBeGreaterThan(0);
    expect([...u.unparseable, ...t.unparseable]).toEqual([]);
    // A 500 means a handler broke an invariant on peer input: that is a bug, not a peer's fault.
    expect(statuses.get('500') ?? 0).toBe(0);
    expect(problems).toEqual([]);
  }, 600_000);
});
