import {
  parseCSeq,
  parseEvent,
  parseMediaType,
  parseNameAddr,
  parseParams,
  parseVia,
  SipParseError,
  splitTopLevel,
} from '../../src/sip/headers';
import { canonicalName, Headers } from '../../src/sip/message';

describe('Headers', () => {
  it('looks names up case-insensitively', () => {
    const h = new Headers([['cAlL-iD', 'abc']]);
    expect(h.get('Call-ID')).toBe('abc');
    expect(h.get('CALL-ID')).toBe('abc');
    expect(h.has('call-id')).toBe(true);
  });

  it.each([
    ['i', 'Call-ID'],
    ['f', 'From'],
    ['t', 'To'],
    ['v', 'Via'],
    ['m', 'Contact'],
    ['l', 'Content-Length'],
    ['c', 'Content-Type'],
    ['k', 'Supported'],
    ['o', 'Event'],
    ['u', 'Allow-Events'],
    ['e', 'Content-Encoding'],
    ['s', 'Subject'],
  ])('finds compact form %s under %s, and the other way round', (short, full) => {
    const h = new Headers([[short, 'x']]);
    expect(h.get(full)).toBe('x');
    expect(h.get(short.toUpperCase())).toBe('x');
    const g = new Headers([[full, 'y']]);
    expect(g.get(short)).toBe('y');
    expect(canonicalName(short)).toBe(full.toLowerCase());
  });

  it('returns the first occurrence from get and every line from getAll, in order', () => {
    const h = new Headers([
      ['Subject', 'one'],
      ['Via', 'SIP/2.0/UDP a'],
      ['subject', 'two'],
      ['v', 'SIP/2.0/UDP b, SIP/2.0/UDP c'],
    ]);
    expect(h.get('Subject')).toBe('one');
    expect(h.getAll('Subject')).toEqual(['one', 'two']);
    expect(h.getAll('Via')).toEqual(['SIP/2.0/UDP a', 'SIP/2.0/UDP b', 'SIP/2.0/UDP c']);
    expect(h.getAll('X-Missing')).toEqual([]);
  });

  it('splits comma lists outside quotes and angle brackets', () => {
    const h = new Headers([
      ['Contact', '"Doe, John" <sip:j@h;a=1,2>;q=0.5, <sip:k@h>;+sip.instance="<urn:uuid:1,2>"'],
      ['Supported', 'replaces, outbound, gruu'],
    ]);
    expect(h.getAll('Contact')).toEqual([
      '"Doe, John" <sip:j@h;a=1,2>;q=0.5',
      '<sip:k@h>;+sip.instance="<urn:uuid:1,2>"',
    ]);
    expect(h.getAll('k')).toEqual(['replaces', 'outbound', 'gruu']);
  });

  it('does not split headers that are not comma lists', () => {
    const h = new Headers([['Subject', 'a, b'], ['Date', 'Sat, 13 Nov 2010 23:29:00 GMT']]);
    expect(h.getAll('Subject')).toEqual(['a, b']);
    expect(h.getAll('Date')).toEqual(['Sat, 13 Nov 2010 23:29:00 GMT']);
  });

  it('keeps an empty Supported header, which lists nothing', () => {
    const h = new Headers([['Supported', '']]);
    expect(h.has('Supported')).toBe(true);
    expect(h.get('Supported')).toBe('');
    expect(h.getAll('Supported')).toEqual([]);
  });

  it('set replaces every occurrence at the position of the first', () => {
    const h = new Headers([
      ['Via', 'a'],
      ['Route', 'r1'],
      ['Call-ID', 'c'],
      ['route', 'r2'],
    ]);
    h.set('Route', '<sip:p>');
    expect(h.entries()).toEqual([
      ['Via', 'a'],
      ['Route', '<sip:p>'],
      ['Call-ID', 'c'],
    ]);
    h.set('Expires', '60');
    expect(h.entries()[3]).toEqual(['Expires', '60']);
  });

  it('append adds at the end and stays visible to lookups made before', () => {
    const h = new Headers([['Route', 'r1']]);
    expect(h.getAll('Route')).toEqual(['r1']);
    h.append('Route', 'r2');
    h.append('Event', 'presence');
    expect(h.getAll('Route')).toEqual(['r1', 'r2']);
    expect(h.get('o')).toBe('presence');
    expect(h.count()).toBe(3);
  });

  it('delete removes every occurrence, compact or full', () => {
    const h = new Headers([['l', '5'], ['Via', 'a'], ['Content-Length', '6']]);
    h.delete('content-length');
    expect(h.entries()).toEqual([['Via', 'a']]);
    expect(h.has('l')).toBe(false);
    h.delete('Not-There');
    expect(h.count()).toBe(1);
  });

  it('clone is independent of the original', () => {
    const h = new Headers([['Via', 'a']]);
    const c = h.clone();
    c.append('To', 'b');
    expect(h.count()).toBe(1);
    expect(c.get('to')).toBe('b');
  });
});

describe('splitTopLevel', () => {
  it('handles escaped quotes inside quoted strings', () => {
    expect(splitTopLevel('"a\\",b" <sip:x>, <sip:y>', ',')).toEqual(['"a\\",b" <sip:x>', '<sip:y>']);
  });
});

describe('parseParams', () => {
  it('reads flags and values, lower-cases names, keeps value case', () => {
    const p = parseParams(';A=1;b;Tag=XyZ');
    expect([...p]).toEqual([
      ['a', '1'],
      ['b', null],
      ['tag', 'XyZ'],
    ]);
  });

  it('unquotes quoted-string values and keeps ; inside quotes', () => {
    const p = parseParams(';+sip.instance="<urn:uuid:ea947c03;x>";expires=60');
    expect(p.get('+sip.instance')).toBe('<urn:uuid:ea947c03;x>');
    expect(p.get('expires')).toBe('60');
  });
});

describe('parseNameAddr', () => {
  it('reads a quoted display name, URI and header parameters', () => {
    const na = parseNameAddr('"alice-570a755c" <sip:alice-570a755c@127.0.0.1>;tag=Yc6ZwdAMH');
    expect(na.displayName).toBe('alice-570a755c');
    expect(na.uri).toBe('sip:alice-570a755c@127.0.0.1');
    expect(na.params.get('tag')).toBe('Yc6ZwdAMH');
  });

  it('unescapes quoted display names containing quotes, commas and <', () => {
    const na = parseNameAddr('"Doe, \\"J\\" <x>" <sip:j@h>');
    expect(na.displayName).toBe('Doe, "J" <x>');
    expect(na.uri).toBe('sip:j@h');
  });

  it('reads an unquoted display name as written', () => {
    expect(parseNameAddr('Alice Smith <sip:a@h>').displayName).toBe('Alice Smith');
    expect(parseNameAddr('<sip:a@h>').displayName).toBeNull();
  });

  it('keeps URI parameters inside <> out of the header parameters', () => {
    const na = parseNameAddr('<sip:bob@127.0.0.1:26800;transport=udp>;expires=60;+sip.instance="<urn:uuid:569f6b54>"');
    expect(na.uri).toBe('sip:bob@127.0.0.1:26800;transport=udp');
    expect([...na.params]).toEqual([
      ['expires', '60'],
      ['+sip.instance', '<urn:uuid:569f6b54>'],
    ]);
  });

  it('gives parameters after an addr-spec to the header, not the URI (RFC 3261 §20.10)', () => {
    const na = parseNameAddr('sip:alice@example.com;tag=88sja8x');
    expect(na.uri).toBe('sip:alice@example.com');
    expect(na.displayName).toBeNull();
    expect(na.params.get('tag')).toBe('88sja8x');
  });

  it('reads an addr-spec whose quoted parameter holds <', () => {
    const na = parseNameAddr('sip:a@h;+sip.instance="<urn:uuid:1>"');
    expect(na.uri).toBe('sip:a@h');
    expect(na.params.get('+sip.instance')).toBe('<urn:uuid:1>');
  });

  it.each(['"unterminated <sip:a@h>', '<sip:a@h', '"x" junk <sip:a@h>', '<nope>', '<sip:a@h> junk', ''])(
    'rejects %j with SipParseError',
    (v) => {
      expect(() => parseNameAddr(v, 'From')).toThrow(SipParseError);
      expect(() => parseNameAddr(v, 'From')).toThrow(/Bad From/);
    },
  );
});

describe('parseVia', () => {
  it('reads protocol, host, port, branch, received and a flag rport', () => {
    const v = parseVia('SIP/2.0/UDP 127.0.0.1:22620;branch=z9hG4bKf87a5b97feb163ab;rport');
    expect(v).toMatchObject({ protocol: 'SIP/2.0/UDP', transport: 'UDP', host: '127.0.0.1', port: 22620 });
    expect(v.branch).toBe('z9hG4bKf87a5b97feb163ab');
    expect(v.params.has('rport')).toBe(true);
    expect(v.params.get('rport')).toBeNull();
  });

  it('reads rport and received values of a response Via', () => {
    const v = parseVia('SIP/2.0/UDP 127.0.0.1:22620;branch=z9hG4bKa;rport=22620;received=127.0.0.1');
    expect(v.params.get('rport')).toBe('22620');
    expect(v.params.get('received')).toBe('127.0.0.1');
  });

  it('keeps the brackets of an IPv6 host', () => {
    const v = parseVia('SIP/2.0/TCP [2001:db8::9]:5061;branch=z9hG4bK1;alias');
    expect(v.host).toBe('[2001:db8::9]');
    expect(v.port).toBe(5061);
    expect(v.params.has('alias')).toBe(true);
    expect(parseVia('SIP/2.0/UDP [::1]').port).toBeNull();
  });

  it('upper-cases the transport and tolerates spaces around slashes', () => {
    const v = parseVia('sip / 2.0 / tcp example.com;branch=z9hG4bK2');
    expect(v.transport).toBe('TCP');
    expect(v.protocol).toBe('SIP/2.0/TCP');
    expect(v.port).toBeNull();
  });

  it('reads the topmost value of a comma list', () => {
    expect(parseVia('SIP/2.0/UDP a.example;branch=z9hG4bK1, SIP/2.0/UDP b.example').host).toBe('a.example');
  });

  it.each(['', 'SIP/2.0 host', 'SIP/2.0/UDP', 'SIP/2.0/UDP host:99999', 'SIP/2.0/UDP ho st'])('rejects %j', (v) => {
    expect(() => parseVia(v)).toThrow(SipParseError);
  });
});

describe('parseCSeq', () => {
  it('reads the number and method', () => {
    expect(parseCSeq('54180 PUBLISH')).toEqual({ seq: 54180, method: 'PUBLISH' });
    expect(parseCSeq('  1\tNOTIFY ')).toEqual({ seq: 1, method: 'NOTIFY' });
  });

  it.each(['', 'PUBLISH', '12', 'x1 PUBLISH', '-1 PUBLISH', '2147483648 PUBLISH', '1 PUB LISH'])(
    'rejects %j as Bad CSeq',
    (v) => {
      try {
        parseCSeq(v);
        throw new Error('accepted');
      } catch (e) {
        expect(e).toBeInstanceOf(SipParseError);
        expect((e as SipParseError).reason).toBe('Bad CSeq');
      }
    },
  );
});

describe('parseEvent', () => {
  it('lower-cases the package and reads the id parameter', () => {
    expect(parseEvent('Presence;id=A1')).toMatchObject({ event: 'presence', id: 'A1' });
    expect(parseEvent('presence.winfo')).toMatchObject({ event: 'presence.winfo', id: null });
  });

  it('rejects an empty or non-token event', () => {
    expect(() => parseEvent('')).toThrow(SipParseError);
    expect(() => parseEvent('pres ence')).toThrow('Bad Event');
  });
});

describe('parseMediaType', () => {
  it('lower-cases type/subtype and keeps parameters apart', () => {
    const m = parseMediaType('Application/PIDF+XML; charset="UTF-8"');
    expect(m.type).toBe('application/pidf+xml');
    expect(m.params.get('charset')).toBe('UTF-8');
  });

  it('rejects a value without a subtype', () => {
    expect(() => parseMediaType('application')).toThrow('Bad Content-Type');
  });
});
