import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { Headers, type SipMessage, type SipRequest } from '../../src/sip/message';
import { parseMessage } from '../../src/sip/parser';
import { serialize } from '../../src/sip/serializer';

const FIXTURES = join(__dirname, '..', 'fixtures', 'sip');

function notify(body: Buffer, extra: Array<[string, string]> = []): SipRequest {
  return {
    kind: 'request',
    method: 'NOTIFY',
    uri: 'sip:bob@192.0.2.4:5060',
    headers: new Headers([
      ['Via', 'SIP/2.0/UDP 192.0.2.1:5060;branch=z9hG4bK1'],
      ['From', '<sip:alice@example.com>;tag=a'],
      ['To', '<sip:bob@example.com>;tag=b'],
      ['Call-ID', 'c1'],
      ['CSeq', '2 NOTIFY'],
      ...extra,
    ]),
    body,
  };
}

/** Everything a peer can observe: start line, headers without Content-Length, body bytes. */
function view(m: SipMessage): unknown {
  const start = m.kind === 'request' ? [m.method, m.uri] : [m.status, m.reason];
  const headers = m.headers.entries().filter(([n]) => !/^(content-length|l)$/i.test(n));
  return { start, headers, body: m.body.toString('hex') };
}

describe('serialize', () => {
  it('writes Content-Length 20 for a 20-byte body with non-ASCII characters', () => {
    const body = Buffer.from('Zoë ☕ says hi!!!!', 'utf8');
    expect(body.length).toBe(20);
    expect('Zoë ☕ says hi!!!!'.length).toBe(17);
    const text = serialize(notify(body)).toString('utf8');
    expect(text).toContain('\r\nContent-Length: 20\r\n\r\nZoë ☕ says hi!!!!');
  });

  it('drops a given Content-Length (full or compact) and writes the real one last', () => {
    const out = serialize(notify(Buffer.from('abc'), [['l', '99'], ['Content-Length', '7'], ['Event', 'presence']]));
    const text = out.toString();
    expect(text.match(/content-length|\r\nl:/gi)).toHaveLength(1);
    expect(text.endsWith('Event: presence\r\nContent-Length: 3\r\n\r\nabc')).toBe(true);
  });

  it('writes Content-Length: 0 for an empty body', () => {
    expect(serialize(notify(Buffer.alloc(0))).toString()).toMatch(/\r\nContent-Length: 0\r\n\r\n$/);
  });

  it('keeps header order as inserted and writes a status line', () => {
    const res: SipMessage = {
      kind: 'response',
      status: 200,
      reason: 'OK',
      headers: new Headers([['Via', 'v'], ['To', 't'], ['From', 'f'], ['Call-ID', 'c'], ['CSeq', '1 PUBLISH'], ['SIP-ETag', 'e1']]),
      body: Buffer.alloc(0),
    };
    expect(serialize(res).toString()).toBe(
      'SIP/2.0 200 OK\r\nVia: v\r\nTo: t\r\nFrom: f\r\nCall-ID: c\r\nCSeq: 1 PUBLISH\r\nSIP-ETag: e1\r\nContent-Length: 0\r\n\r\n',
    );
  });

  it('writes an empty header value without trailing space', () => {
    expect(serialize(notify(Buffer.alloc(0), [['Supported', '']])).toString()).toContain('\r\nSupported:\r\n');
  });

  it('refuses header values that would inject a line', () => {
    const m = notify(Buffer.alloc(0), [['Subject', 'x']]);
    m.headers.set('Subject', 'a\r\nVia: evil');
    expect(() => serialize(m)).toThrow(/CR\/LF/);
    expect(() => serialize(notify(Buffer.alloc(0), [['Bad Name', 'x']]))).toThrow(/header name/);
  });

  it('encodes a string body as UTF-8 bytes even when the types are bypassed', () => {
    const m = notify(Buffer.alloc(0));
    (m as unknown as { body: string }).body = 'ü';
    expect(serialize(m).toString()).toMatch(/Content-Length: 2\r\n\r\nü$/);
  });
});

describe('parse -> serialize -> parse', () => {
  const files = readdirSync(FIXTURES).filter((f) => f.endsWith('.sip') && !f.startsWith('bad-'));

  it.each(files)('%s survives a round trip unchanged', (file) => {
    const first = parseMessage(readFileSync(join(FIXTURES, file)), { datagram: true });
    const bytes = serialize(first);
    const second = parseMessage(bytes, { datagram: false });
    expect(view(second)).toEqual(view(first));
    expect(serialize(second).equals(bytes)).toBe(true);
  });

  it('keeps a UTF-8 body byte for byte', () => {
    const body = Buffer.from('<p>naïve café 😀</p>', 'utf8');
    const again = parseMessage(serialize(notify(body)));
    expect(again.body.equals(body)).toBe(true);
  });
});
