/**
 * `npm run bench`: the micro-benchmarks of the hot functions, then the sipp suite against a Herald
 * this script starts on PostgreSQL (or an existing one with --target), printed as one table.
 *
 *   npm run bench                              micro + sipp at a fixed 300 calls/s for 30 s + fan-out 1000
 *   npm run bench -- --micro                   micro-benchmarks only
 *   npm run bench -- --search                  sipp: search the highest rate with < 0.1% failed calls
 *   npm run bench -- --target 127.0.0.1:5060   sipp against a running server (no Herald started)
 *   npm run bench -- --compare                 also ../shared/anchors/compare.sh: Herald and Kamailio side by side
 *   npm run bench -- --fuzz [--n 1000000]      only the hostile SIP fuzz (issue 10): a million inputs, zero failures
 * Options: --rate N --duration S --reps N --scenarios publish,subscribe,fanout --fanout 1000 --db-url postgres://…
 * Only 127.0.0.1 is ever contacted; every sipp run is bounded in calls and time.
 */
import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { existsSync, mkdirSync, readFileSync } from 'node:fs';
import { createSocket } from 'node:dgram';
import { join, resolve } from 'node:path';
import { runParseBench } from './parse.bench';
import { runBodiesBench } from './bodies.bench';
import { runFanoutBench } from './fanout.bench';
import { runFuzzMillion } from './fuzz-million';

interface Row { benchmark: string; value: string; unit: string; note?: string }

const root = resolve(__dirname, '..', '..');
const kit = resolve(root, '..', 'shared', 'anchors');

function arg(name: string, fallback?: string): string | undefined {
  const i = process.argv.indexOf(`--${name}`);
  return i >= 0 ? process.argv[i + 1] : fallback;
}
const flag = (name: string): boolean => process.argv.includes(`--${name}`);

function printTable(rows: Row[]): void {
  const w = [Math.max(9, ...rows.map((r) => r.benchmark.length)), Math.max(5, ...rows.map((r) => r.value.length)), Math.max(4, ...rows.map((r) => r.unit.length))];
  const line = (c: string[]): string => `| ${c.map((x, i) => x.padEnd(w[i] ?? 0)).join(' | ')} |`;
  console.log(line(['benchmark', 'value', 'unit']));
  console.log(`|${w.map((n) => '-'.repeat(n + 2)).join('|')}|`);
  for (const r of rows) console.log(line([r.benchmark, r.value, r.unit]) + (r.note ? ` ${r.note}` : ''));
}

async function micro(): Promise<Row[]> {
  const rows: Row[] = [];
  for (const run of [runParseBench, runBodiesBench, runFanoutBench]) {
    for (const r of await run()) rows.push({ benchmark: r.name, value: r.opsPerSec.toLocaleString('en-US'), unit: 'ops/s' });
  }
  return rows;
}

function freePort(): Promise<number> {
  return new Promise((res) => {
    const s = createSocket('udp4');
    s.bind(0, '127.0.0.1', () => {
      const p = s.address().port;
      s.close(() => res(p));
    });
  });
}

async function waitForOptions(port: number, timeoutMs: number): Promise<void> {
  const end = Date.now() + timeoutMs;
  while (Date.now() < end) {
    const ok = await new Promise<boolean>((res) => {
      const s = createSocket('udp4');
      const msg = `OPTIONS sip:ping@127.0.0.1:${port} SIP/2.0\r\nVia: SIP/2.0/UDP 127.0.0.1:1;branch=z9hG4bK${Date.now()};rport\r\nFrom: <sip:bench@127.0.0.1>;tag=1\r\nTo: <sip:ping@127.0.0.1>\r\nCall-ID: ${Date.now()}@bench\r\nCSeq: 1 OPTIONS\r\nMax-Forwards: 70\r\nContent-Length: 0\r\n\r\n`;
      const t = setTimeout(() => { s.close(); res(false); }, 500);
      s.on('message', () => { clearTimeout(t); s.close(); res(true); });
      s.send(msg, port, '127.0.0.1');
    });
    if (ok) return;
    await new Promise((r) => setTimeout(r, 300));
  }
  throw new Error(`Herald did not answer OPTIONS on 127.0.0.1:${port}`);
}

/** Starts Herald on a fresh PostgreSQL database, the way an operator does (HERALD_* environment). */
async function startHerald(dbServer: string): Promise<{ child: ChildProcess; port: number; stop: () => Promise<void> }> {
  const db = `herald_bench_${process.pid}`;
  const admin = dbServer.replace(/\/[^/]*$/, '/postgres');
  spawnSync('psql', [admin, '-qc', `DROP DATABASE IF EXISTS ${db}`]);
  const made = spawnSync('psql', [admin, '-qc', `CREATE DATABASE ${db}`], { encoding: 'utf8' });
  if (made.status !== 0) throw new Error(`could not create the bench database: ${made.stderr}`);
  const port = await freePort();
  const child = spawn(process.execPath, ['-r', '@swc-node/register', 'src/main.ts'], {
    cwd: root,
    stdio: ['ignore', 'ignore', 'inherit'],
    env: { ...process.env, HERALD_DB_URL: dbServer.replace(/\/[^/]*$/, `/${db}`), HERALD_SIP_LISTEN: `udp:127.0.0.1:${port},tcp:127.0.0.1:${port}`, HERALD_HTTP_LISTEN: '', HERALD_LOG_LEVEL: 'warn' },
  });
  await waitForOptions(port, 60_000);
  return {
    child, port,
    stop: async () => {
      child.kill('SIGTERM');
      await new Promise((r) => child.once('exit', r));
      spawnSync('psql', [admin, '-qc', `DROP DATABASE IF EXISTS ${db}`]);
    },
  };
}

/** The postmaster's PID (the oldest `postgres` process), so the CPU of PostgreSQL is counted per call too. */
function postmasterPid(): number {
  const r = spawnSync('pgrep', ['-o', '-x', 'postgres'], { encoding: 'utf8' });
  return Number.parseInt(r.stdout.trim(), 10) || 0;
}

function sipp(target: string, serverPid: number | undefined, out: string): Row[] {
  const mode = flag('search') ? 'search' : 'fixed';
  const args = [join(kit, 'sipp', 'bench.py'), '--target', target, '--mode', mode, '--rate', arg('rate', '300') as string,
    '--duration', arg('duration', '30') as string, '--reps', arg('reps', '1') as string, '--scenarios', arg('scenarios', 'publish,subscribe,fanout') as string,
    '--fanout', arg('fanout', '1000') as string, '--label', 'herald', '--out', out, '--server-pid', String(serverPid ?? 0),
    '--pg-pid', arg('pg-pid', String(postmasterPid())) as string];
  if (mode === 'search') args.push('--start-rate', arg('start-rate', '250') as string, '--bisect-steps', '2', '--confirm-tries', '3', '--other-retries', '0');
  const r = spawnSync('python3', args, { stdio: ['ignore', 'inherit', 'inherit'] });
  if (r.status !== 0) throw new Error('sipp bench failed');
  const summary = JSON.parse(readFileSync(join(out, 'summary.json'), 'utf8')) as { results: Record<string, Record<string, unknown> | null> };
  const rows: Row[] = [];
  for (const [name, s] of Object.entries(summary.results)) {
    if (!s) {
      rows.push({ benchmark: name, value: 'no passing run', unit: '' });
      continue;
    }
    if (name.startsWith('fanout')) {
      rows.push({ benchmark: `${name}: PUBLISH sent -> 200 OK of last NOTIFY`, value: String(s.time_to_all_notify_ms), unit: 'ms', note: `(p50 ${String(s.time_to_p50_notify_ms)} ms)` });
      continue;
    }
    const rtts = Object.entries(s).filter(([k]) => k.startsWith('rtd')).map(([, v]) => (v as { p99_ms: number }).p99_ms);
    rows.push({ benchmark: `${name}: calls/s (${mode === 'search' ? 'max with < 0.1% failed' : 'target'})`, value: String(s.rate_cps), unit: 'calls/s', note: `achieved ${String(s.achieved_cps)}, failed ${JSON.stringify(s.failed)}, retrans ${JSON.stringify(s.retransmissions)}, worst p99 ${Math.max(...rtts)} ms` });
    const pgMs = typeof s.pg_cores === 'number' && typeof s.achieved_cps === 'number' && s.achieved_cps > 0 ? (1000 * s.pg_cores / s.achieved_cps).toFixed(3) : '?';
    rows.push({ benchmark: `${name}: Herald CPU per call`, value: String(s.server_cpu_ms_per_call), unit: 'ms', note: `(+ PostgreSQL ${pgMs} ms per call, ${String(s.pg_cores)} cores; other load ${String(s.other_cores)} cores)` });
  }
  return rows;
}

async function main(): Promise<void> {
  const rows: Row[] = [];
  if (flag('fuzz')) {
    const r = runFuzzMillion(Number(arg('n', '1000000')));
    printTable([
      { benchmark: `hostile SIP fuzz (seed ${r.seed}): inputs`, value: String(r.inputs), unit: 'inputs', note: JSON.stringify(r.counts) },
      { benchmark: 'hostile SIP fuzz: failures (untyped throws)', value: String(r.failures.length), unit: 'inputs', note: r.failures.slice(0, 3).join(' | ') },
      { benchmark: 'hostile SIP fuzz: rate', value: String(Math.round(r.inputs / r.seconds)), unit: 'inputs/s', note: `peak RSS ${r.peakRssMb} MB` },
    ]);
    if (r.failures.length > 0) process.exitCode = 1;
    return;
  }
  if (!flag('no-micro')) rows.push(...(await micro()));
  if (!flag('micro')) {
    const out = join(root, 'bench-results', new Date().toISOString().replace(/[:.]/g, '-'));
    mkdirSync(out, { recursive: true });
    let target = arg('target');
    let herald: Awaited<ReturnType<typeof startHerald>> | undefined;
    if (target && !/^127\.0\.0\.1:\d+$/.test(target)) throw new Error('--target must be 127.0.0.1:PORT');
    if (!target) {
      herald = await startHerald(arg('db-url', 'postgres://postgres@127.0.0.1:5432/postgres') as string);
      target = `127.0.0.1:${herald.port}`;
    }
    try {
      rows.push(...sipp(target, herald?.child.pid, out));
      if (flag('compare')) {
        if (!existsSync(join(kit, 'compare.sh'))) throw new Error(`${kit}/compare.sh not found`);
        const [host, port] = target.split(':') as [string, string];
        spawnSync('bash', [join(kit, 'compare.sh'), host, port], { stdio: 'inherit', env: { ...process.env, OUT: join(out, 'compare'), TARGET_LABEL: 'herald' } });
        const md = join(out, 'compare', 'compare.md');
        if (existsSync(md)) console.log(readFileSync(md, 'utf8'));
      }
    } finally {
      await herald?.stop();
    }
  }
  printTable(rows);
}

main().catch((err: unknown) => {
  console.error(err);
  process.exit(1);
});
