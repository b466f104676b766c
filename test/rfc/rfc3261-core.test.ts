/**
 * RFC 3261 core conformance of Herald's SIP layer, over real loopback UDP and TCP sockets:
 * raw SIP in, raw SIP out. Each test is named after the rule it checks.
 */
import { createSocket, type Socket as UdpSocket } from 'node:dgram';
import { connect, type Socket as TcpSocket } from 'node:net';
import { randomBytes } from 'node:crypto';
import { parseMessage } from '../../src/sip/parser';
import { parseVia } from '../../src/sip/headers';
import type { SipMessage, SipResponse } from '../../src/sip/message';
import { startHerald, type RunningHerald } from '../support/herald';
import { SipTestClient, pidf, tagOf } from '../support/sip-client';

type Kind = 'udp' | 'tcp';
const CRLF = '\r\n';

function branch(): string {
  return `z9hG4bK${randomBytes(8).toString('hex')}`;
}

/** The usual header lines of a request from `c` (Via with `br` and rport), minus any in `omit`. */
function lines(c: SipTestClient, method: string, br: string, omit: string[] = []): string[] {
  const all: Array<[string, string]> = [
    ['Via', `SIP/2.0/${c.transport.toUpperCase()} ${c.local.host}:${c.local.port};branch=${br};rport`],
    ['Max-Forwards', '70'],
    ['From', `<sip:tester@127.0.0.1>;tag=${randomBytes(4).toString('hex')}`],
    ['To', '<sip:herald@127.0.0.1>'],
    ['Call-ID', `${randomBytes(6).toString('hex')}@test`],
    ['CSeq', `1 ${method}`],
  ];
  return all.filter(([n]) => !omit.includes(n)).map(([n, v]) => `${n}: ${v}`);
}

/** A whole request as text: start line, header lines, Content-Length (unless `noLength`), body. */
function wire(method: string, head: string[], body = '', noLength = false, uri = 'sip:herald@127.0.0.1'): string {
  const all = [`${method} ${uri} SIP/2.0`, ...head];
  if (!noLength) all.push(`Content-Length: ${Buffer.byteLength(body, 'utf8')}`);
  return all.join(CRLF) + CRLF + CRLF + body;
}

const byBranch = (br: string) => (m: SipMessage): boolean => m.kind === 'response' && (m.headers.get('via') ?? '').includes(br);

async function send(c: SipTestClient, text: string | Buffer, br: string): Promise<SipResponse> {
  const done = c.waitFor(byBranch(br), 5000);
  c.sendRaw(text);
  return (await done) as SipResponse;
}

function rawOf(c: SipTestClient, m: SipMessage): string {
  return (c.raw[c.received.indexOf(m)] as Buffer).toString('latin1');
}

function headerNames(raw: string): string[] {
  return raw.split('\r\n\r\n')[0]!.split('\r\n').slice(1).map((l) => l.slice(0, l.indexOf(':')).trim());
}

describe.each<Kind>(['udp', 'tcp'])('RFC 3261 core over %s', (kind) => {
  let h: RunningHerald;
  let c: SipTestClient;
  beforeAll(async () => {
    h = await startHerald({ max_message_size: 2048 });
    c = await SipTestClient.open(kind, h[kind]);
  });
  afterAll(async () => {
    await c.close();
    await h.stop();
  });

  it('RFC 3261 §11.2: answers OPTIONS 200 with Allow, Allow-Events, Accept and Supported', async () => {
    const br = branch();
    const res = await send(c, wire('OPTIONS', [...lines(c, 'OPTIONS', br), 'Accept: application/sdp']), br);
    expect(res.status).toBe(200);
    const allow = (res.headers.get('allow') ?? '').split(/\s*,\s*/);
    expect(allow).toEqual(expect.arrayContaining(['OPTIONS', 'PUBLISH', 'SUBSCRIBE']));
    expect(allow).not.toContain('INVITE');
    expect((res.headers.get('allow-events') ?? '').split(/\s*,\s*/)).toEqual(expect.arrayContaining(['presence', 'presence.winfo']));
    expect(res.headers.get('accept')).toContain('application/pidf+xml');
    expect(res.headers.get('supported')).toBeDefined();
    expect(headerNames(rawOf(c, res))).toEqual(expect.arrayContaining(['Allow', 'Allow-Events', 'Accept', 'Supported']));
  });

  it('RFC 3261 §8.2.1: answers 405 with Allow to INVITE, a method it does not serve', async () => {
    const br = branch();
    const res = await send(c, wire('INVITE', [...lines(c, 'INVITE', br), 'Contact: <sip:tester@127.0.0.1>']), br);
    expect(res.status).toBe(405);
    expect(res.headers.get('allow')).toMatch(/SUBSCRIBE/);
    expect(res.headers.get('allow')).not.toMatch(/INVITE/);
  });

  it.each(['NOTIFY', 'MESSAGE', 'INFO'])('RFC 3261 §8.2.1: answers 405 with Allow to %s, a method it does not serve', async (method) => {
    const br = branch();
    const res = await send(c, wire(method, [...lines(c, method, br), 'Event: presence', 'Content-Type: text/plain'], 'hi'), br);
    expect(res.status).toBe(405);
    expect(res.headers.get('allow')).toMatch(/PUBLISH/);
    expect(res.headers.get('allow')).not.toMatch(new RegExp(method));
  });

  it('RFC 3261 §17.2.3: absorbs an ACK (a non-INVITE server sends no response to it)', async () => {
    const ack = branch();
    c.sendRaw(wire('ACK', lines(c, 'ACK', ack)));
    // A request sent after the ACK is answered; nothing ever answered the ACK before it.
    const br = branch();
    const res = await send(c, wire('OPTIONS', lines(c, 'OPTIONS', br)), br);
    expect(res.status).toBe(200);
    expect(c.received.filter(byBranch(ack))).toHaveLength(0);
  });

  it('RFC 3261 §8.2.2.3: answers 420 with Unsupported listing an unknown extension in Require', async () => {
    const br = branch();
    const res = await send(c, wire('SUBSCRIBE', [...lines(c, 'SUBSCRIBE', br), 'Event: presence', 'Require: herald-teleport, 100rel']), br);
    expect(res.status).toBe(420);
    expect((res.headers.get('unsupported') ?? '').split(/\s*,\s*/)).toEqual(expect.arrayContaining(['herald-teleport', '100rel']));
  });

  it('RFC 3261 §8.2 / §16.3: answers 483 Too Many Hops to a request with Max-Forwards: 0', async () => {
    const br = branch();
    const head = lines(c, 'SUBSCRIBE', br, ['Max-Forwards']);
    const res = await send(c, wire('SUBSCRIBE', [...head, 'Max-Forwards: 0', 'Event: presence', `Contact: <${c.contact()}>`]), br);
    expect(res.status).toBe(483);
  });

  it('RFC 3261 §11 / §16.3: still answers OPTIONS with Max-Forwards: 0 as its final recipient (sipsak pings)', async () => {
    const br = branch();
    const res = await send(c, wire('OPTIONS', [...lines(c, 'OPTIONS', br, ['Max-Forwards']), 'Max-Forwards: 0']), br);
    expect(res.status).toBe(200);
  });

  describe('RFC 3261 §8.2 / §7: a malformed request gets 400 whose reason phrase names the problem', () => {
    it('a CSeq that is not "number method"', async () => {
      const br = branch();
      const res = await send(c, wire('OPTIONS', [...lines(c, 'OPTIONS', br, ['CSeq']), 'CSeq: abc OPTIONS']), br);
      expect(res.status).toBe(400);
      expect(res.reason).toMatch(/CSeq/);
    });

    it('a missing Call-ID (RFC 3261 §8.1.1: mandatory)', async () => {
      const br = branch();
      const res = await send(c, wire('OPTIONS', lines(c, 'OPTIONS', br, ['Call-ID'])), br);
      expect(res.status).toBe(400);
      expect(res.reason).toMatch(/Call-ID/);
    });

    it('a CSeq method that differs from the request method (RFC 3261 §20.16)', async () => {
      const br = branch();
      const res = await send(c, wire('OPTIONS', [...lines(c, 'OPTIONS', br, ['CSeq']), 'CSeq: 7 PUBLISH']), br);
      expect(res.status).toBe(400);
      expect(res.reason).toMatch(/CSeq method/);
    });

    it('a garbage header line without a colon', async () => {
      const br = branch();
      const res = await send(c, wire('OPTIONS', [...lines(c, 'OPTIONS', br), 'this is not a header line']), br);
      expect(res.status).toBe(400);
      expect(res.reason).toMatch(/header/i);
    });

    it('a Max-Forwards that is not a number (RFC 3261 §20.22)', async () => {
      const br = branch();
      const res = await send(c, wire('OPTIONS', [...lines(c, 'OPTIONS', br, ['Max-Forwards']), 'Max-Forwards: many']), br);
      expect(res.status).toBe(400);
      expect(res.reason).toMatch(/Max-Forwards/);
    });

    it('the 400 still routes: it copies the Via branch and CSeq so the client can match it', async () => {
      const br = branch();
      const res = await send(c, wire('OPTIONS', [...lines(c, 'OPTIONS', br, ['CSeq']), 'CSeq: 9 PUBLISH']), br);
      expect(res.headers.get('cseq')).toBe('9 PUBLISH');
      expect(parseVia(res.headers.getAll('via')[0] ?? '').branch).toBe(br);
    });
  });

  it(`RFC 3261 §18.1.1 / §21.5.14: answers 513 Message Too Large over ${kind} to a request above max_message_size`, async () => {
    // A fresh connection over TCP: after a framing error the stream can't be resynchronised and is closed.
    const own = kind === 'tcp' ? await SipTestClient.open(kind, h[kind]) : c;
    try {
      const br = branch();
      const res = await send(own, wire('MESSAGE', [...lines(own, 'MESSAGE', br), 'Content-Type: text/plain'], 'x'.repeat(3000)), br);
      expect(res.status).toBe(513);
    } finally {
      if (own !== c) await own.close();
    }
  });

  it('RFC 3581 §4: fills rport with the source port and adds received when the sent-by host differs', async () => {
    const br = branch();
    const head = lines(c, 'OPTIONS', br, ['Via']);
    const res = await send(c, wire('OPTIONS', [`Via: SIP/2.0/${kind.toUpperCase()} 192.0.2.7:5999;branch=${br};rport`, ...head]), br);
    expect(res.status).toBe(200);
    const v = parseVia(res.headers.getAll('via')[0] ?? '');
    expect(v.params.get('rport')).toBe(String(c.local.port));
    expect(v.params.get('received')).toBe('127.0.0.1');
    expect(v.host).toBe('192.0.2.7');
  });

  it('RFC 3261 §18.2.1: adds no received parameter when the sent-by host is the source address', async () => {
    const br = branch();
    const res = await send(c, wire('OPTIONS', lines(c, 'OPTIONS', br)), br);
    const v = parseVia(res.headers.getAll('via')[0] ?? '');
    expect(v.params.has('received')).toBe(false);
    expect(v.params.get('rport')).toBe(String(c.local.port));
  });

  it('RFC 3261 §8.2.6.2: the response copies every Via in order, From, To (adding a tag), Call-ID and CSeq', async () => {
    const br = branch();
    const vias = [
      `SIP/2.0/${kind.toUpperCase()} ${c.local.host}:${c.local.port};branch=${br};rport`,
      'SIP/2.0/UDP proxy1.example.com:5060;branch=z9hG4bKp1;received=192.0.2.1',
      'SIP/2.0/TCP [2001:db8::9]:5070;branch=z9hG4bKp2',
    ];
    const from = '"Tester" <sip:tester@127.0.0.1>;tag=f00d';
    const to = '"Herald" <sip:herald@127.0.0.1>';
    const text = [
      'OPTIONS sip:herald@127.0.0.1 SIP/2.0', `Via: ${vias[0]}`, `Via: ${vias[1]}, ${vias[2]}`, 'Max-Forwards: 70',
      `From: ${from}`, `To: ${to}`, 'Call-ID: copy-me@test', 'CSeq: 4711 OPTIONS', 'Content-Length: 0', '', '',
    ].join(CRLF);
    const res = await send(c, text, br);
    expect(res.status).toBe(200);
    const got = res.headers.getAll('via');
    expect(got).toHaveLength(3);
    expect(got[0]).toBe(`${vias[0]}=${c.local.port}`);
    expect(got.slice(1)).toEqual(vias.slice(1));
    expect(res.headers.get('from')).toBe(from);
    expect(res.headers.get('to')).toMatch(new RegExp(`^${to.replace(/[.*+?^${}()|[\]\\]/g, '\\$&')};tag=\\S+$`));
    expect(tagOf(res.headers.get('to'))).toBeTruthy();
    expect(res.headers.get('call-id')).toBe('copy-me@test');
    expect(res.headers.get('cseq')).toBe('4711 OPTIONS');
  });

  it('RFC 3261 §8.2.6.2: keeps a To tag the request already has', async () => {
    const br = branch();
    const res = await send(c, wire('OPTIONS', [...lines(c, 'OPTIONS', br, ['To']), 'To: <sip:herald@127.0.0.1>;tag=already']), br);
    expect(res.headers.get('to')).toBe('<sip:herald@127.0.0.1>;tag=already');
  });

  it('RFC 3261 §20.14 / §18.3: every response carries Content-Length', async () => {
    const br = branch();
    const res = await send(c, wire('INVITE', lines(c, 'INVITE', br)), br);
    expect(rawOf(c, res)).toMatch(/\r\nContent-Length: 0\r\n\r\n$/);
  });

  it('RFC 3261 §20.14: Content-Length counts bytes of a UTF-8 body, in and out', async () => {
    const aor = `sip:utf8-${kind}@127.0.0.1`;
    const watcher = await SipTestClient.open(kind, h[kind]);
    try {
      const sub = await watcher.request('SUBSCRIBE', aor, [['Event', 'presence'], ['Expires', '60'], ['Contact', `<${watcher.contact('w')}>`]]);
      expect(sub.status).toBeLessThan(300);
      const note = 'Grüße aus Köln ☕ — 会議中';
      const body = pidf(aor, 'open', note);
      expect(Buffer.byteLength(body, 'utf8')).toBeGreaterThan(body.length);
      const br = branch();
      const pub = await send(c, wire('PUBLISH', [...lines(c, 'PUBLISH', br, ['To']), `To: <${aor}>`, 'Event: presence', 'Expires: 60', 'Content-Type: application/pidf+xml'], body, false, aor), br);
      expect(pub.status).toBe(200);
      const notify = await watcher.waitForRequest('NOTIFY', (n) => n.body.toString('utf8').includes(note), 5000, true);
      const raw = watcher.raw[watcher.received.indexOf(notify)] as Buffer;
      const declared = Number(/\r\nContent-Length: (\d+)\r\n/i.exec(raw.toString('latin1'))?.[1]);
      expect(declared).toBe(notify.body.length);
      expect(raw.length - raw.indexOf('\r\n\r\n') - 4).toBe(declared);
    } finally {
      await watcher.close();
    }
  });

  if (kind === 'udp') {
    it('RFC 3261 §18.3: accepts a UDP request without Content-Length (the body is the rest of the datagram, linphone style)', async () => {
      const br = branch();
      const res = await send(c, wire('OPTIONS', lines(c, 'OPTIONS', br), '', true), br);
      expect(res.status).toBe(200);
      const aor = 'sip:nolength@127.0.0.1';
      const br2 = branch();
      const pub = await send(c, wire('PUBLISH', [...lines(c, 'PUBLISH', br2, ['To']), `To: <${aor}>`, 'Event: presence', 'Expires: 60', 'Content-Type: application/pidf+xml'], pidf(aor, 'open'), true, aor), br2);
      expect(pub.status).toBe(200);
      const live = await h.app.store.publications.live(aor, 'presence', Date.now());
      expect(live).toHaveLength(1);
      expect(live[0]?.body).toContain('<basic>open</basic>');
    });

    it('RFC 3261 §18.2.2: without rport the response goes to the sent-by port of the top Via', async () => {
      const other = createSocket('udp4');
      await new Promise<void>((r) => other.bind(0, '127.0.0.1', () => r()));
      try {
        const port = other.address().port;
        const got = new Promise<Buffer>((resolve) => other.once('message', (m) => resolve(m)));
        const br = branch();
        const head = lines(c, 'OPTIONS', br, ['Via']);
        c.sendRaw(wire('OPTIONS', [`Via: SIP/2.0/UDP 127.0.0.1:${port};branch=${br}`, ...head]));
        const res = parseMessage(await got, { datagram: true }) as SipResponse;
        expect(res.status).toBe(200);
        expect(res.headers.get('via')).toContain(br);
        expect(c.received.filter(byBranch(br))).toHaveLength(0);
      } finally {
        await new Promise<void>((r) => other.close(() => r()));
      }
    });

    it('RFC 3581 §4: with rport the response goes to the source port even when sent-by names another', async () => {
      const br = branch();
      const head = lines(c, 'OPTIONS', br, ['Via']);
      const res = await send(c, wire('OPTIONS', [`Via: SIP/2.0/UDP 127.0.0.1:9;branch=${br};rport`, ...head]), br);
      expect(res.status).toBe(200);
      expect(parseVia(res.headers.getAll('via')[0] ?? '').params.get('rport')).toBe(String(c.local.port));
    });

    it('RFC 5626 §3.5.1 / §7.5: a CRLF keep-alive datagram is ignored and Herald keeps answering', async () => {
      c.sendRaw('\r\n\r\n');
      c.sendRaw('\r\n');
      const br = branch();
      const res = await send(c, wire('OPTIONS', lines(c, 'OPTIONS', br)), br);
      expect(res.status).toBe(200);
    });
  } else {
    it('RFC 3261 §18.3: rejects a TCP request without Content-Length with 400 naming it', async () => {
      const own = await SipTestClient.open('tcp', h.tcp);
      try {
        const br = branch();
        const res = await send(own, wire('OPTIONS', lines(own, 'OPTIONS', br), '', true), br);
        expect(res.status).toBe(400);
        expect(res.reason).toMatch(/Content-Length/);
      } finally {
        await own.close();
      }
    });

    it('RFC 3261 §18.3: rejects a TCP request with a non-numeric Content-Length with 400 naming it', async () => {
      const own = await SipTestClient.open('tcp', h.tcp);
      try {
        const br = branch();
        const res = await send(own, wire('OPTIONS', [...lines(own, 'OPTIONS', br), 'Content-Length: ten'], '', true), br);
        expect(res.status).toBe(400);
        expect(res.reason).toBe('Bad Content-Length');
      } finally {
        await own.close();
      }
    });

    it('RFC 3261 §18.2.2: over TCP the response goes back on the request\'s connection, whatever sent-by says', async () => {
      const br = branch();
      const head = lines(c, 'OPTIONS', br, ['Via']);
      const res = await send(c, wire('OPTIONS', [`Via: SIP/2.0/TCP 127.0.0.1:9;branch=${br}`, ...head]), br);
      expect(res.status).toBe(200);
    });

    it('RFC 3261 §18.3: frames two requests that arrive in one TCP segment', async () => {
      const b1 = branch();
      const b2 = branch();
      const both = c.waitFor(byBranch(b2), 5000);
      const first = c.waitFor(byBranch(b1), 5000);
      c.sendRaw(wire('OPTIONS', lines(c, 'OPTIONS', b1)) + wire('PUBLISH', [...lines(c, 'PUBLISH', b2, ['To']), 'To: <sip:two@127.0.0.1>', 'Event: presence', 'Expires: 60', 'Content-Type: application/pidf+xml'], pidf('sip:two@127.0.0.1', 'closed'), false, 'sip:two@127.0.0.1'));
      expect(((await first) as SipResponse).status).toBe(200);
      expect(((await both) as SipResponse).status).toBe(200);
    });

    it('RFC 3261 §18.3: frames one request split across TCP segments (inside a header and inside the body)', async () => {
      const raw = await new Promise<TcpSocket>((resolve, reject) => {
        const s = connect({ host: h.tcp.host, port: h.tcp.port }, () => resolve(s));
        s.once('error', reject);
      });
      try {
        const chunks: Buffer[] = [];
        raw.on('data', (d: Buffer) => chunks.push(d));
        const br = branch();
        const aor = 'sip:split@127.0.0.1';
        const text = Buffer.from(wire('PUBLISH', [
          `Via: SIP/2.0/TCP 127.0.0.1:${raw.localPort};branch=${br};rport`, 'Max-Forwards: 70', `From: <${aor}>;tag=sp1`, `To: <${aor}>`,
          'Call-ID: split@test', 'CSeq: 1 PUBLISH', 'Event: presence', 'Expires: 60', 'Content-Type: application/pidf+xml',
        ], pidf(aor, 'open', 'split ✂'), false, aor), 'utf8');
        const cuts = [10, text.indexOf('Content-Length') + 9, text.indexOf('\r\n\r\n') + 1, text.length - 7];
        let at = 0;
        for (const cut of cuts) {
          raw.write(text.subarray(at, cut));
          at = cut;
          // Separate writes; Nagle is off on both ends, so loopback delivers them as separate segments.
          await new Promise((r) => setImmediate(r));
        }
        raw.write(text.subarray(at));
        const res = await waitTcp(chunks, br);
        expect(res.status).toBe(200);
        const live = await h.app.store.publications.live(aor, 'presence', Date.now());
        expect(live[0]?.body).toContain('split ✂');
      } finally {
        raw.destroy();
      }
    });

    it('RFC 3261 §7.5 / RFC 5626 §4.4.1: ignores CRLF keep-alives between messages on a TCP connection', async () => {
      const b1 = branch();
      const b2 = branch();
      const second = c.waitFor(byBranch(b2), 5000);
      c.sendRaw('\r\n\r\n');
      c.sendRaw(`\r\n${wire('OPTIONS', lines(c, 'OPTIONS', b1))}\r\n\r\n\r\n`);
      c.sendRaw(wire('OPTIONS', lines(c, 'OPTIONS', b2)));
      expect(((await second) as SipResponse).status).toBe(200);
      expect(c.received.filter(byBranch(b1))).toHaveLength(1);
    });

    it('RFC 3261 §18.1.1 / §21.5.14: answers 513 also when the oversized request arrives in several TCP segments', async () => {
      const own = await SipTestClient.open('tcp', h.tcp);
      try {
        const br = branch();
        const text = wire('MESSAGE', [...lines(own, 'MESSAGE', br), 'Content-Type: text/plain'], 'y'.repeat(3000));
        const split = text.indexOf('\r\n\r\n');
        const done = own.waitFor(byBranch(br), 5000);
        own.sendRaw(text.slice(0, split));
        await new Promise((r) => setTimeout(r, 50));
        own.sendRaw(text.slice(split));
        expect(((await done) as SipResponse).status).toBe(513);
      } finally {
        await own.close();
      }
    });
  }
});

/** Reads the response with Via branch `br` from the bytes a raw TCP socket has received so far. */
async function waitTcp(chunks: Buffer[], br: string): Promise<SipResponse> {
  for (let i = 0; i < 500; i++) {
    const all = Buffer.concat(chunks).toString('latin1');
    if (all.includes(br) && /\r\n\r\n/.test(all.slice(all.indexOf(br)))) {
      return parseMessage(Buffer.concat(chunks)) as SipResponse;
    }
    await new Promise((r) => setTimeout(r, 10));
  }
  throw new Error('no response on the raw TCP socket');
}

/** IPv6 loopback: is `::1` usable on this machine? */
async function ipv6Loopback(): Promise<boolean> {
  const s = createSocket('udp6');
  try {
    await new Promise<void>((resolve, reject) => {
      s.once('error', reject);
      s.bind(0, '::1', () => resolve());
    });
    return true;
  } catch {
    return false;
  } finally {
    try { s.close(); } catch { /* never bound */ }
  }
}

describe('RFC 3261 §25.1 / §18: IPv6 references over [::1]', () => {
  let h: RunningHerald | null = null;
  let available = false;
  beforeAll(async () => {
    available = await ipv6Loopback();
    if (available) h = await startHerald({ sip_listen: 'udp:[::1]:0,tcp:[::1]:0' });
    else console.warn('IPv6 loopback ::1 is not available here: the IPv6 tests are skipped');
  });
  afterAll(async () => {
    await h?.stop();
  });

  it.each<Kind>(['udp', 'tcp'])('answers OPTIONS over %s:[::1] with Via [::1] host, rport and Content-Length', async (kind) => {
    if (!available || !h) return;
    const target = h[kind];
    const br = branch();
    const reply = kind === 'udp' ? await udp6Exchange(target.port, br) : await tcp6Exchange(target.port, br);
    const res = parseMessage(reply, { datagram: kind === 'udp' }) as SipResponse;
    expect(res.status).toBe(200);
    const v = parseVia(res.headers.getAll('via')[0] ?? '');
    expect(v.host).toBe('[::1]');
    expect(v.branch).toBe(br);
    expect(v.params.get('rport')).toMatch(/^\d+$/);
    expect(v.params.has('received')).toBe(false);
    expect(reply.toString('latin1')).toMatch(/\r\nContent-Length: 0\r\n/);
  });
});

function v6Request(kind: Kind, port: number, br: string): string {
  return [
    `OPTIONS sip:herald@[::1] SIP/2.0`, `Via: SIP/2.0/${kind.toUpperCase()} [::1]:${port};branch=${br};rport`, 'Max-Forwards: 70',
    'From: <sip:tester@[::1]>;tag=v6', 'To: <sip:herald@[::1]>', `Call-ID: ${br}@v6`, 'CSeq: 1 OPTIONS', 'Content-Length: 0', '', '',
  ].join(CRLF);
}

async function udp6Exchange(port: number, br: string): Promise<Buffer> {
  const s: UdpSocket = createSocket('udp6');
  await new Promise<void>((r) => s.bind(0, '::1', () => r()));
  try {
    const got = new Promise<Buffer>((resolve, reject) => {
      const t = setTimeout(() => reject(new Error('no answer over udp6')), 5000);
      s.on('message', (m) => {
        if (m.toString('latin1').includes(br)) {
          clearTimeout(t);
          resolve(m);
        }
      });
    });
    s.send(v6Request('udp', s.address().port, br), port, '::1');
    return await got;
  } finally {
    s.close();
  }
}

async function tcp6Exchange(port: number, br: string): Promise<Buffer> {
  const s = await new Promise<TcpSocket>((resolve, reject) => {
    const x = connect({ host: '::1', port }, () => resolve(x));
    x.once('error', reject);
  });
  try {
    const chunks: Buffer[] = [];
    s.on('data', (d: Buffer) => chunks.push(d));
    s.write(v6Request('tcp', s.localPort ?? 0, br));
    await waitTcp(chunks, br);
    return Buffer.concat(chunks);
  } finally {
    s.destroy();
  }
}
