/**
 * Soak (issue 10): a mixed load against a Herald this script starts on PostgreSQL, for a bounded
 * time, sampling Herald's RSS every few seconds; reports failed calls and the RSS curve.
 *
 *   node -r @swc-node/register test/bench/soak.ts [--duration 600] [--quick] [--publish-rate 150]
 *        [--subscribe-rate 150] [--expiry-rate 10] [--http-rate 20] [--sample 5] [--pool 1000]
 *        [--db-url postgres://postgres@127.0.0.1:5432/postgres] [--out DIR]
 *        [--herald-node-args "--trace-gc"] (Node flags for Herald only; its stdout goes to DIR/herald.out)
 *   --quick: 30 s at a fifth of the rates (a check that the script works)
 *
 * Load:
 *   PUBLISH cycle (sipp, the shared anchors' publish.xml): initial (PIDF) → refresh (SIP-If-Match)
 *     → modify (PIDF) → remove (Expires 0), one new presentity per call.
 *   SUBSCRIBE cycle (sipp, subscribe.xml over a pool of published presentities): SUBSCRIBE →
 *     NOTIFY → un-SUBSCRIBE → final NOTIFY.
 *   Expiry (this script's UDP peer, --expiry-rate each): a PUBLISH cycle that stops after the
 *     modify with Expires 5 and is expired by the sweeper (clean_period 2), and a SUBSCRIBE with
 *     Expires 5 to one of those presentities, ended by the sweeper (NOTIFY terminated;reason=timeout).
 *   HTTP: GET /v1/presence/{domain}/{user} of a pool presentity or a recent expiry presentity.
 * sipp runs the high-rate cycles because one Node process running them all at 150 + 150/s pegged its
 * own core after ~3 minutes and stopped launching (the 2026-12-01 attempt); sipp is also what
 * measured the maximum. A call fails on any unexpected answer or none within 8 s.
 * Only 127.0.0.1 is contacted; the run is bounded by --duration plus a 30 s drain.
 */
import { spawn, spawnSync } from 'node:child_process';
import { mkdirSync, openSync, readFileSync, writeFileSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { Peer, pidf, type Answer } from './sip-peer';
import { sippCounts, startSipp, type SippRun } from './sipp-process';

const root = resolve(__dirname, '..', '..');
const arg = (name: string, fallback: string): string => {
  const i = process.argv.indexOf(`--${name}`);
  return i >= 0 ? (process.argv[i + 1] as string) : fallback;
};
const quick = process.argv.includes('--quick');
const scale = quick ? 0.2 : 1;
const DURATION_S = Number(arg('duration', quick ? '30' : '600'));
const RATES = { publish: Number(arg('publish-rate', '150')) * scale, subscribe: Number(arg('subscribe-rate', '150')) * scale,
  expiry: Number(arg('expiry-rate', '10')) * scale, http: Number(arg('http-rate', '20')) * scale };
const POOL = Number(arg('pool', '1000'));
const OUT = arg('out', `/tmp/herald-soak-${process.pid}`);
const SAMPLE_S = Number(arg('sample', '5'));
const DB_SERVER = arg('db-url', 'postgres://postgres@127.0.0.1:5432/postgres');
const TOKEN = 'soak-token-0123456789';
const MAX_OPEN_CYCLES = 3000;

interface Stats { started: number; ok: number; failed: number; reasons: Record<string, number>; latencies: number[] }
const stats = (): Stats => ({ started: 0, ok: 0, failed: 0, reasons: {}, latencies: [] });

function expect2xx(a: Answer, step: string): void {
  if (a.status < 200 || a.status >= 300) throw new Error(`${step}: ${a.status === 0 ? 'timeout' : a.status}`);
}

async function publishCycle(p: Peer, i: number): Promise<void> {
  const aor = `sip:soakp${i}@127.0.0.1`;
  const base = (cseq: number): string[] => [`From: <${aor}>;tag=p${i}`, `To: <${aor}>`, `Call-ID: soakp-${process.pid}-${i}`, `CSeq: ${cseq} PUBLISH`, 'Event: presence'];
  const expires = 5;
  let a = await p.request('PUBLISH', aor, [...base(1), `Expires: ${expires}`, 'Content-Type: application/pidf+xml'], pidf(aor, 'open'));
  expect2xx(a, 'initial');
  a = await p.request('PUBLISH', aor, [...base(2), `Expires: ${expires}`, `SIP-If-Match: ${a.headers.get('sip-etag') ?? ''}`]);
  expect2xx(a, 'refresh');
  a = await p.request('PUBLISH', aor, [...base(3), `Expires: ${expires}`, `SIP-If-Match: ${a.headers.get('sip-etag') ?? ''}`, 'Content-Type: application/pidf+xml'], pidf(aor, 'closed'));
  expect2xx(a, 'modify'); // left to the sweeper
}

async function subscribeCycle(p: Peer, i: number): Promise<void> {
  const presentity = `sip:soakp${Math.max(0, i - 5)}@127.0.0.1`;
  const watcher = `sip:soakw${i}@127.0.0.1`;
  const callId = `soaks-${process.pid}-${i}`;
  const h = (cseq: number): string[] => [`From: <${watcher}>;tag=w${i}`, `To: <${presentity}>`, `Call-ID: ${callId}`,
    `CSeq: ${cseq} SUBSCRIBE`, 'Event: presence', `Contact: <sip:soakw${i}@127.0.0.1:${p.port}>`, 'Accept: application/pidf+xml'];
  const a = await p.request('SUBSCRIBE', presentity, [...h(1), 'Expires: 5']);
  expect2xx(a, 'subscribe'); // the sweeper ends it with NOTIFY terminated;reason=timeout
}

function rssMb(pid: number): number {
  const m = /VmRSS:\s+(\d+)\s+kB/.exec(readFileSync(`/proc/${pid}/status`, 'utf8'));
  return m ? Math.round(Number(m[1]) / 1024) : NaN;
}

async function waitForOptions(p: Peer): Promise<void> {
  for (let i = 0; i < 60; i++) {
    const a = await p.request('OPTIONS', 'sip:herald@127.0.0.1', ['From: <sip:soak@127.0.0.1>;tag=o', 'To: <sip:herald@127.0.0.1>', `Call-ID: soak-options-${i}`, 'CSeq: 1 OPTIONS']);
    if (a.status === 200) return;
  }
  throw new Error('Herald did not answer OPTIONS');
}

const pct = (xs: number[], q: number): number => {
  const s = [...xs].sort((a, b) => a - b);
  return s.length ? (s[Math.min(s.length - 1, Math.floor(q * s.length))] as number) : 0;
};

async function main(): Promise<void> {
  mkdirSync(OUT, { recursive: true });
  const db = `herald_soak_${process.pid}`;
  const admin = DB_SERVER.replace(/\/[^/]*$/, '/postgres');
  const made = spawnSync('psql', [admin, '-qc', `CREATE DATABASE ${db}`], { encoding: 'utf8' });
  if (made.status !== 0) throw new Error(`could not create the soak database: ${made.stderr}`);
  const sipPort = 20_000 + (process.pid % 20_000);
  const httpPort = sipPort + 1;
  const target = `127.0.0.1:${sipPort}`;
  const nodeArgs = arg('herald-node-args', '').split(' ').filter(Boolean);
  const child = spawn(process.execPath, [...nodeArgs, '-r', '@swc-node/register', 'src/main.ts'], {
    cwd: root, stdio: ['ignore', openSync(join(OUT, 'herald.out'), 'w'), 'inherit'],
    env: { ...process.env, HERALD_DB_URL: DB_SERVER.replace(/\/[^/]*$/, `/${db}`), HERALD_SIP_LISTEN: `udp:${target}`, HERALD_HTTP_LISTEN: `127.0.0.1:${httpPort}`,
      HERALD_LOG_LEVEL: 'warn', HERALD_MIN_EXPIRES: '1', HERALD_CLEAN_PERIOD: '2', HERALD_API_TOKENS: JSON.stringify([{ token: TOKEN, scopes: ['presence:read'] }]) },
  });
  const pid = child.pid as number;
  const peer = new Peer(sipPort);
  await peer.open();
  const samples: Array<{ t: number; rssMb: number; cpuS: number; open: number; heapUsedMb?: number; heapTotalMb?: number; externalMb?: number }> = [];
  const s = { expiryPublish: stats(), expirySubscribe: stats(), http: stats() };
  const sipps: SippRun[] = [];
  // Stopped by hand: take sipp, Herald and the database with us.
  for (const sig of ['SIGINT', 'SIGTERM'] as const) {
    process.once(sig, () => {
      for (const x of sipps) x.child.kill('SIGKILL');
      child.kill('SIGKILL');
      spawnSync('sleep', ['1']);
      spawnSync('psql', [admin, '-qc', `DROP DATABASE IF EXISTS ${db}`]);
      process.exit(130);
    });
  }
  try {
    await waitForOptions(peer);
    // The SUBSCRIBE cycle's presentities: published once, left for the whole run.
    const prefix = `soak${process.pid}`;
    writeFileSync(join(OUT, 'pool.csv'), `SEQUENTIAL\n${Array.from({ length: POOL }, (_, k) => `${prefix}pool-${k + 1}`).join('\n')}\n`);
    const pool = startSipp({ target, scenario: 'publish_pool.xml', rate: 200, calls: POOL, boundS: POOL / 200 + 60, dir: OUT, tag: 'pool', localPort: sipPort + 10, extra: ['-inf', join(OUT, 'pool.csv')] });
    await pool.done;
    const pooled = sippCounts(pool.statFile);
    if (pooled.successful !== POOL) throw new Error(`pool pre-publication incomplete: ${JSON.stringify(pooled)}`);
    console.error(`soak: Herald pid ${pid} on ${target}, pool of ${POOL} published, ${DURATION_S} s at ${JSON.stringify(RATES)}/s`);
    const t0 = Date.now();
    const cpu0 = cpuSeconds(pid);
    sipps.push(startSipp({ target, scenario: 'publish.xml', rate: RATES.publish, calls: Math.round(RATES.publish * DURATION_S), boundS: DURATION_S + 30, dir: OUT, tag: 'publish', localPort: sipPort + 20, extra: ['-s', `${prefix}pub`] }));
    sipps.push(startSipp({ target, scenario: 'subscribe.xml', rate: RATES.subscribe, calls: Math.round(RATES.subscribe * DURATION_S), boundS: DURATION_S + 30, dir: OUT, tag: 'subscribe', localPort: sipPort + 30, extra: ['-inf', join(OUT, 'pool.csv')] }));
    let open = 0;
    let backlog = 0;
    const launched = { expiryPublish: 0, expirySubscribe: 0, http: 0 };
    const run = (kind: keyof typeof s, work: (i: number) => Promise<void>): void => {
      if (open >= MAX_OPEN_CYCLES) {
        backlog++;
        return;
      }
      const i = launched[kind]++;
      const st = s[kind];
      st.started++;
      open++;
      const began = Date.now();
      work(i).then(() => {
        st.ok++;
        st.latencies.push(Date.now() - began);
      }, (err: unknown) => {
        st.failed++;
        const reason = err instanceof Error ? err.message : String(err);
        st.reasons[reason] = (st.reasons[reason] ?? 0) + 1;
      }).finally(() => open--);
    };
    const httpRead = async (i: number): Promise<void> => {
      const user = i % 2 === 0 ? `${prefix}pool-${1 + (i % POOL)}` : `soakp${Math.max(0, launched.expiryPublish - 1 - (i % 20))}`;
      const r = await fetch(`http://127.0.0.1:${httpPort}/v1/presence/127.0.0.1/${user}`, { headers: { authorization: `Bearer ${TOKEN}` }, signal: AbortSignal.timeout(8000) });
      await r.arrayBuffer();
      // An expiry presentity may be gone already (404 is the right answer then); a pool one never is.
      if (r.status !== 200 && !(r.status === 404 && i % 2 === 1)) throw new Error(`http: ${r.status} ${user}`);
    };
    samples.push({ t: 0, rssMb: rssMb(pid), cpuS: 0, open: 0 });
    let nextSample = SAMPLE_S * 1000;
    while (Date.now() - t0 < DURATION_S * 1000) {
      const el = (Date.now() - t0) / 1000;
      while (launched.expiryPublish < RATES.expiry * el) run('expiryPublish', (i) => publishCycle(peer, i));
      while (launched.expirySubscribe < RATES.expiry * el) run('expirySubscribe', (i) => subscribeCycle(peer, i));
      while (launched.http < RATES.http * el) run('http', httpRead);
      if (Date.now() - t0 >= nextSample) {
        samples.push({ t: Math.round((Date.now() - t0) / 1000), rssMb: rssMb(pid), cpuS: Math.round((cpuSeconds(pid) - cpu0) * 10) / 10, open, ...(await heapMb(httpPort)) });
        nextSample += SAMPLE_S * 1000;
        if (samples.length % 12 === 0) {
          const [pub, sub] = sipps.map((x) => sippCounts(x.statFile));
          console.error(`soak: t=${samples.at(-1)?.t}s rss=${samples.at(-1)?.rssMb} MB sipp publish ok=${pub?.successful} failed=${pub?.failed} subscribe ok=${sub?.successful} failed=${sub?.failed}`
            + ` expiry/http ok=${s.expiryPublish.ok}/${s.expirySubscribe.ok}/${s.http.ok} failed=${s.expiryPublish.failed}/${s.expirySubscribe.failed}/${s.http.failed}`);
        }
      }
      await new Promise((r) => setTimeout(r, 10));
    }
    const drainEnd = Date.now() + 30_000;
    while (open > 0 && Date.now() < drainEnd) await new Promise((r) => setTimeout(r, 50));
    await Promise.race([Promise.all(sipps.map((x) => x.done)), new Promise((r) => setTimeout(r, Math.max(0, drainEnd - Date.now())))]);
    samples.push({ t: Math.round((Date.now() - t0) / 1000), rssMb: rssMb(pid), cpuS: Math.round((cpuSeconds(pid) - cpu0) * 10) / 10, open });
    const [pub, sub] = sipps.map((x) => sippCounts(x.statFile));
    const summary = Object.fromEntries(Object.entries(s).map(([k, v]) => [k, {
      started: v.started, ok: v.ok, failed: v.failed, reasons: v.reasons, p50Ms: pct(v.latencies, 0.5), p99Ms: pct(v.latencies, 0.99),
      achievedPerSec: Math.round((v.ok / DURATION_S) * 10) / 10,
    }]));
    const rss = samples.map((x) => x.rssMb);
    const after = (t: number): number[] => samples.filter((x) => x.t >= t).map((x) => x.rssMb);
    const report = {
      durationSec: DURATION_S, rates: RATES, pool: POOL, unfinishedAfterDrain: open, notLaunchedBacklog: backlog, notifiesReceivedByPeer: peer.notifies,
      sipp: { publishCycles: { ...pub, target: Math.round(RATES.publish * DURATION_S) }, subscribeCycles: { ...sub, target: Math.round(RATES.subscribe * DURATION_S) } },
      calls: summary, heraldCpuSeconds: samples.at(-1)?.cpuS,
      rss: { minMb: Math.min(...rss), maxMb: Math.max(...rss), afterMinute2MinMb: Math.min(...after(120)), afterMinute2MaxMb: Math.max(...after(120)), lastMinuteMaxMb: Math.max(...after(samples.at(-1)!.t - 60)) },
      samples,
    };
    writeFileSync(join(OUT, 'soak.json'), JSON.stringify(report, null, 2));
    console.log(JSON.stringify(report, null, 2));
  } finally {
    for (const x of sipps) x.child.kill('SIGTERM');
    peer.close();
    child.kill('SIGTERM');
    await new Promise((r) => child.once('exit', r));
    spawnSync('psql', [admin, '-qc', `DROP DATABASE IF EXISTS ${db}`]);
  }
}

/** V8's heap (used: live objects and garbage not yet collected; total: what V8 holds) and Buffers, from /metrics. */
async function heapMb(httpPort: number): Promise<{ heapUsedMb?: number; heapTotalMb?: number; externalMb?: number }> {
  try {
    const text = await (await fetch(`http://127.0.0.1:${httpPort}/metrics`, { headers: { authorization: `Bearer ${TOKEN}` }, signal: AbortSignal.timeout(2000) })).text();
    const mb = (name: string): number | undefined => {
      const m = new RegExp(`^${name} (\\S+)$`, 'm').exec(text);
      return m ? Math.round(Number(m[1]) / 1048576) : undefined;
    };
    return { heapUsedMb: mb('herald_nodejs_heap_size_used_bytes'), heapTotalMb: mb('herald_nodejs_heap_size_total_bytes'), externalMb: mb('herald_nodejs_external_memory_bytes') };
  } catch {
    return {};
  }
}

/** User + system CPU seconds of a process so far (/proc/PID/stat fields 14 and 15, in clock ticks of 1/100 s). */
function cpuSeconds(pid: number): number {
  const f = readFileSync(`/proc/${pid}/stat`, 'utf8').split(') ')[1]?.split(' ') ?? [];
  return (Number(f[11]) + Number(f[12])) / 100;
}

main().catch((err: unknown) => {
  console.error(err);
  process.exit(1);
});
