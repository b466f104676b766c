import { SipParseError } from '../../src/sip/headers';
import type { SipRequest, SipResponse } from '../../src/sip/message';
import { parseMessage } from '../../src/sip/parser';

const PIDF = '<?xml version="1.0"?><presence/>';

/** A minimal valid request: CRLF lines, Content-Length in bytes unless `extra` overrides things. */
function request(extra: string[] = [], body = '', opts: { cl?: boolean; method?: string } = {}): Buffer {
  const method = opts.method ?? 'PUBLISH';
  const lines = [
    `${method} sip:alice@example.com SIP/2.0`,
    'Via: SIP/2.0/UDP 192.0.2.1:5060;branch=z9hG4bK776asdhds',
    'Max-Forwards: 70',
    'To: <sip:alice@example.com>',
    'From: <sip:alice@example.com>;tag=1928301774',
    'Call-ID: a84b4c76e66710',
    `CSeq: 314159 ${method}`,
    ...extra,
  ];
  if (opts.cl !== false) lines.push(`Content-Length: ${Buffer.byteLength(body)}`);
  return Buffer.from(`${lines.join('\r\n')}\r\n\r\n${body}`, 'utf8');
}

function req(data: Buffer, datagram = false): SipRequest {
  const m = parseMessage(data, { datagram });
  if (m.kind !== 'request') throw new Error('expected a request');
  return m;
}

function reasonOf(data: Buffer, datagram = false): string {
  try {
    parseMessage(data, { datagram });
  } catch (e) {
    if (e instanceof SipParseError) return e.reason;
    throw e;
  }
  throw new Error('parsed without error');
}

describe('parseMessage: start line', () => {
  it('reads method, Request-URI and headers of a request', () => {
    const m = req(request());
    expect(m.method).toBe('PUBLISH');
    expect(m.uri).toBe('sip:alice@example.com');
    expect(m.headers.get('call-id')).toBe('a84b4c76e66710');
  });

  it('reads status and reason (with spaces) of a response', () => {
    const raw = Buffer.from(
      'SIP/2.0 481 Call/transaction does not exist\r\nVia: SIP/2.0/UDP h;branch=z9hG4bK1\r\n' +
        'Call-ID: x\r\nCSeq: 8 NOTIFY\r\nContent-Length: 0\r\n\r\n',
    );
    const m = parseMessage(raw) as SipResponse;
    expect(m.kind).toBe('response');
    expect(m.status).toBe(481);
    expect(m.reason).toBe('Call/transaction does not exist');
  });

  it('accepts the SIP-Version in any case', () => {
    const raw = request().toString().replace('SIP/2.0\r\n', 'sip/2.0\r\n');
    expect(req(Buffer.from(raw)).method).toBe('PUBLISH');
  });

  it('answers 505 to another SIP version', () => {
    const raw = Buffer.from(request().toString().replace('SIP/2.0\r\n', 'SIP/3.0\r\n'));
    expect(() => parseMessage(raw)).toThrow(expect.objectContaining({ reason: 'Version Not Supported', status: 505 }));
  });

  it.each([
    ['two spaces', 'PUBLISH  sip:a@b SIP/2.0'],
    ['no URI', 'PUBLISH SIP/2.0'],
    ['URI without scheme', 'PUBLISH alice SIP/2.0'],
    ['bad method', 'PUB<LISH sip:a@b SIP/2.0'],
    ['bad version', 'PUBLISH sip:a@b HTTP/1.1'],
  ])('rejects a Request-Line with %s', (_, line) => {
    const raw = Buffer.from(request().toString().replace(/^[^\r]*/, line));
    expect(reasonOf(raw)).toBe('Bad Request-Line');
  });

  it('rejects a status code out of range', () => {
    const raw = Buffer.from('SIP/2.0 99 Odd\r\nVia: SIP/2.0/UDP h\r\nCall-ID: x\r\nCSeq: 1 NOTIFY\r\nContent-Length: 0\r\n\r\n');
    expect(reasonOf(raw)).toBe('Bad Status-Line');
  });

  it('ignores CRLFs before the start line', () => {
    expect(req(Buffer.concat([Buffer.from('\r\n\r\n'), request()])).method).toBe('PUBLISH');
  });

  it('rejects an empty message', () => {
    expect(reasonOf(Buffer.from('\r\n\r\n'))).toBe('Empty message');
    expect(reasonOf(Buffer.alloc(0))).toBe('Empty message');
  });
});

describe('parseMessage: header lines', () => {
  it('accepts bare LF line ends', () => {
    const raw = Buffer.from(request([], PIDF).toString().replace(/\r\n/g, '\n'));
    const m = req(raw);
    expect(m.headers.get('CSeq')).toBe('314159 PUBLISH');
    expect(m.body.toString()).toBe(PIDF);
  });

  it('joins folded lines with one space', () => {
    const m = req(request(['Subject: I know you are there,', ' \t pick up the phone', '\tand talk to me!']));
    expect(m.headers.get('Subject')).toBe('I know you are there, pick up the phone and talk to me!');
  });

  it('reads compact forms', () => {
    const raw = Buffer.from(
      'NOTIFY sip:b@h SIP/2.0\r\nv: SIP/2.0/UDP h;branch=z9hG4bK1\r\nf: <sip:a@h>;tag=1\r\nt: <sip:b@h>;tag=2\r\n' +
        'i: cid\r\nCSeq: 2 NOTIFY\r\no: presence\r\nc: application/pidf+xml\r\nl: 3\r\n\r\nabc',
    );
    const m = req(raw);
    expect(m.headers.get('Call-ID')).toBe('cid');
    expect(m.headers.get('Event')).toBe('presence');
    expect(m.body.toString()).toBe('abc');
  });

  it('accepts an empty header value (baresip sends "Supported:")', () => {
    const m = req(request(['Supported:']));
    expect(m.headers.get('Supported')).toBe('');
  });

  it('accepts whitespace between a header name and the colon', () => {
    expect(req(request(['Subject \t: hello'])).headers.get('subject')).toBe('hello');
  });

  it('keeps a UTF-8 display name', () => {
    const m = req(request(['Contact: "Zoë 😀" <sip:z@h>']));
    expect(m.headers.get('Contact')).toBe('"Zoë 😀" <sip:z@h>');
  });

  it.each([
    ['a line without colon', 'Garbage line', 'Bad header line'],
    ['an empty header name', ': value', 'Bad header name'],
    ['a name with a space', 'Bad Name: x', 'Bad header name'],
    ['a name with <', 'X<y: x', 'Bad header name'],
    ['a stray CR inside a line', 'Subject: a\rb', 'Bad header line'],
  ])('rejects %s', (_, line, reason) => {
    expect(reasonOf(request([line]))).toBe(reason);
  });

  it('rejects a continuation line right after the start line', () => {
    const raw = Buffer.from(request().toString().replace('\r\nVia:', '\r\n folded\r\nVia:'));
    expect(reasonOf(raw)).toBe('Bad header line');
  });

  it('rejects a NUL byte in the header section but not in the body', () => {
    expect(reasonOf(request(['Subject: a\0b']))).toBe('NUL byte in headers');
    expect(req(request([], 'a\0b')).body).toEqual(Buffer.from('a\0b'));
  });
});

describe('parseMessage: required headers', () => {
  it.each(['Via', 'From', 'To', 'Call-ID', 'CSeq'])('rejects a request without %s', (name) => {
    const raw = Buffer.from(
      request()
        .toString()
        .split('\r\n')
        .filter((l) => !l.startsWith(`${name}:`))
        .join('\r\n'),
    );
    expect(reasonOf(raw)).toBe(`Missing ${name}`);
  });

  it('rejects an empty Call-ID', () => {
    expect(reasonOf(Buffer.from(request().toString().replace('Call-ID: a84b4c76e66710', 'Call-ID:')))).toBe('Bad Call-ID');
  });

  it('rejects a non-numeric CSeq and a CSeq method that differs from the request method', () => {
    expect(reasonOf(Buffer.from(request().toString().replace('CSeq: 314159', 'CSeq: x314159')))).toBe('Bad CSeq');
    expect(reasonOf(Buffer.from(request().toString().replace('CSeq: 314159 PUBLISH', 'CSeq: 314159 publish')))).toBe(
      'CSeq method mismatch',
    );
  });

  it('rejects a non-numeric Max-Forwards', () => {
    expect(reasonOf(Buffer.from(request().toString().replace('Max-Forwards: 70', 'Max-Forwards: seventy'))))
      .toBe('Bad Max-Forwards');
  });

  it('rejects a second Call-ID or CSeq', () => {
    expect(reasonOf(request(['i: other']))).toBe('Duplicate Call-ID');
    expect(reasonOf(request(['CSeq: 1 PUBLISH']))).toBe('Duplicate CSeq');
  });

  it('requires Via, Call-ID and CSeq in a response, not From/To', () => {
    const ok = Buffer.from('SIP/2.0 200 OK\r\nVia: SIP/2.0/UDP h\r\nCall-ID: x\r\nCSeq: 2 NOTIFY\r\n\r\n');
    expect(parseMessage(ok, { datagram: true }).kind).toBe('response');
    const bad = Buffer.from('SIP/2.0 200 OK\r\nVia: SIP/2.0/UDP h\r\nCSeq: 2 NOTIFY\r\n\r\n');
    expect(reasonOf(bad, true)).toBe('Missing Call-ID');
  });

  it('attaches what it read to the error, for a 400 answer', () => {
    try {
      parseMessage(request(['CSeq: 1 PUBLISH']));
      throw new Error('accepted');
    } catch (e) {
      const partial = (e as SipParseError).partial;
      expect(partial?.kind).toBe('request');
      expect(partial?.headers.get('Via')).toContain('z9hG4bK776asdhds');
    }
  });
});

describe('parseMessage: body and Content-Length', () => {
  it('counts Content-Length in bytes for a UTF-8 body', () => {
    const body = '<note>Zoë ☕ 😀</note>';
    const raw = request(['Content-Type: text/plain'], body);
    expect(raw.toString().includes(`Content-Length: ${Buffer.byteLength(body)}`)).toBe(true);
    const m = req(raw);
    expect(m.body.length).toBe(Buffer.byteLength(body));
    expect(m.body.toString('utf8')).toBe(body);
  });

  it('takes the rest of the datagram as body when Content-Length is missing over UDP', () => {
    const m = req(request([], PIDF, { cl: false }), true);
    expect(m.body.toString()).toBe(PIDF);
    expect(req(request([], '', { cl: false }), true).body.length).toBe(0);
  });

  it('requires Content-Length on a stream', () => {
    expect(reasonOf(request([], PIDF, { cl: false }), false)).toBe('Missing Content-Length');
  });

  it('rejects a Content-Length larger than the datagram', () => {
    const raw = Buffer.from(request([], 'abc').toString().replace('Content-Length: 3', 'Content-Length: 4'));
    expect(reasonOf(raw, true)).toBe('Bad Content-Length');
  });

  it('truncates the body to a smaller Content-Length', () => {
    const raw = Buffer.from(request([], 'abcdef').toString().replace('Content-Length: 6', 'Content-Length: 2'));
    expect(req(raw, true).body.toString()).toBe('ab');
  });

  it.each(['-1', 'abc', '1e3', '99999999999'])('rejects Content-Length %j', (v) => {
    const raw = Buffer.from(request([], '').toString().replace('Content-Length: 0', `Content-Length: ${v}`));
    expect(reasonOf(raw, true)).toBe('Bad Content-Length');
  });

  it('accepts a datagram that ends right after the last header line', () => {
    const raw = Buffer.from(request([], '', { cl: false }).toString().replace(/\r\n$/, ''));
    expect(req(raw, true).body.length).toBe(0);
    expect(reasonOf(raw, false)).toBe('Incomplete header section');
  });

  it('ends the header section at the first empty line even if a CRLF one comes later', () => {
    const raw = Buffer.from(
      'NOTIFY sip:b@h SIP/2.0\nVia: SIP/2.0/UDP h\nFrom: <sip:a@h>\nTo: <sip:b@h>\nCall-ID: c\nCSeq: 1 NOTIFY\n\nbody\r\n\r\nmore',
    );
    const m = req(raw, true);
    expect(m.body.toString()).toBe('body\r\n\r\nmore');
  });
});

describe('parseMessage: safety net', () => {
  it('turns an unexpected internal error into SipParseError carrying the cause', () => {
    const bogus = { length: 1, indexOf: () => { throw new TypeError('boom'); } } as unknown as Buffer;
    try {
      parseMessage(bogus);
      throw new Error('accepted');
    } catch (e) {
      expect(e).toBeInstanceOf(SipParseError);
      expect((e as SipParseError).reason).toBe('Malformed message');
      expect((e as SipParseError).cause).toBeInstanceOf(TypeError);
    }
  });
});
