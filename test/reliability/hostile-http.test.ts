/**
 * Issue 10, hostile HTTP: oversized bodies (413), bad JSON (400), header floods (431) and slow
 * clients (slowloris: headers one byte at a time, cut by http_headers_timeout) are answered or cut,
 * and Herald keeps serving everyone else meanwhile.
 */
import { connect, type Socket } from 'node:net';
import { startHerald, type RunningHerald } from '../support/herald';
import { API_TOKENS, HttpTestClient, TOKENS } from '../support/http-client';

function open(h: RunningHerald): Promise<Socket> {
  const { host, port } = h.http as { host: string; port: number };
  return new Promise((resolve, reject) => {
    const s = connect({ host, port }, () => resolve(s));
    s.once('error', reject);
  });
}

/** Writes `data` (chunked by the caller), collects the answer until Herald closes the connection. */
function collect(s: Socket): { text: () => string; closed: Promise<void> } {
  let text = '';
  s.on('data', (c: Buffer) => {
    text += c.toString('latin1');
  });
  s.on('error', () => {});
  return { text: () => text, closed: new Promise((r) => s.once('close', () => r())) };
}

describe('hostile HTTP', () => {
  let h: RunningHerald;
  let http: HttpTestClient;
  beforeAll(async () => {
    h = await startHerald({
      api_tokens: API_TOKENS, http_body_limit: 16_384, http_max_header_size: 16_384,
      http_headers_timeout: 500, http_request_timeout: 2000, http_connections_check_interval: 100,
    });
    http = new HttpTestClient(h.http as { host: string; port: number }, TOKENS.rw);
  }, 60_000);
  afterAll(async () => {
    await h.stop();
  }, 60_000);

  const path = '/v1/presence/127.0.0.1/hostile';

  it('answers a body beyond http_body_limit 413 ENTITY_TOO_LARGE (also a 10 MB one) and stores nothing', async () => {
    const r = await http.request('PUT', path, { raw: JSON.stringify({ status: 'online', note: 'n'.repeat(100_000) }), headers: { 'content-type': 'application/json' } });
    expect(r.status).toBe(413);
    expect(r.json.code).toBe('ENTITY_TOO_LARGE');
    const s = await open(h);
    const a = collect(s);
    s.write(`PUT ${path} HTTP/1.1\r\nHost: x\r\nAuthorization: Bearer ${TOKENS.rw}\r\nContent-Type: application/json\r\nContent-Length: ${10 * 1024 * 1024}\r\n\r\n{"status":"`);
    for (let i = 0; i < 20 && !s.destroyed && !a.text().includes('\r\n\r\n'); i++) {
      s.write('x'.repeat(65_536));
      await new Promise((res) => setTimeout(res, 20));
    }
    await Promise.race([a.closed, new Promise((res) => setTimeout(res, 5000))]);
    s.destroy();
    expect(a.text()).toMatch(/^HTTP\/1\.1 413 /);
    const after = await http.request('GET', path);
    expect(after.status).toBe(200);
    expect(after.json.devices).toEqual([]);
  });

  it('answers bad JSON 400 BAD_BODY naming the problem', async () => {
    for (const raw of ['{"status":', '{"status":"online"}}', '\u0000\u00ff', '[1,2', '{"status":"online","x":' + '['.repeat(5000)]) {
      const r = await http.request('PUT', path, { raw, headers: { 'content-type': 'application/json' } });
      expect(r.status).toBe(400);
      expect(['BAD_BODY', 'BAD_REQUEST']).toContain(r.json.code);
    }
  });

  it('answers a header flood beyond http_max_header_size 431 and closes the connection', async () => {
    const s = await open(h);
    const a = collect(s);
    const flood = Array.from({ length: 3000 }, (_, i) => `X-Flood-${i}: ${'v'.repeat(20)}\r\n`).join('');
    s.write(`GET /healthz HTTP/1.1\r\nHost: x\r\n${flood}\r\n`);
    await Promise.race([a.closed, new Promise((res) => setTimeout(res, 5000))]);
    s.destroy();
    expect(a.text()).toMatch(/^HTTP\/1\.1 431 /);
    expect((await http.request('GET', '/healthz', { token: null })).status).toBe(200);
  });

  it('cuts a slowloris client sending its headers one byte at a time (http_headers_timeout) while serving others', async () => {
    const s = await open(h);
    const a = collect(s);
    const request = `GET ${path} HTTP/1.1\r\nHost: x\r\nAuthorization: Bearer ${TOKENS.rw}\r\n${'X-Slow: 1\r\n'.repeat(200)}\r\n`;
    let sent = 0;
    let cut = false;
    void a.closed.then(() => {
      cut = true;
    });
    const served: number[] = [];
    // Bounded: at most the whole request, one byte per 20 ms (about 45 s), stopped as soon as Herald cuts.
    while (sent < request.length && !cut) {
      s.write(request[sent] as string);
      sent++;
      if (sent % 5 === 1) served.push((await http.request('GET', '/healthz', { token: null })).status);
      await new Promise((res) => setTimeout(res, 20));
    }
    s.destroy();
    expect(cut).toBe(true);
    expect(sent).toBeLessThan(request.length);
    // Node answers 408 Request Timeout before closing (or just closes): never a response to the request.
    expect(a.text()).not.toMatch(/^HTTP\/1\.1 200 /);
    expect(served.length).toBeGreaterThan(0);
    expect(served.every((x) => x === 200)).toBe(true);
  }, 60_000);
});
