/**
 * Soak (issue 10): a mixed load against a Herald this script starts on PostgreSQL, for a bounded
 * time, sampling Herald's RSS every few seconds; reports failed calls and the RSS curve.
 *
 *   node -r @swc-node/register test/bench/soak.ts [--duration 600] [--quick] [--publish-rate 150]
 *        [--subscribe-rate 150] [--http-rate 20] [--sample 5] [--db-url postgres://postgres@127.0.0.1:5432/postgres]
 *   --quick: 30 s at a fifth of the rates (a check that the script works)
 *
 * Load (the sipp anchors' cycles, plus expiry and HTTP reads):
 *   PUBLISH cycle: initial (PIDF) → refresh (SIP-If-Match) → modify (PIDF) → remove (Expires 0); one
 *     in ten stops after the modify with Expires 5 and is expired by the sweeper (clean_period 2).
 *   SUBSCRIBE cycle: SUBSCRIBE → un-SUBSCRIBE (every NOTIFY answered 200 and counted); one in ten
 *     subscribes with Expires 5 and is left to the sweeper (NOTIFY terminated;reason=timeout).
 *   HTTP: GET /v1/presence/{domain}/{user} of a recent presentity.
 * A call fails on any non-2xx answer or no answer within 8 s (UDP retransmissions at 0.5, 1, 2, 4 s).
 * Only 127.0.0.1 is contacted; the run is bounded by --duration plus a 20 s drain.
 */
import { spawn, spawnSync } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { resolve } from 'node:path';
import { Peer, pidf, type Answer } from './sip-peer';

const root = resolve(__dirname, '..', '..');
const arg = (name: string, fallback: string): string => {
  const i = process.argv.indexOf(`--${name}`);
  return i >= 0 ? (process.argv[i + 1] as string) : fallback;
};
const quick = process.argv.includes('--quick');
const scale = quick ? 0.2 : 1;
const DURATION_S = Number(arg('duration', quick ? '30' : '600'));
const RATES = { publish: Number(arg('publish-rate', '150')) * scale, subscribe: Number(arg('subscribe-rate', '150')) * scale, http: Number(arg('http-rate', '20')) * scale };
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
  const expires = i % 10 === 0 ? 5 : 60;
  let a = await p.request('PUBLISH', aor, [...base(1), `Expires: ${expires}`, 'Content-Type: application/pidf+xml'], pidf(aor, 'open'));
  expect2xx(a, 'initial');
  a = await p.request('PUBLISH', aor, [...base(2), `Expires: ${expires}`, `SIP-If-Match: ${a.headers.get('sip-etag') ?? ''}`]);
  expect2xx(a, 'refresh');
  a = await p.request('PUBLISH', aor, [...base(3), `Expires: ${expires}`, `SIP-If-Match: ${a.headers.get('sip-etag') ?? ''}`, 'Content-Type: application/pidf+xml'], pidf(aor, 'closed'));
  expect2xx(a, 'modify');
  if (expires === 5) return; // left to the sweeper
  a = await p.request('PUBLISH', aor, [...base(4), 'Expires: 0', `SIP-If-Match: ${a.headers.get('sip-etag') ?? ''}`]);
  expect2xx(a, 'remove');
}

async function subscribeCycle(p: Peer, i: number): Promise<void> {
  const presentity = `sip:soakp${Math.max(0, i - 5)}@127.0.0.1`;
  const watcher = `sip:soakw${i}@127.0.0.1`;
  const callId = `soaks-${process.pid}-${i}`;
  const expires = i % 10 === 0 ? 5 : 60;
  const h = (cseq: number, toTag?: string): string[] => [`From: <${watcher}>;tag=w${i}`, `To: <${presentity}>${toTag ? `;tag=${toTag}` : ''}`, `Call-ID: ${callId}`,
    `CSeq: ${cseq} SUBSCRIBE`, 'Event: presence', `Contact: <sip:soakw${i}@127.0.0.1:${p.port}>`, 'Accept: application/pidf+xml'];
  const a = await p.request('SUBSCRIBE', presentity, [...h(1), `Expires: ${expires}`]);
  expect2xx(a, 'subscribe');
  if (expires === 5) return; // the sweeper ends it with NOTIFY terminated;reason=timeout
  const toTag = /;\s*tag=([^;\s>]+)/.exec(a.headers.get('to') ?? '')?.[1];
  const target = /<([^>]+)>/.exec(a.headers.get('contact') ?? '')?.[1] ?? presentity;
  const b = await p.request('SUBSCRIBE', target, [...h(2, toTag), 'Expires: 0']);
  expect2xx(b, 'unsubscribe');
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
  const db = `herald_soak_${process.pid}`;
  const admin = DB_SERVER.replace(/\/[^/]*$/, '/postgres');
  const made = spawnSync('psql', [admin, '-qc', `CREATE DATABASE ${db}`], { encoding: 'utf8' });
  if (made.status !== 0) throw new Error(`could not create the soak database: ${made.stderr}`);
  const sipPort = 20_000 + (process.pid % 20_000);
  const httpPort = sipPort + 1;
  const child = spawn(process.execPath, ['-r', '@swc-node/register', 'src/main.ts'], {
    cwd: root, stdio: ['ignore', 'ignore', 'inherit'],
    env: { ...process.env, HERALD_DB_URL: DB_SERVER.replace(/\/[^/]*$/, `/${db}`), HERALD_SIP_LISTEN: `udp:127.0.0.1:${sipPort}`, HERALD_HTTP_LISTEN: `127.0.0.1:${httpPort}`,
      HERALD_LOG_LEVEL: 'warn', HERALD_MIN_EXPIRES: '1', HERALD_CLEAN_PERIOD: '2', HERALD_API_TOKENS: JSON.stringify([{ token: TOKEN, scopes: ['presence:read'] }]) },
  });
  const pid = child.pid as number;
  const peer = new Peer(sipPort);
  await peer.open();
  const samples: Array<{ t: number; rssMb: number }> = [];
  const s = { publish: stats(), subscribe: stats(), http: stats() };
  try {
    await waitForOptions(peer);
    console.error(`soak: Herald pid ${pid} on 127.0.0.1:${sipPort}, ${DURATION_S} s at ${JSON.stringify(RATES)}/s`);
    const t0 = Date.now();
    let open = 0;
    let backlog = 0;
    const launched = { publish: 0, subscribe: 0, http: 0 };
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
      const r = await fetch(`http://127.0.0.1:${httpPort}/v1/presence/127.0.0.1/soakp${Math.max(0, launched.publish - 1 - (i % 50))}`, { headers: { authorization: `Bearer ${TOKEN}` }, signal: AbortSignal.timeout(8000) });
      await r.arrayBuffer();
      if (r.status !== 200) throw new Error(`http: ${r.status}`);
    };
    samples.push({ t: 0, rssMb: rssMb(pid) });
    let nextSample = SAMPLE_S * 1000;
    while (Date.now() - t0 < DURATION_S * 1000) {
      const el = (Date.now() - t0) / 1000;
      while (launched.publish < RATES.publish * el) run('publish', (i) => publishCycle(peer, i));
      while (launched.subscribe < RATES.subscribe * el) run('subscribe', (i) => subscribeCycle(peer, i));
      while (launched.http < RATES.http * el) run('http', httpRead);
      if (Date.now() - t0 >= nextSample) {
        samples.push({ t: Math.round((Date.now() - t0) / 1000), rssMb: rssMb(pid) });
        nextSample += SAMPLE_S * 1000;
        if (samples.length % 12 === 0) console.error(`soak: t=${samples.at(-1)?.t}s rss=${samples.at(-1)?.rssMb} MB open=${open} ok=${s.publish.ok}/${s.subscribe.ok}/${s.http.ok} failed=${s.publish.failed}/${s.subscribe.failed}/${s.http.failed}`);
      }
      await new Promise((r) => setTimeout(r, 10));
    }
    const drainEnd = Date.now() + 20_000;
    while (open > 0 && Date.now() < drainEnd) await new Promise((r) => setTimeout(r, 50));
    samples.push({ t: Math.round((Date.now() - t0) / 1000), rssMb: rssMb(pid) });
    const summary = Object.fromEntries(Object.entries(s).map(([k, v]) => [k, {
      started: v.started, ok: v.ok, failed: v.failed, reasons: v.reasons, p50Ms: pct(v.latencies, 0.5), p99Ms: pct(v.latencies, 0.99),
      achievedPerSec: Math.round((v.ok / DURATION_S) * 10) / 10,
    }]));
    const rss = samples.map((x) => x.rssMb);
    const firstMinute = samples.filter((x) => x.t <= 60).map((x) => x.rssMb);
    const lastMinute = samples.filter((x) => x.t >= samples[samples.length - 1]!.t - 60).map((x) => x.rssMb);
    console.log(JSON.stringify({
      durationSec: DURATION_S, rates: RATES, unfinishedAfterDrain: open, notLaunchedBacklog: backlog, notifiesReceived: peer.notifies, calls: summary,
      rss: { minMb: Math.min(...rss), maxMb: Math.max(...rss), firstMinuteMaxMb: Math.max(...firstMinute), lastMinuteMaxMb: Math.max(...lastMinute) },
      samples,
    }, null, 2));
  } finally {
    peer.close();
    child.kill('SIGTERM');
    await new Promise((r) => child.once('exit', r));
    spawnSync('psql', [admin, '-qc', `DROP DATABASE IF EXISTS ${db}`]);
  }
}

main().catch((err: unknown) => {
  console.error(err);
  process.exit(1);
});
