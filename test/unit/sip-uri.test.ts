import { SipParseError } from '../../src/sip/headers';
import { formatUri, parseUri } from '../../src/sip/uri';

describe('parseUri', () => {
  it('reads user, host, port and parameters of a SIP URI', () => {
    const u = parseUri('sip:alice-570a755c@127.0.0.1:26804;transport=udp');
    expect(u).toMatchObject({ scheme: 'sip', user: 'alice-570a755c', password: null, host: '127.0.0.1', port: 26804 });
    expect(u.params.get('transport')).toBe('udp');
  });

  it('reads a URI without user part', () => {
    const u = parseUri('sip:127.0.0.1:5080;transport=udp;lr');
    expect(u.user).toBeNull();
    expect(u.host).toBe('127.0.0.1');
    expect(u.params.get('lr')).toBeNull();
  });

  it('reads an IPv6 host with and without port, keeping the brackets', () => {
    expect(parseUri('sip:bob@[2001:db8::1]:5060')).toMatchObject({ host: '[2001:db8::1]', port: 5060 });
    expect(parseUri('sips:[::1]')).toMatchObject({ scheme: 'sips', host: '[::1]', port: null, user: null });
  });

  it('reads password and headers', () => {
    const u = parseUri('sip:bob:secret@example.com?subject=hi&priority=urgent');
    expect(u.password).toBe('secret');
    expect([...u.headers]).toEqual([
      ['subject', 'hi'],
      ['priority', 'urgent'],
    ]);
  });

  it('lower-cases the scheme and parameter names but keeps user case', () => {
    const u = parseUri('SIP:Alice@Example.COM;Transport=TCP');
    expect(u.scheme).toBe('sip');
    expect(u.user).toBe('Alice');
    expect(u.host).toBe('Example.COM');
    expect(u.params.get('transport')).toBe('TCP');
  });

  it('reads a GRUU parameter whose value holds colons', () => {
    const u = parseUri('sip:bob@127.0.0.1;gr=urn:uuid:9ba96876-dd80-00f8-8fa4-279206177adc');
    expect(u.params.get('gr')).toBe('urn:uuid:9ba96876-dd80-00f8-8fa4-279206177adc');
  });

  it('reads pres: URIs like SIP URIs', () => {
    expect(parseUri('pres:alice@example.com')).toMatchObject({ scheme: 'pres', user: 'alice', host: 'example.com' });
  });

  it('reads a minimal tel: URI', () => {
    const u = parseUri('tel:+1-201-555-0123;phone-context=example.com');
    expect(u).toMatchObject({ scheme: 'tel', user: '+1-201-555-0123', host: '' });
    expect(u.params.get('phone-context')).toBe('example.com');
  });

  it('answers 416 for an unsupported scheme', () => {
    try {
      parseUri('http://example.com/');
      throw new Error('accepted');
    } catch (e) {
      expect(e).toBeInstanceOf(SipParseError);
      expect((e as SipParseError).status).toBe(416);
    }
  });

  it.each([
    '',
    'alice@example.com',
    'sip:',
    'sip:@host',
    'sip:a@ho st',
    'sip:a@host:70000',
    'sip:a@host:x',
    'sip:a@[::1',
    'sip:a@[::1]x',
    'sip:a@<host>',
    'sip:a@host;=x',
  ])('rejects %j with SipParseError', (s) => {
    expect(() => parseUri(s)).toThrow(SipParseError);
  });
});

describe('formatUri', () => {
  it.each([
    'sip:alice@127.0.0.1:5080',
    'sip:127.0.0.1:5080;transport=udp;lr',
    'sips:bob:pw@[2001:db8::1]:5061;transport=tcp?subject=x&h=',
    'pres:alice@example.com',
    'tel:+1-201-555-0123;phone-context=example.com',
    'sip:%61lice@example.com;maddr=239.255.255.1',
  ])('gives %s back after parseUri', (s) => {
    expect(formatUri(parseUri(s))).toBe(s);
  });

  it('brackets a bare IPv6 host', () => {
    const u = parseUri('sip:a@h');
    expect(formatUri({ ...u, host: '::1', port: 5060 })).toBe('sip:a@[::1]:5060');
  });
});
