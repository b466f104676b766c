/**
 * Database outage under load (issue 10): Herald (a child process) on PostgreSQL behind a TCP proxy
 * this script cuts. PUBLISH cycles (initial + remove) run at --rate through three phases: before,
 * during the outage (--outage seconds), after the restore. Reported per phase: answers by status,
 * unanswered requests (lost = no answer within 20 s), the 503s' Retry-After, Herald's RSS curve, and
 * how long after the restore the first 200 came.
 *
 *   node -r @swc-node/register test/bench/outage.ts [--rate 100] [--before 20] [--outage 60] [--after 30]
 *        [--db-url postgres://postgres@127.0.0.1:5432/postgres]
 * Only 127.0.0.1 is contacted; bounded by the phases plus a 25 s drain.
 */
import { spawn, spawnSync } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { resolve } from 'node:path';
import { TcpProxy } from '../support/tcp-proxy';
import { Peer, pidf } from './sip-peer';

const root = resolve(__dirname, '..', '..');
const arg = (name: string, fallback: string): string => {
  const i = process.argv.indexOf(`--${name}`);
  return i >= 0 ? (process.argv[i + 1] as string) : fallback;
};
const RATE = Number(arg('rate', '100'));
const PHASES = { before: Number(arg('before', '20')), outage: Number(arg('outage', '60')), after: Number(arg('after', '30')) };
const DB_SERVER = arg('db-url', 'postgres://postgres@127.0.0.1:5432/postgres');

type Phase = keyof typeof PHASES;
const rssMb = (pid: number): number => Math.round(Number(/VmRSS:\s+(\d+)/.exec(readFileSync(`/proc/${pid}/status`, 'utf8'))?.[1] ?? NaN) / 1024);

async function main(): Promise<void> {
  const db = `herald_outage_${process.pid}`;
  const admin = DB_SERVER.replace(/\/[^/]*$/, '/postgres');
  if (spawnSync('psql', [admin, '-qc', `CREATE DATABASE ${db}`]).status !== 0) throw new Error('could not create the database');
  const u = new URL(DB_SERVER);
  const proxy = new TcpProxy(u.hostname, Number(u.port || 5432));
  await proxy.start();
  u.port = String(proxy.port);
  u.pathname = `/${db}`;
  const sipPort = 20_000 + ((process.pid + 7) % 20_000);
  const child = spawn(process.execPath, ['-r', '@swc-node/register', 'src/main.ts'], {
    cwd: root, stdio: ['ignore', 'ignore', 'inherit'],
    env: { ...process.env, HERALD_DB_URL: u.toString(), HERALD_SIP_LISTEN: `udp:127.0.0.1:${sipPort}`, HERALD_HTTP_LISTEN: '', HERALD_LOG_LEVEL: 'fatal', HERALD_CLEAN_PERIOD: '3600' },
  });
  const pid = child.pid as number;
  const peer = new Peer(sipPort, 20_000);
  await peer.open();
  const answers: Record<Phase, Record<string, number>> = { before: {}, outage: {}, after: {} };
  const retryAfter = new Set<string>();
  const samples: Array<{ t: number; phase: Phase; rssMb: number; open: number }> = [];
  let firstOkAfterRestoreMs = -1;
  try {
    for (let i = 0; i < 60; i++) {
      const a = await peer.request('OPTIONS', 'sip:herald@127.0.0.1', ['From: <sip:o@127.0.0.1>;tag=o', 'To: <sip:herald@127.0.0.1>', `Call-ID: outage-options-${i}`, 'CSeq: 1 OPTIONS']);
      if (a.status === 200) break;
    }
    let open = 0;
    let n = 0;
    let restoredAt = 0;
    const cycle = async (phase: Phase, i: number): Promise<void> => {
      const aor = `sip:outage${i}@127.0.0.1`;
      const h = (cseq: number): string[] => [`From: <${aor}>;tag=t${i}`, `To: <${aor}>`, `Call-ID: outage-${process.pid}-${i}`, `CSeq: ${cseq} PUBLISH`, 'Event: presence'];
      const a = await peer.request('PUBLISH', aor, [...h(1), 'Expires: 600', 'Content-Type: application/pidf+xml'], pidf(aor, 'open'));
      const k = a.status === 0 ? 'unanswered' : String(a.status);
      answers[phase][k] = (answers[phase][k] ?? 0) + 1;
      if (a.status === 503) retryAfter.add(a.headers.get('retry-after') ?? '(none)');
      if (a.status === 200 && phase === 'after' && firstOkAfterRestoreMs < 0) firstOkAfterRestoreMs = Date.now() - restoredAt;
    };
    const t0 = Date.now();
    for (const phase of ['before', 'outage', 'after'] as const) {
      if (phase === 'outage') await proxy.cut();
      if (phase === 'after') {
        await proxy.restore();
        restoredAt = Date.now();
      }
      const start = Date.now();
      let launched = 0;
      let nextSample = 0;
      while (Date.now() - start < PHASES[phase] * 1000) {
        while (launched < RATE * ((Date.now() - start) / 1000)) {
          launched++;
          open++;
          void cycle(phase, n++).finally(() => open--);
        }
        if (Date.now() - start >= nextSample) {
          samples.push({ t: Math.round((Date.now() - t0) / 1000), phase, rssMb: rssMb(pid), open });
          nextSample += 5000;
        }
        await new Promise((r) => setTimeout(r, 10));
      }
    }
    const end = Date.now() + 25_000;
    while (open > 0 && Date.now() < end) await new Promise((r) => setTimeout(r, 50));
    samples.push({ t: Math.round((Date.now() - t0) / 1000), phase: 'after', rssMb: rssMb(pid), open });
    const during = samples.filter((s) => s.phase === 'outage').map((s) => s.rssMb);
    console.log(JSON.stringify({
      rate: RATE, phases: PHASES, answers, retryAfter: [...retryAfter], unfinished: open, firstOkAfterRestoreMs,
      rss: { beforeMaxMb: Math.max(...samples.filter((s) => s.phase === 'before').map((s) => s.rssMb)), outageMaxMb: Math.max(...during), afterMaxMb: Math.max(...samples.filter((s) => s.phase === 'after').map((s) => s.rssMb)) },
      samples,
    }, null, 2));
  } finally {
    peer.close();
    await proxy.restore().catch(() => undefined);
    child.kill('SIGTERM');
    await new Promise((r) => child.once('exit', r));
    await proxy.cut();
    spawnSync('psql', [admin, '-qc', `DROP DATABASE IF EXISTS ${db} WITH (FORCE)`]);
  }
}

main().catch((err: unknown) => {
  console.error(err);
  process.exit(1);
});
