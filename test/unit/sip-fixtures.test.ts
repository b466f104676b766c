/** Every captured real-client message parses; every `bad-*-expect-400` fixture is refused. */
import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { parseCSeq, parseEvent, parseMediaType, parseNameAddr, parseVia, SipParseError } from '../../src/sip/headers';
import type { SipMessage, SipRequest } from '../../src/sip/message';
import { parseMessage } from '../../src/sip/parser';
import { parseUri } from '../../src/sip/uri';

const FIXTURES = join(__dirname, '..', 'fixtures', 'sip');
const all = readdirSync(FIXTURES).filter((f) => f.endsWith('.sip'));
const good = all.filter((f) => !f.startsWith('bad-'));
const bad = all.filter((f) => f.startsWith('bad-'));

function load(name: string, datagram = true): SipMessage {
  return parseMessage(readFileSync(join(FIXTURES, name)), { datagram });
}

function loadRequest(name: string): SipRequest {
  const m = load(name);
  if (m.kind !== 'request') throw new Error(`${name} is not a request`);
  return m;
}

describe('real-client fixtures', () => {
  it('has the captured messages', () => {
    expect(good.length).toBeGreaterThanOrEqual(20);
    expect(bad.length).toBeGreaterThanOrEqual(4);
  });

  it.each(good)('%s parses as a datagram, with readable Via, CSeq and URIs', (file) => {
    const m = load(file);
    const via = parseVia(m.headers.get('Via') as string);
    expect(via.transport).toBe('UDP');
    expect(via.branch).toMatch(/^z9hG4bK/);
    const cseq = parseCSeq(m.headers.get('CSeq') as string);
    if (m.kind === 'request') {
      expect(cseq.method).toBe(m.method);
      parseUri(m.uri);
    }
    for (const name of ['From', 'To']) {
      const v = m.headers.get(name);
      if (v !== undefined) parseUri(parseNameAddr(v, name).uri);
    }
    for (const c of m.headers.getAll('Contact')) parseUri(parseNameAddr(c, 'Contact').uri);
    const cl = m.headers.get('Content-Length');
    if (cl !== undefined) expect(m.body.length).toBe(Number(cl));
  });

  it.each(good.filter((f) => !f.includes('no-content-length')))('%s also parses as a stream message', (file) => {
    expect(() => load(file, false)).not.toThrow();
  });

  it.each(bad)('%s is refused with SipParseError', (file) => {
    expect(() => load(file)).toThrow(SipParseError);
  });

  it('reads baresip\'s initial PUBLISH: PIDF body of 475 bytes, Event presence, Expires 10', () => {
    const m = loadRequest('baresip-publish-initial-crlf-body.sip');
    expect(m.method).toBe('PUBLISH');
    expect(m.body.length).toBe(475);
    expect(m.body.toString()).toContain('<basic>open</basic>');
    expect(parseEvent(m.headers.get('Event') as string).event).toBe('presence');
    expect(parseMediaType(m.headers.get('Content-Type') as string).type).toBe('application/pidf+xml');
    expect(m.headers.get('Expires')).toBe('10');
  });

  it('reads baresip\'s refresh: SIP-If-Match, Content-Type but an empty body', () => {
    const m = loadRequest('baresip-publish-refresh-content-type-without-body.sip');
    expect(m.headers.get('SIP-If-Match')).toBe('a.1795312172.23605.21.0');
    expect(m.headers.has('Content-Type')).toBe(true);
    expect(m.body.length).toBe(0);
  });

  it('reads linphone\'s un-PUBLISH without Content-Length as an empty body', () => {
    const m = loadRequest('linphone-unpublish-no-content-length.sip');
    expect(m.headers.has('Content-Length')).toBe(false);
    expect(m.headers.get('Expires')).toBe('0');
    expect(m.body.length).toBe(0);
  });

  it('reads linphone\'s PUBLISH with an LF body of 517 bytes and To/From without port', () => {
    const m = loadRequest('linphone-publish-initial-lf-body.sip');
    expect(m.body.length).toBe(517);
    const from = parseNameAddr(m.headers.get('From') as string, 'From');
    expect(from.displayName).toBe('alice-570a755c');
    expect(parseUri(from.uri).port).toBeNull();
    expect(from.params.get('tag')).toBe('9c7J1eISM');
    expect(parseUri(m.uri).port).toBe(5080);
  });

  it('reads baresip\'s SUBSCRIBE with an empty Supported header', () => {
    const m = loadRequest('baresip-subscribe-empty-supported.sip');
    expect(m.headers.get('Supported')).toBe('');
    expect(m.headers.getAll('Supported')).toEqual([]);
    expect(m.headers.has('Accept')).toBe(false);
  });

  it('reads linphone\'s SUBSCRIBE Contact with expires and a quoted +sip.instance', () => {
    const m = loadRequest('linphone-subscribe-instance-id-no-content-length.sip');
    const contact = parseNameAddr(m.headers.get('Contact') as string, 'Contact');
    expect(parseUri(contact.uri).params.get('transport')).toBe('udp');
    expect(contact.params.get('expires')).toBe('60');
    expect(contact.params.get('+sip.instance')).toBe('<urn:uuid:569f6b54-4ab6-0030-a657-8654f3c5fade>');
    expect(m.headers.getAll('Supported')).toEqual(['replaces', 'outbound', 'gruu']);
  });

  it('reads linphone\'s REGISTER with three Accept lines', () => {
    const m = loadRequest('linphone-register-no-content-length.sip');
    expect(m.headers.getAll('Accept')).toEqual(['application/sdp', 'text/plain', 'application/vnd.gsma.rcs-ft-http+xml']);
  });

  it('reads linphone\'s GRUU Contact', () => {
    const m = loadRequest('linphone-subscribe-gruu-contact-no-content-length.sip');
    const uri = parseUri(parseNameAddr(m.headers.get('m') as string).uri);
    expect(uri.params.get('gr')).toBe('urn:uuid:9ba96876-dd80-00f8-8fa4-279206177adc');
    expect(uri.port).toBeNull();
  });

  it('reads linphone\'s 481 without Content-Length', () => {
    const m = load('linphone-481-to-late-notify-no-content-length.sip');
    expect(m.kind === 'response' && [m.status, m.reason]).toEqual([481, 'Call/transaction does not exist']);
  });

  it('reads the Kamailio NOTIFY with Subscription-State and a 450-byte body', () => {
    const m = loadRequest('kamailio-notify-pidf-lf-body.sip');
    expect(m.headers.get('Subscription-State')).toBe('active;expires=599');
    expect(m.body.length).toBe(450);
  });

  it('names the defect of each bad fixture in the reason', () => {
    const reason = (f: string) => {
      try {
        load(f);
        return 'parsed';
      } catch (e) {
        return (e as SipParseError).reason;
      }
    };
    expect(reason('bad-publish-cseq-method-mismatch-expect-400.sip')).toBe('CSeq method mismatch');
    expect(reason('bad-publish-content-length-beyond-datagram-expect-400.sip')).toBe('Bad Content-Length');
    expect(reason('bad-subscribe-missing-call-id-expect-400.sip')).toBe('Missing Call-ID');
    expect(reason('bad-subscribe-nul-in-header-expect-400.sip')).toBe('NUL byte in headers');
  });
});
