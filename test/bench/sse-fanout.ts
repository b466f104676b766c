/**
 * Bench of the HTTP-watcher fan-out (issue 9): CLIENTS SSE clients, each with its own HTTP
 * subscription to one presentity, and a SIP PUBLISH (UDP, loopback) that changes its status; the
 * time from sending the PUBLISH to the last client's event. Bounded: CLIENTS clients, ROUNDS
 * rounds, a 60 s limit per round; loopback only; embedded PGlite in memory unless
 * HERALD_BENCH_DB_URL names a PostgreSQL database.
 * Run: node -r @swc-node/register test/bench/sse-fanout.ts   (CLIENTS=… ROUNDS=… to change the size)
 *
 * Measured 2026-12-01 on the shared 2-core machine (load average 3-10, bench and server in one process):
 *   PostgreSQL 15, 1000 clients: 200 OK 18-36 ms, last client's event 216-430 ms (p50 197-371 ms)
 *   PGlite in memory, 100 clients: last event 60-74 ms (1000 clients take minutes to set up on PGlite)
 * Before waking the webhook sender only for subscriptions with a webhook and before pushing local
 * events with the wake-up: 1000 clients on PostgreSQL 510-1170 ms, 100 on PGlite ~1100 ms.
 */
import { request } from 'node:http';
import { createApp } from '../../src/app';
import { loadConfig } from '../../src/config';
import { silentLogger } from '../../src/log';
import { SipTestClient, pidf } from '../support/sip-client';

const CLIENTS = Math.min(Number(process.env.CLIENTS ?? 1000), 5000);
const ROUNDS = Math.min(Number(process.env.ROUNDS ?? 3), 20);
const ROUND_LIMIT_MS = 60_000;
const TOKEN = 'bench-token-0123456789';
const P = 'sip:alice@example.com';

interface Client { events: number; at: number[]; close(): void }

async function main(): Promise<void> {
  const { config } = loadConfig({
    env: {},
    overrides: {
      db_url: process.env.HERALD_BENCH_DB_URL ?? 'memory://', sip_listen: 'udp:127.0.0.1:0', http_listen: '127.0.0.1:0', log_level: 'silent',
      clean_period: 3600, api_tokens: [{ token: TOKEN, scopes: ['admin'] }], max_query_uris: 10_000,
    },
  });
  const app = await createApp(config, { log: silentLogger });
  await app.start();
  const a = app.addresses();
  const http = a.http as { host: string; port: number };
  const udp = a.sip.find((s) => s.transport === 'udp') as { host: string; port: number };
  const sip = await SipTestClient.open('udp', udp);
  const clients: Client[] = [];
  try {
    const ids: string[] = [];
    for (let i = 0; i < CLIENTS; i += 20) {
      const batch = await Promise.all(Array.from({ length: Math.min(20, CLIENTS - i) }, () => post('/v1/subscriptions', { uris: [P], durationMinutes: 60 })));
      ids.push(...batch.map((b) => (JSON.parse(b) as { id: string }).id));
    }
    progress(`${ids.length} subscriptions made`);
    for (const id of ids) clients.push(await sse(`/v1/subscriptions/${id}/stream`));
    await until(() => clients.every((c) => c.events >= 1), ROUND_LIMIT_MS);
    progress(`${clients.length} streams open, first events in`);
    const rows: string[] = [];
    for (let r = 1; r <= ROUNDS; r++) {
      const want = r + 1;
      const t0 = performance.now();
      const res = await sip.request('PUBLISH', P, [['From', `<${P}>;tag=b${r}`], ['Event', 'presence'], ['Expires', '600'], ['Content-Type', 'application/pidf+xml']], pidf(P, r % 2 === 1 ? 'open' : 'closed'));
      const replied = performance.now() - t0;
      if (res.status !== 200) throw new Error(`PUBLISH answered ${res.status}`);
      await until(() => clients.every((c) => c.events >= want), ROUND_LIMIT_MS);
      const arrivals = clients.map((c) => (c.at[want - 1] as number) - t0).sort((x, y) => x - y);
      const q = (f: number): string => (arrivals[Math.min(arrivals.length - 1, Math.floor(f * arrivals.length))] as number).toFixed(1);
      rows.push(`| ${CLIENTS} | ${r} | SIP PUBLISH (UDP) | ${replied.toFixed(1)} | ${q(0)} | ${q(0.5)} | ${q(0.99)} | ${(arrivals[arrivals.length - 1] as number).toFixed(1)} |`);
    }
    console.log(`sse-fanout: ${CLIENTS} SSE clients, one HTTP subscription each, one presentity; backend ${config.dbUrl.startsWith('postgres') ? 'postgres' : 'pglite'}`);
    console.log('| clients | round | change | 200 OK ms | first event ms | p50 ms | p99 ms | last event ms |');
    console.log('|---|---|---|---|---|---|---|---|');
    for (const row of rows) console.log(row);
  } finally {
    for (const c of clients) c.close();
    await sip.close();
    await app.stop();
  }

  function post(path: string, body: unknown): Promise<string> {
    return new Promise((resolve, reject) => {
      const data = JSON.stringify(body);
      const req = request({ host: http.host, port: http.port, path, method: 'POST', headers: { authorization: `Bearer ${TOKEN}`, 'content-type': 'application/json', 'content-length': Buffer.byteLength(data) } }, (res) => {
        let text = '';
        res.setEncoding('utf8');
        res.on('data', (c: string) => { text += c; });
        res.on('end', () => (res.statusCode === 201 ? resolve(text) : reject(new Error(`POST ${path}: ${res.statusCode} ${text}`))));
      });
      req.on('error', reject);
      req.end(data);
    });
  }

  function sse(path: string): Promise<Client> {
    return new Promise((resolve, reject) => {
      const c: Client = { events: 0, at: [], close: () => undefined };
      const req = request({ host: http.host, port: http.port, path, headers: { authorization: `Bearer ${TOKEN}`, accept: 'text/event-stream' } }, (res) => {
        res.setEncoding('utf8');
        res.on('data', (chunk: string) => {
          const n = chunk.split('event: presence').length - 1;
          for (let i = 0; i < n; i++) { c.events++; c.at.push(performance.now()); }
        });
        c.close = () => res.destroy();
        resolve(c);
      });
      req.on('error', reject);
      req.end();
    });
  }
}

const started = performance.now();
function progress(what: string): void {
  process.stderr.write(`[${((performance.now() - started) / 1000).toFixed(1)} s] ${what}\n`);
}

async function until(pred: () => boolean, ms: number): Promise<void> {
  const deadline = Date.now() + ms;
  while (!pred()) {
    if (Date.now() > deadline) throw new Error(`bench: not done within ${ms} ms`);
    await new Promise((r) => setTimeout(r, 5));
  }
}

main().catch((err: unknown) => {
  console.error(err);
  process.exitCode = 1;
});
