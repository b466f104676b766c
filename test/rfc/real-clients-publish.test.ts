/**
 * The PUBLISH flows of real softphones (baresip 1.0, linphonec 5.1), replayed verbatim over UDP
 * against a running Herald (PostgreSQL when HERALD_TEST_DB_URL is set, else PGlite), with only the
 * run-specific values substituted (test/fixtures/real-clients/README.md). A watcher sees the
 * presentity go Online and then Offline, as the real clients' watchers did.
 */
import { randomBytes } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { startHerald, type RunningHerald } from '../support/herald';
import { SipTestClient } from '../support/sip-client';
import type { SipRequest, SipResponse } from '../../src/sip/message';

const WAIT = 15_000;
const FLOWS = join(__dirname, '..', 'fixtures', 'real-clients');

/** One message of a trace: its section header, head lines and body bytes as they went on the wire. */
interface TraceMessage {
  section: string;
  head: string[];
  body: string;
}

/**
 * Sections of a trace file (`=== …` header, message, blank lines). Header lines go out with CRLF; the
 * body is restored to the line ends its Content-Length (or the trace's `size: [N] bytes`) counts.
 */
function loadFlow(file: string): TraceMessage[] {
  const text = readFileSync(join(FLOWS, file), 'utf8');
  return text.split(/^(?==== )/m).filter((s) => s.startsWith('=== ')).map((s) => {
    const lines = s.split('\n');
    const section = lines.shift() as string;
    while (lines.length > 0 && lines[lines.length - 1] === '') lines.pop();
    const blank = lines.indexOf('');
    const head = blank < 0 ? lines : lines.slice(0, blank);
    const bodyLines = blank < 0 ? [] : lines.slice(blank + 1);
    const msg: TraceMessage = { section, head, body: '' };
    if (bodyLines.length === 0) return msg;
    const headBytes = Buffer.byteLength(`${head.join('\r\n')}\r\n\r\n`);
    const size = /size: \[(\d+)\] bytes/.exec(section)?.[1];
    const want = header(msg, 'Content-Length') ?? (size === undefined ? undefined : String(Number(size) - headBytes));
    const candidates = [bodyLines.join('\r\n'), `${bodyLines.join('\r\n')}\r\n`, bodyLines.join('\n'), `${bodyLines.join('\n')}\n`];
    const body = candidates.find((c) => String(Buffer.byteLength(c)) === want);
    if (body === undefined) throw new Error(`${file}: no line-end choice gives the ${want} bytes of ${section}`);
    return { ...msg, body };
  });
}

function header(m: TraceMessage, name: string): string | undefined {
  const line = m.head.find((l) => l.toLowerCase().startsWith(`${name.toLowerCase()}:`));
  return line?.slice(name.length + 1).trim();
}

/** The bytes the client sent, before any substitution. */
function wire(m: TraceMessage): string {
  return `${m.head.join('\r\n')}\r\n\r\n${m.body}`;
}

interface Run {
  /** Pairs [from, to] applied to every header line and the body. */
  replace: Array<[string, string]>;
  ifMatch: string | null;
}

/** The message with the run's values: addresses, user, SIP-If-Match, Content-Length (when present). */
function substituted(s: string, replace: Array<[string, string]>): string {
  return replace.reduce((acc, [a, b]) => acc.split(a).join(b), s);
}

function substitute(m: TraceMessage, run: Run): string {
  const sub = (s: string): string => substituted(s, run.replace);
  const body = sub(m.body);
  const head = m.head.map(sub).map((l) => {
    if (/^SIP-If-Match:/i.test(l) && run.ifMatch !== null) return `SIP-If-Match: ${run.ifMatch}`;
    if (/^Content-Length:/i.test(l)) return `Content-Length: ${Buffer.byteLength(body)}`;
    return l;
  });
  return `${head.join('\r\n')}\r\n\r\n${body}`;
}

function branchOf(text: string): string {
  const b = /^Via:[^\r\n]*;branch=([^;\s]+)/m.exec(text)?.[1];
  if (!b) throw new Error('no Via branch');
  return b;
}

function basicOf(body: string): 'open' | 'closed' | null {
  const m = /<basic>(open|closed)<\/basic>/.exec(body);
  return (m?.[1] as 'open' | 'closed' | undefined) ?? null;
}

/** Consecutive duplicates collapsed: what a user sees change in the buddy list. */
function transitions<T>(xs: T[]): T[] {
  return xs.filter((x, i) => i === 0 || x !== xs[i - 1]);
}

async function watch(bob: SipTestClient, aor: string): Promise<string> {
  const callId = `w-${randomBytes(6).toString('hex')}`;
  const first = bob.waitForRequest('NOTIFY', (n) => n.headers.get('call-id') === callId, WAIT);
  const res = await bob.request('SUBSCRIBE', aor, [
    ['Call-ID', callId], ['From', `<sip:bob@127.0.0.1>;tag=${randomBytes(4).toString('hex')}`], ['To', `<${aor}>`],
    ['Event', 'presence'], ['Expires', '600'], ['Contact', `<${bob.contact('bob')}>`],
  ], '', WAIT);
  expect([200, 202]).toContain(res.status);
  await first;
  return callId;
}

interface Step {
  request: TraceMessage;
  /** The reference server's answer to it, from the same trace. */
  reference: TraceMessage;
}

function steps(flow: TraceMessage[]): Step[] {
  const requests = flow.filter((m) => m.head[0]?.startsWith('PUBLISH '));
  return requests.map((request) => {
    const reference = flow.find((m) => m.head[0]?.startsWith('SIP/2.0 ') && header(m, 'CSeq') === header(request, 'CSeq') && header(m, 'Call-ID') === header(request, 'Call-ID'));
    if (!reference) throw new Error(`no reference response to ${request.section}`);
    return { request, reference };
  });
}

/**
 * Replays every PUBLISH of `flow`, each after the previous 200, with the SIP-ETag of Herald's last 200 as
 * SIP-If-Match (kept in `run` across calls). After each change the watcher must get a NOTIFY with the basic status of the published body
 * (closed after the remove). Returns Herald's responses.
 */
async function replay(alice: SipTestClient, bob: SipTestClient, callId: string, flow: Step[], run: Run): Promise<SipResponse[]> {
  const responses: SipResponse[] = [];
  for (const { request, reference } of flow) {
    const text = substitute(request, run);
    const expires = header(request, 'Expires');
    const published = basicOf(request.body);
    const expectBasic = expires === '0' ? 'closed' : published;
    const notify = expectBasic === null
      ? null
      : bob.waitForRequest('NOTIFY', (n) => n.headers.get('call-id') === callId && basicOf(n.body.toString('utf8')) === expectBasic, WAIT);
    void notify?.catch(() => undefined); // awaited below; not an unhandled rejection if a step fails first
    const branch = branchOf(text);
    const answer = alice.waitFor((m) => m.kind === 'response' && m.status >= 200 && (m.headers.get('via') ?? '').includes(branch), WAIT);
    alice.sendRaw(text);
    const res = (await answer) as SipResponse;
    expect(`${res.status} ${request.section}`).toBe(`200 ${request.section}`);
    // The same Expires the reference server granted (10, or 0 for the remove).
    expect(res.headers.get('expires')).toBe(header(reference, 'Expires'));
    if (expires !== '0') {
      const etag = res.headers.get('sip-etag');
      expect(etag).toBeTruthy();
      expect(etag).not.toBe(run.ifMatch);
      run.ifMatch = etag ?? null;
    }
    responses.push(res);
    if (notify) await notify;
  }
  return responses;
}

describe('real clients PUBLISH against Herald over UDP', () => {
  let h: RunningHerald;
  let alice: SipTestClient;
  let bob: SipTestClient;
  beforeAll(async () => {
    h = await startHerald();
    alice = await SipTestClient.open('udp', h.udp);
    bob = await SipTestClient.open('udp', h.udp);
  }, 60_000);
  afterAll(async () => {
    await alice?.close();
    await bob?.close();
    await h?.stop();
  });

  const notifies = (callId: string): SipRequest[] => bob.requests('NOTIFY').filter((n) => n.headers.get('call-id') === callId);

  describe('baresip 1.0', () => {
    const flow = steps(loadFlow('baresip-publish-initial-refresh-modify-remove.txt'));

    it('the extracted flow is the captured one: initial, refresh (Content-Type, empty body), modify closed, modify open, remove', () => {
      expect(flow.map(({ request: r }) => [header(r, 'SIP-If-Match') !== undefined, r.body.length > 0, header(r, 'Content-Type') ?? null, header(r, 'Expires')])).toEqual([
        [false, true, 'application/pidf+xml', '10'],
        [true, false, 'application/pidf+xml', '10'],
        [true, true, 'application/pidf+xml', '10'],
        [true, true, 'application/pidf+xml', '10'],
        [true, false, null, '0'],
      ]);
      // Every body has the size its Content-Length says (baresip writes CRLF).
      for (const { request: r } of flow) expect(Buffer.byteLength(r.body)).toBe(Number(header(r, 'Content-Length')));
      // A new Call-ID for every PUBLISH.
      expect(new Set(flow.map(({ request: r }) => header(r, 'Call-ID'))).size).toBe(flow.length);
    });

    it('replays verbatim (new Call-ID each time, each 200\'s SIP-ETag): every PUBLISH 200, the refresh keeps the document, the watcher sees Online, Offline, Online, Offline', async () => {
      const suffix = randomBytes(4).toString('hex');
      const aor = `sip:alice-${suffix}@127.0.0.1`;
      const callId = await watch(bob, aor);
      const before = notifies(callId).length;
      const initialBody = flow[0]?.request.body ?? '';
      const replace: Array<[string, string]> = [
        ['127.0.0.1:5080', `${h.udp.host}:${h.udp.port}`],
        ['127.0.0.1:22620', `${alice.local.host}:${alice.local.port}`],
        ['alice-4d40316d', `alice-${suffix}`],
      ];
      // After the refresh (step 2) the stored document must still be the initial one.
      const run: Run = { replace, ifMatch: null };
      const responses = await replay(alice, bob, callId, flow.slice(0, 2), run);
      const stored = await h.app.store.publications.live(aor, 'presence', Date.now());
      expect(stored.map((p) => [p.etag, p.body])).toEqual([[responses[1]?.headers.get('sip-etag'), substituted(initialBody, replace)]]);
      await replay(alice, bob, callId, flow.slice(2), run);
      expect(await h.app.store.publications.live(aor, 'presence', Date.now())).toEqual([]);

      const seen = notifies(callId).slice(before).map((n) => n.body.toString('utf8'));
      // Kamailio (publ_cache=2) sent an empty document after baresip's refresh; Herald never does.
      for (const body of seen) expect(body.length).toBeGreaterThan(0);
      expect(transitions(seen.map(basicOf))).toEqual(['open', 'closed', 'open', 'closed']);
    });
  });

  describe('linphonec 5.1', () => {
    const raw = loadFlow('linphone-publish-initial-refresh-unpublish-no-content-length.txt');
    const flow = steps(raw);

    it('the extracted flow is the captured one: byte sizes as traced, refresh with the full body, un-PUBLISH without Content-Length', () => {
      for (const m of raw.filter((x) => /size: \[\d+\]/.test(x.section))) {
        expect(Buffer.byteLength(wire(m))).toBe(Number(/size: \[(\d+)\]/.exec(m.section)?.[1]));
      }
      expect(flow.map(({ request: r }) => [header(r, 'SIP-If-Match') !== undefined, r.body.length > 0, header(r, 'Content-Length') ?? null, header(r, 'Expires')])).toEqual([
        [false, true, '517', '10'],
        [true, true, '517', '10'],
        [true, false, null, '0'],
      ]);
      expect(new Set(flow.map(({ request: r }) => header(r, 'Call-ID'))).size).toBe(1);
    });

    it('replays verbatim (one Call-ID, R-URI with port, From/To without): every PUBLISH 200, the un-PUBLISH without Content-Length removes, the watcher sees Online then Offline', async () => {
      const suffix = randomBytes(4).toString('hex');
      // linphone's From/To drop the port; the watcher subscribes to that form.
      const aor = `sip:alice-${suffix}@127.0.0.1`;
      const callId = await watch(bob, aor);
      const before = notifies(callId).length;
      const replace: Array<[string, string]> = [
        ['127.0.0.1:5080', `${h.udp.host}:${h.udp.port}`],
        ['127.0.0.1:26804', `${alice.local.host}:${alice.local.port}`],
        ['alice-570a755c', `alice-${suffix}`],
      ];
      const run: Run = { replace, ifMatch: null };
      await replay(alice, bob, callId, flow.slice(0, 2), run);
      const live = await h.app.store.publications.live(aor, 'presence', Date.now());
      expect(live).toHaveLength(1);
      await replay(alice, bob, callId, flow.slice(2), run);
      expect(await h.app.store.publications.live(aor, 'presence', Date.now())).toEqual([]);

      const seen = notifies(callId).slice(before).map((n) => n.body.toString('utf8'));
      expect(transitions(seen.map(basicOf))).toEqual(['open', 'closed']);
      // The Online document keeps linphone's pidfonline extension in its namespace.
      const online = seen.find((b) => basicOf(b) === 'open') ?? '';
      const prefix = /<(\w+):online\/>/.exec(online)?.[1];
      expect(prefix).toBeDefined();
      expect(online).toContain(`xmlns:${prefix ?? ''}="http://www.linphone.org/xsds/pidfonline.xsd"`);
      expect(online).toContain(`entity="${aor}"`);
    });
  });
});
