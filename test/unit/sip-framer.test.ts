import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { StreamFramer } from '../../src/sip/framer';
import { SipParseError } from '../../src/sip/headers';
import { parseMessage } from '../../src/sip/parser';

const FIXTURES = join(__dirname, '..', 'fixtures', 'sip');
const publish = readFileSync(join(FIXTURES, 'baresip-publish-initial-crlf-body.sip'));
const ok = readFileSync(join(FIXTURES, 'kamailio-200-publish-with-sip-etag.sip'));
const notify = readFileSync(join(FIXTURES, 'kamailio-notify-pidf-lf-body.sip'));

function reasonOf(fn: () => unknown): string {
  try {
    fn();
  } catch (e) {
    if (e instanceof SipParseError) return e.reason;
    throw e;
  }
  throw new Error('no error');
}

describe('StreamFramer', () => {
  it('returns a whole message pushed in one chunk', () => {
    const f = new StreamFramer(65536);
    const out = f.push(publish);
    expect(out).toHaveLength(1);
    expect(out[0]?.equals(publish)).toBe(true);
    expect(f.buffered).toBe(0);
  });

  it('splits several pipelined messages and keeps the incomplete tail', () => {
    const f = new StreamFramer(65536);
    const all = Buffer.concat([publish, ok, notify]);
    const cut = publish.length + ok.length + 10;
    const first = f.push(all.subarray(0, cut));
    expect(first.map((b) => b.length)).toEqual([publish.length, ok.length]);
    expect(f.buffered).toBe(10);
    const rest = f.push(all.subarray(cut));
    expect(rest).toHaveLength(1);
    expect(rest[0]?.equals(notify)).toBe(true);
  });

  it('reassembles a message fed one byte at a time', () => {
    const f = new StreamFramer(65536);
    const out: Buffer[] = [];
    for (let i = 0; i < notify.length; i++) out.push(...f.push(notify.subarray(i, i + 1)));
    expect(out).toHaveLength(1);
    expect(parseMessage(out[0] as Buffer).body.length).toBe(450);
  });

  it('skips CRLF keep-alives between messages and reports double-CRLF pings', () => {
    let pings = 0;
    const f = new StreamFramer(65536, () => pings++);
    const out = f.push(Buffer.concat([Buffer.from('\r\n\r\n'), publish, Buffer.from('\r\n\r\n\r\n\r\n'), ok]));
    expect(out.map((b) => b.length)).toEqual([publish.length, ok.length]);
    expect(pings).toBe(3);
    expect(f.push(Buffer.from('\r\n'))).toEqual([]);
    expect(f.buffered).toBe(0);
  });

  it('frames bare-LF messages and the compact Content-Length', () => {
    const raw = Buffer.from('NOTIFY sip:b@h SIP/2.0\nv: SIP/2.0/TCP h\nl: 3\n\nabcNOTIFY');
    const f = new StreamFramer(65536);
    const out = f.push(raw);
    expect(out.map((b) => b.toString())).toEqual(['NOTIFY sip:b@h SIP/2.0\nv: SIP/2.0/TCP h\nl: 3\n\nabc']);
    expect(f.buffered).toBe(6);
  });

  it('rejects a stream message without Content-Length', () => {
    const noCl = readFileSync(join(FIXTURES, 'linphone-unpublish-no-content-length.sip'));
    expect(reasonOf(() => new StreamFramer(65536).push(noCl))).toBe('Missing Content-Length');
  });

  it('rejects two different Content-Lengths (request smuggling)', () => {
    const raw = Buffer.from('OPTIONS sip:h SIP/2.0\r\nContent-Length: 0\r\nl: 5\r\n\r\nhello');
    expect(reasonOf(() => new StreamFramer(65536).push(raw))).toBe('Bad Content-Length');
  });

  it('rejects a message whose headers plus declared body exceed the maximum', () => {
    const f = new StreamFramer(publish.length - 1);
    expect(reasonOf(() => f.push(publish))).toBe('Message Too Large');
    const big = Buffer.from('OPTIONS sip:h SIP/2.0\r\nContent-Length: 100000\r\n\r\n');
    expect(reasonOf(() => new StreamFramer(65536).push(big))).toBe('Message Too Large');
  });

  it('rejects an endless header section once it passes the maximum', () => {
    const f = new StreamFramer(1024);
    f.push(Buffer.from('OPTIONS sip:h SIP/2.0\r\n'));
    const line = Buffer.from(`X-Junk: ${'a'.repeat(100)}\r\n`);
    expect(reasonOf(() => {
      for (let i = 0; i < 20; i++) f.push(line);
    })).toBe('Message Too Large');
  });

  it('keeps the offending message for salvage after a framing error', () => {
    const noCl = readFileSync(join(FIXTURES, 'linphone-unpublish-no-content-length.sip'));
    const f = new StreamFramer(65536);
    f.push(publish.subarray(0, 100));
    f.push(publish.subarray(100));
    expect(() => f.push(noCl)).toThrow(SipParseError);
    expect(f.pending().equals(noCl)).toBe(true);
  });

  it('accepts a message of exactly the maximum size', () => {
    expect(new StreamFramer(publish.length).push(publish)).toHaveLength(1);
  });
});
