/**
 * Memory footprint of a real Herald process (RSS of the Herald node process only), printed as one
 * markdown table. A benchmark, not a timed test:
 *
 *   nice -n 10 node -r @swc-node/register test/bench/memory.ts [--presentities 100000 --subscriptions 100000]
 *   nice -n 10 node -r @swc-node/register test/bench/memory.ts --pglite
 *
 * PostgreSQL section (default): creates a fresh database herald_mem_<pid> on 127.0.0.1:5432 (trust auth,
 * user postgres; --db-server postgres://…/postgres to change), runs the migrations (migrateLatest), bulk
 * loads N live publications (table presentity, sip:u<i>@bench.example, ~400-byte PIDF, expiring in a
 * year) and M active subscriptions (active_watchers, spread round-robin over the presentities, Via
 * udp 127.0.0.1:9 = discard) with their watchers rows, using INSERT … SELECT FROM generate_series.
 * Then starts Herald on it as a child process (as test/bench/run.ts does: HERALD_DB_URL, HERALD_SIP_LISTEN,
 * HERALD_HTTP_LISTEN, HERALD_LOG_LEVEL=warn, HERALD_CLEAN_PERIOD=86400 so the sweeper never runs), waits
 * for OPTIONS 200, samples VmRSS/VmHWM from /proc/<pid>/status, drives a bounded mixed load (sipp
 * ../shared/anchors/sipp/publish.xml at --rate 200 calls/s for --seconds 30, -m rate*seconds, -timeout,
 * plus HTTP GETs of /metrics, /readyz and of stored presentities), sampling RSS every second.
 * The publish.xml presentities are its own (pb…@127.0.0.1), so none of the stored subscriptions gets a NOTIFY.
 *
 * PGlite section (--pglite): cold start (spawn → first OPTIONS 200) and RSS for HERALD_DB_URL=memory://
 * and for a fresh PGlite data directory in a temp dir (first start creates the database, second start
 * reopens it), each followed by a bounded sipp publish.xml load (--pglite-calls 2000 at --pglite-rate 100/s).
 *
 * Only 127.0.0.1 is contacted. Every child is killed at the end (also on error or a signal), temp dirs
 * are removed and the bench database is dropped. A watchdog (--max-minutes 20) bounds the whole run.
 * Herald runs under @swc-node/register (TypeScript compiled in-process), like `npm start`: its RSS
 * includes the compiler's share. Figures on a busy machine are approximate: the load average is printed.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { createSocket } from 'node:dgram';
import { existsSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { request } from 'node:http';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import type { Knex } from 'knex';
import { createKnex } from '../../src/store/db';
import { migrateLatest } from '../../src/store/migrate';
import { sippCounts } from './sipp-process';

const ROOT = resolve(__dirname, '..', '..');
const KIT = resolve(ROOT, '..', 'shared', 'anchors');
const PUBLISH_XML = join(KIT, 'sipp', 'publish.xml');
const SIPP = '/usr/bin/sipp';
const HOST = '127.0.0.1';
const TOKEN = 'bench-memory-token';

interface Row { section: string; measurement: string; value: string; unit: string; note?: string }
const rows: Row[] = [];
const add = (section: string, measurement: string, value: string | number, unit: string, note?: string): void => {
  rows.push({ section, measurement, value: String(value), unit, note });
};

function arg(name: string, fallback: number): number {
  const i = process.argv.indexOf(`--${name}`);
  const v = i >= 0 ? Number(process.argv[i + 1]) : fallback;
  if (!Number.isFinite(v) || v <= 0) throw new Error(`--${name} must be a positive number`);
  return v;
}
function sarg(name: string, fallback: string): string {
  const i = process.argv.indexOf(`--${name}`);
  return i >= 0 ? (process.argv[i + 1] as string) : fallback;
}
const flag = (name: string): boolean => process.argv.includes(`--${name}`);

const loadavg = (): string => readFileSync('/proc/loadavg', 'utf8').split(' ').slice(0, 3).join(' ');
const sleep = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms));
const mb = (kb: number): string => (kb / 1024).toFixed(1);

// ---- child processes: every one is tracked and killed by its pid on exit ----

const children = new Set<ChildProcess>();
function track(c: ChildProcess): ChildProcess {
  children.add(c);
  c.once('exit', () => children.delete(c));
  return c;
}
function killAll(): void {
  for (const c of children) if (c.exitCode === null && c.signalCode === null && c.pid) { try { process.kill(c.pid, 'SIGKILL'); } catch { /* gone */ } }
}
process.on('exit', killAll);
for (const sig of ['SIGINT', 'SIGTERM'] as const) process.on(sig, () => { killAll(); process.exit(130); });

// ---- /proc ----

interface Mem { rssKb: number; hwmKb: number }
function procMem(pid: number): Mem {
  const s = readFileSync(`/proc/${pid}/status`, 'utf8');
  const kb = (k: string): number => Number(new RegExp(`^${k}:\\s+(\\d+) kB`, 'm').exec(s)?.[1] ?? NaN);
  return { rssKb: kb('VmRSS'), hwmKb: kb('VmHWM') };
}

// ---- SIP / HTTP helpers ----

function freePort(kind: 'udp' | 'tcp'): Promise<number> {
  return new Promise((ok, fail) => {
    if (kind === 'udp') {
      const s = createSocket('udp4');
      s.once('error', fail);
      s.bind(0, HOST, () => { const { port } = s.address(); s.close(() => ok(port)); });
    } else {
      // eslint-disable-next-line @typescript-eslint/no-require-imports
      const srv = (require('node:net') as typeof import('node:net')).createServer();
      srv.once('error', fail);
      srv.listen(0, HOST, () => { const a = srv.address(); const port = typeof a === 'object' && a ? a.port : 0; srv.close(() => ok(port)); });
    }
  });
}

/** One OPTIONS over UDP; true if a 200 came back within `ms`. */
function ping(port: number, ms: number): Promise<boolean> {
  return new Promise((ok) => {
    const s = createSocket('udp4');
    const timer = setTimeout(() => { s.close(); ok(false); }, ms);
    s.on('message', (m) => {
      if (/^SIP\/2\.0 200 /.test(m.toString('latin1'))) { clearTimeout(timer); s.close(); ok(true); }
    });
    s.bind(0, HOST, () => {
      const lp = s.address().port;
      const branch = `z9hG4bKmem${Date.now().toString(36)}${Math.random().toString(36).slice(2, 8)}`;
      s.send([
        `OPTIONS sip:ping@${HOST}:${port} SIP/2.0`, `Via: SIP/2.0/UDP ${HOST}:${lp};branch=${branch};rport`, 'Max-Forwards: 70',
        `From: <sip:bench@${HOST}>;tag=m1`, `To: <sip:ping@${HOST}>`, `Call-ID: ${branch}@bench`, 'CSeq: 1 OPTIONS', 'Content-Length: 0', '', '',
      ].join('\r\n'), port, HOST);
    });
  });
}

function httpGet(port: number, path: string, auth = false): Promise<{ status: number; body: string }> {
  return new Promise((ok) => {
    const req = request({ host: HOST, port, path, method: 'GET', timeout: 5000, headers: auth ? { authorization: `Bearer ${TOKEN}` } : {} }, (res) => {
      let body = '';
      res.setEncoding('utf8');
      res.on('data', (d: string) => { if (body.length < 2_000_000) body += d; });
      res.on('end', () => ok({ status: res.statusCode ?? 0, body }));
    });
    req.on('timeout', () => req.destroy(new Error('timeout')));
    req.on('error', () => ok({ status: 0, body: '' }));
    req.end();
  });
}

interface Herald { child: ChildProcess; pid: number; sipPort: number; httpPort: number; startSec: number; stderr: () => string }

/** Starts Herald as `node -r @swc-node/register src/main.ts` (like run.ts) and waits for OPTIONS 200. */
async function startHerald(dbUrl: string, timeoutMs: number): Promise<Herald> {
  const sipPort = await freePort('udp');
  const httpPort = await freePort('tcp');
  const t0 = process.hrtime.bigint();
  const child = track(spawn(process.execPath, ['-r', '@swc-node/register', 'src/main.ts'], {
    cwd: ROOT,
    stdio: ['ignore', 'ignore', 'pipe'],
    env: {
      ...process.env,
      HERALD_DB_URL: dbUrl,
      HERALD_SIP_LISTEN: `udp:${HOST}:${sipPort}`,
      HERALD_HTTP_LISTEN: `${HOST}:${httpPort}`,
      HERALD_LOG_LEVEL: 'warn',
      HERALD_CLEAN_PERIOD: '86400',
      HERALD_API_TOKENS: JSON.stringify([{ token: TOKEN, scopes: ['presence:read'] }]),
    },
  }));
  let err = '';
  child.stderr?.on('data', (d: Buffer) => { if (err.length < 20_000) err += d.toString(); });
  const until = Date.now() + timeoutMs;
  while (Date.now() < until) {
    if (child.exitCode !== null) throw new Error(`herald exited with ${child.exitCode}: ${err}`);
    if (await ping(sipPort, 250)) {
      const startSec = Number(process.hrtime.bigint() - t0) / 1e9;
      return { child, pid: child.pid as number, sipPort, httpPort, startSec, stderr: () => err };
    }
  }
  throw new Error(`herald did not answer OPTIONS within ${timeoutMs / 1000} s: ${err}`);
}

function stopHerald(h: Herald): Promise<void> {
  return new Promise((ok) => {
    if (h.child.exitCode !== null || h.child.signalCode !== null) return ok();
    const force = setTimeout(() => { try { process.kill(h.pid, 'SIGKILL'); } catch { /* gone */ } }, 10_000);
    h.child.once('exit', () => { clearTimeout(force); ok(); });
    process.kill(h.pid, 'SIGTERM');
  });
}

interface SippResult { calls: number; ok: number; failed: number; retrans: number; elapsedSec: number; code: number | null }

/** sipp publish.xml, bounded by -m calls and -timeout. */
function runSipp(port: number, rate: number, calls: number, dir: string, prefix: string): Promise<SippResult> {
  if (!existsSync(SIPP)) throw new Error(`sipp not found at ${SIPP} (Debian package sip-tester)`);
  if (!existsSync(PUBLISH_XML)) throw new Error(`${PUBLISH_XML} not found`);
  const stf = join(dir, `${prefix}.csv`);
  const seconds = Math.ceil(calls / rate);
  const args = [`${HOST}:${port}`, '-sf', PUBLISH_XML, '-s', prefix, '-i', HOST, '-t', 'u1', '-m', String(calls), '-r', String(rate), '-rp', '1000',
    '-timeout', `${seconds + 40}s`, '-timeout_error', '-max_retrans', '5', '-default_behaviors', 'all,-bye', '-nostdin',
    '-trace_stat', '-stf', stf, '-fd', '1', '-trace_err', '-error_file', join(dir, `${prefix}-errors.log`)];
  return new Promise((ok, fail) => {
    const t0 = Date.now();
    const c = track(spawn(SIPP, args, { cwd: dir, stdio: ['ignore', 'ignore', 'pipe'] }));
    let err = '';
    c.stderr?.on('data', (d: Buffer) => { if (err.length < 4000) err += d.toString(); });
    c.once('error', fail);
    c.once('exit', (code) => {
      if (!existsSync(stf)) return fail(new Error(`sipp wrote no statistics (exit ${code}): ${err}`));
      const st = sippCounts(stf);
      ok({ calls: st.created, ok: st.successful, failed: st.failed, retrans: st.retransmissions, elapsedSec: (Date.now() - t0) / 1000, code });
    });
  });
}

/** Samples the RSS of `pid` every second while `work` runs; returns the maximum VmRSS seen. */
async function sampled<T>(pid: number, work: Promise<T>): Promise<{ result: T; maxRssKb: number; samples: number }> {
  let maxRssKb = 0;
  let samples = 0;
  const take = (): void => { try { maxRssKb = Math.max(maxRssKb, procMem(pid).rssKb); samples++; } catch { /* exited */ } };
  take();
  const timer = setInterval(take, 1000);
  try {
    const result = await work;
    take();
    return { result, maxRssKb, samples };
  } finally {
    clearInterval(timer);
  }
}

/** herald_nodejs_heap_size_used_bytes from /metrics (prom-client default metrics), MB. */
async function heapUsedMb(httpPort: number): Promise<string> {
  const m = await httpGet(httpPort, '/metrics');
  const v = /^herald_nodejs_heap_size_used_bytes\s+([\d.e+]+)/m.exec(m.body)?.[1];
  return v ? (Number(v) / 1048576).toFixed(1) : 'n/a';
}

// ---- PostgreSQL section ----

function pidf(entity: string): string {
  // ~400 bytes, the shape a softphone publishes (PIDF + data model + RPID).
  // `\\?`: knex.raw would read a bare question mark as a binding placeholder.
  return `'<\\?xml version="1.0" encoding="UTF-8"\\?>' || chr(10) ||
    '<presence xmlns="urn:ietf:params:xml:ns:pidf" xmlns:dm="urn:ietf:params:xml:ns:pidf:data-model" xmlns:rpid="urn:ietf:params:xml:ns:pidf:rpid" entity="' || ${entity} || '">' ||
    '<tuple id="t' || substr(md5(${entity}), 1, 8) || '"><status><basic>open</basic></status><contact priority="0.8">' || ${entity} || '</contact></tuple>' ||
    '<dm:person id="p1"><rpid:activities><rpid:on-the-phone/></rpid:activities></dm:person></presence>'`;
}

async function postgresSection(): Promise<void> {
  const S = 'PostgreSQL';
  const nPres = arg('presentities', 100_000);
  const nSubs = arg('subscriptions', 100_000);
  const rate = arg('rate', 200);
  const seconds = arg('seconds', 30);
  const server = sarg('db-server', `postgres://postgres@${HOST}:5432/postgres`);
  if (!/^postgres(ql)?:\/\/[^@/]*@?127\.0\.0\.1[:/]/.test(server)) throw new Error('--db-server must be on 127.0.0.1');
  const db = `herald_mem_${process.pid}`;
  const dbUrl = server.replace(/\/[^/]*$/, `/${db}`);
  const admin = createKnex(server);
  let knex: Knex | undefined;
  let herald: Herald | undefined;
  const dir = mkdtempSync(join(tmpdir(), 'herald-mem-'));
  try {
    await admin.raw(`DROP DATABASE IF EXISTS ${db}`);
    await admin.raw(`CREATE DATABASE ${db}`);
    knex = createKnex(dbUrl);
    const applied = await migrateLatest(knex);
    add(S, 'migrations applied', applied.length, '', `(${applied[applied.length - 1] ?? ''})`);

    const now = Date.now();
    const exp = now + 365 * 86_400_000;
    const t0 = Date.now();
    const chunk = 25_000;
    for (let a = 1; a <= nPres; a += chunk) {
      const b = Math.min(nPres, a + chunk - 1);
      const ent = `('sip:u' || i || '@bench.example')`;
      await knex.raw(`INSERT INTO presentity (presentity, event, etag, body, content_type, source, client, received_at, expires_at)
        SELECT ${ent}, 'presence', 'a' || substr(md5('etag' || i), 1, 15), ${pidf(ent)}, 'application/pidf+xml', 'sip', NULL, ${now}, ${exp}
        FROM generate_series(${a}, ${b}) AS i`);
    }
    for (let a = 1; a <= nSubs; a += chunk) {
      const b = Math.min(nSubs, a + chunk - 1);
      const pres = `('sip:u' || ((j - 1) % ${nPres} + 1) || '@bench.example')`;
      const wat = `('sip:w' || j || '@bench.example')`;
      await knex.raw(`INSERT INTO active_watchers (id, presentity, event, event_id, watcher, watcher_display_name, call_id, remote_tag, local_tag,
          remote_uri, local_uri, remote_cseq, local_cseq, remote_target, route_set, contact_instance, via_transport, via_host, via_port,
          via_connection_id, state, reason, expires_at, version, node, created_at, updated_at)
        SELECT 'bm' || substr(md5('id' || j), 1, 14), ${pres}, 'presence', NULL, ${wat}, 'Watcher ' || j, md5('call' || j) || '@192.0.2.9',
          substr(md5('rt' || j), 1, 10), '10.' || substr(md5('lt' || j), 1, 16), ${wat}, ${pres}, 1, 1, 'sip:w' || j || '@127.0.0.1:9',
          '[]'::jsonb, NULL, 'udp', '127.0.0.1', 9, NULL, 'active', NULL, ${exp}, 1, 'bench-node', ${now}, ${now}
        FROM generate_series(${a}, ${b}) AS j`);
      await knex.raw(`INSERT INTO watchers (presentity, watcher, watcher_display_name, event, subscription_id, status, last_event, created_at, updated_at)
        SELECT ${pres}, ${wat}, 'Watcher ' || j, 'presence', 'bm' || substr(md5('id' || j), 1, 14), 'active', 'subscribe', ${now}, ${now}
        FROM generate_series(${a}, ${b}) AS j`);
    }
    await knex.raw('ANALYZE');
    const loadSec = (Date.now() - t0) / 1000;
    const k = knex;
    const one = async (sql: string): Promise<string> => String((await k.raw<{ rows: Array<{ n: string }> }>(sql)).rows[0]?.n);
    const count = async (t: string): Promise<number> => Number(await one(`SELECT count(*) AS n FROM ${t}`));
    const cPres = await count('presentity');
    const cSubs = await count(`active_watchers WHERE state = 'active'`);
    const cWat = await count('watchers');
    const avgBody = await one('SELECT round(avg(length(body))) AS n FROM presentity');
    const dbSize = await one('SELECT pg_database_size(current_database()) AS n');
    add(S, 'rows stored: presentity (live publications)', cPres, 'rows', `(avg body ${avgBody} B, distinct presentities sip:u<i>@bench.example)`);
    add(S, 'rows stored: active_watchers (state active)', cSubs, 'rows', `(spread over ${Math.min(nPres, nSubs)} presentities, Via udp 127.0.0.1:9)`);
    add(S, 'rows stored: watchers', cWat, 'rows');
    add(S, 'bulk load time (INSERT … SELECT generate_series + ANALYZE)', loadSec.toFixed(1), 's', `(database size ${(Number(dbSize) / 1048576).toFixed(0)} MB)`);
    await knex.destroy();
    knex = undefined;

    herald = await startHerald(dbUrl, 120_000);
    add(S, 'cold start (spawn → first OPTIONS 200)', herald.startSec.toFixed(2), 's', `(load avg ${loadavg()})`);
    const m0 = procMem(herald.pid);
    add(S, 'Herald RSS after start (VmRSS)', mb(m0.rssKb), 'MB', `(VmHWM ${mb(m0.hwmKb)} MB)`);
    await sleep(2000);
    const m1 = procMem(herald.pid);
    add(S, 'Herald RSS 2 s after start, idle', mb(m1.rssKb), 'MB', `(heap used ${await heapUsedMb(herald.httpPort)} MB)`);

    // Mixed load: sipp PUBLISH cycles + HTTP reads of the stored presentities, /metrics and /readyz.
    const h = herald;
    let httpDone = false;
    let firstError = '';
    const http = { reqs: 0, ok: 0, listing: 0, codes: {} as Record<string, number> };
    const httpLoop = (async () => {
      let k = 0;
      while (!httpDone) {
        const user = `u${1 + Math.floor(Math.random() * nPres)}`;
        const paths: Array<[string, boolean]> = [[`/v1/presence/bench.example/${user}`, true]];
        if (k % 10 === 0) paths.push(['/metrics', false], ['/readyz', false]);
        if (k % 20 === 0) paths.push([`/v1/presence/bench.example`, true]); // one page (max_page_size) of the domain listing
        for (const [p, auth] of paths) {
          const r = await httpGet(h.httpPort, p, auth);
          http.reqs++;
          http.codes[r.status] = (http.codes[r.status] ?? 0) + 1;
          if ((r.status < 200 || r.status >= 300) && !firstError) firstError = `${p} → ${r.status} ${r.body.slice(0, 200)}`;
          if (r.status >= 200 && r.status < 300) http.ok++;
          if (p === '/v1/presence/bench.example' && (r.status === 200 || r.status === 206)) http.listing++;
        }
        k++;
        await sleep(50);
      }
    })();
    const la0 = loadavg();
    const { result: sr, maxRssKb, samples } = await sampled(h.pid, runSipp(h.sipPort, rate, rate * seconds, dir, `pbmem${process.pid}`).finally(() => { httpDone = true; }));
    await httpLoop;
    const m2 = procMem(h.pid);
    add(S, `load: sipp publish.xml ${rate} calls/s × ${seconds} s (4 PUBLISH each)`, `${sr.ok}/${sr.calls}`, 'calls ok', `(failed ${sr.failed}, retrans ${sr.retrans}, ${sr.elapsedSec.toFixed(1)} s, exit ${sr.code}; load avg before ${la0}, after ${loadavg()})`);
    add(S, 'load: HTTP GETs (stored presentities, domain page, /metrics, /readyz)', `${http.ok}/${http.reqs}`, '2xx', `(${http.listing} domain-listing pages; status counts ${JSON.stringify(http.codes)}${firstError ? `; first error ${firstError}` : ''})`);
    add(S, 'Herald max VmRSS sampled during load (1 s)', mb(maxRssKb), 'MB', `(${samples} samples)`);
    add(S, 'Herald peak RSS (VmHWM, process lifetime) after load', mb(m2.hwmKb), 'MB', '(target ≤ 400 MB)');
    add(S, 'Herald RSS at the end of load', mb(m2.rssKb), 'MB', `(heap used ${await heapUsedMb(h.httpPort)} MB)`);
    add(S, 'NOTIFYs to the stored subscriptions', 0, '', '(publish.xml uses its own presentities pb…@127.0.0.1, none of the stored ones change)');
    await stopHerald(h);
    herald = undefined;
  } finally {
    if (herald) await stopHerald(herald);
    if (knex) await knex.destroy();
    await admin.raw(`DROP DATABASE IF EXISTS ${db} WITH (FORCE)`).catch((e: unknown) => process.stderr.write(`could not drop ${db}: ${String(e)}\n`));
    await admin.destroy();
    rmSync(dir, { recursive: true, force: true });
  }
}

// ---- PGlite section ----

async function pgliteSection(): Promise<void> {
  const S = 'PGlite';
  const calls = arg('pglite-calls', 2000);
  const rate = arg('pglite-rate', 100);
  const dir = mkdtempSync(join(tmpdir(), 'herald-mem-pglite-'));
  const dataDir = join(dir, 'data');
  const load = async (label: string, h: Herald): Promise<void> => {
    const la0 = loadavg();
    const { result: sr, maxRssKb } = await sampled(h.pid, runSipp(h.sipPort, rate, calls, dir, `pbmem${label.replace(/\W/g, '')}${process.pid}`));
    const m = procMem(h.pid);
    add(S, `${label}: sipp publish.xml ${calls} calls at ${rate}/s`, `${sr.ok}/${sr.calls}`, 'calls ok', `(failed ${sr.failed}, retrans ${sr.retrans}, ${sr.elapsedSec.toFixed(1)} s; load avg before ${la0}, after ${loadavg()})`);
    add(S, `${label}: RSS after the load`, mb(m.rssKb), 'MB', `(max sampled ${mb(maxRssKb)} MB, VmHWM ${mb(m.hwmKb)} MB, heap used ${await heapUsedMb(h.httpPort)} MB)`);
  };
  const start = async (label: string, url: string): Promise<Herald> => {
    const la = loadavg();
    const h = await startHerald(url, 180_000);
    const m = procMem(h.pid);
    add(S, `${label}: cold start (spawn → first OPTIONS 200)`, h.startSec.toFixed(2), 's', `(load avg ${la})`);
    add(S, `${label}: RSS after start`, mb(m.rssKb), 'MB', `(VmHWM ${mb(m.hwmKb)} MB)`);
    return h;
  };
  let h: Herald | undefined;
  try {
    h = await start('memory://', 'memory://');
    await load('memory://', h);
    await stopHerald(h);
    h = await start('data dir, first start (creates it)', dataDir);
    await stopHerald(h);
    h = await start('data dir, second start', dataDir);
    await load('data dir', h);
    await stopHerald(h);
    h = undefined;
  } finally {
    if (h) await stopHerald(h);
    rmSync(dir, { recursive: true, force: true });
  }
}

function printTable(): void {
  const head = ['section', 'measurement', 'value', 'unit', 'note'];
  const cells = rows.map((r) => [r.section, r.measurement, r.value, r.unit, r.note ?? '']);
  const w = head.map((h, i) => Math.max(h.length, ...cells.map((c) => (c[i] as string).length)));
  const line = (c: string[]): string => `| ${c.map((x, i) => (i === 2 ? x.padStart(w[i] as number) : x.padEnd(w[i] as number))).join(' | ')} |`;
  console.log(line(head));
  console.log(`|${w.map((n, i) => (i === 2 ? `${'-'.repeat(n + 1)}:` : '-'.repeat(n + 2))).join('|')}|`);
  for (const c of cells) console.log(line(c));
}

async function main(): Promise<void> {
  const watchdog = setTimeout(() => { process.stderr.write('memory bench: watchdog expired\n'); killAll(); process.exit(3); }, arg('max-minutes', 20) * 60_000);
  watchdog.unref();
  const t0 = Date.now();
  add('machine', 'load average (1/5/15 min) at start', loadavg(), '', `(${(await import('node:os')).cpus().length} cores, nice ${(await import('node:os')).getPriority()})`);
  try {
    if (flag('pglite')) await pgliteSection();
    else await postgresSection();
  } finally {
    add('machine', 'load average (1/5/15 min) at the end', loadavg(), '', `(bench took ${((Date.now() - t0) / 1000).toFixed(0)} s)`);
    printTable();
  }
}

main().then(
  () => { killAll(); process.exit(0); },
  (err: unknown) => { process.stderr.write(`memory bench: ${err instanceof Error ? err.stack ?? err.message : String(err)}\n`); killAll(); process.exit(1); },
);
