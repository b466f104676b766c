/**
 * sipp OPTIONS load against a real Herald process (SIP core issue: 15k req/s for 30 s over UDP with
 * < 0.1% failures). A benchmark, not a timed test:
 *
 *   node -r @swc-node/register test/bench/sipp-options.ts [--rate 15000 --seconds 30]
 *
 * Starts `node -r @swc-node/register src/main.ts` with an in-memory database on a free UDP port of
 * 127.0.0.1 (no HTTP), waits until it answers OPTIONS, runs /usr/bin/sipp with test/bench/sipp/options.xml
 * at the rate for the duration (bounded by -m rate*seconds and -timeout), stops Herald and prints one
 * row: rate, calls, failed, failure %, retransmissions. Only ever targets 127.0.0.1.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { createSocket } from 'node:dgram';
import { existsSync, mkdtempSync, readFileSync, readdirSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';

export interface SippOptionsParams {
  /** OPTIONS per second. */
  rate: number;
  /** How long to send. */
  seconds: number;
  sipp?: string;
  /** Extra environment for Herald (HERALD_* parameters). */
  heraldEnv?: Record<string, string>;
  /** Print Herald's and sipp's stderr. */
  verbose?: boolean;
}

export interface SippOptionsResult {
  rate: number;
  seconds: number;
  /** Calls (OPTIONS transactions) sipp created. */
  calls: number;
  successful: number;
  failed: number;
  failurePct: number;
  retransmissions: number;
  /** Wall time sipp ran, and the rate it achieved over it. */
  elapsedSec: number;
  achievedRate: number;
  sippExitCode: number | null;
}

const ROOT = resolve(__dirname, '..', '..');
const SCENARIO = join(__dirname, 'sipp', 'options.xml');
const HOST = '127.0.0.1';

function freeUdpPort(): Promise<number> {
  return new Promise((ok, fail) => {
    const s = createSocket('udp4');
    s.once('error', fail);
    s.bind(0, HOST, () => {
      const { port } = s.address();
      s.close(() => ok(port));
    });
  });
}

/** One OPTIONS over UDP; true if a 200 came back within `ms`. */
function ping(port: number, ms: number): Promise<boolean> {
  return new Promise((ok) => {
    const s = createSocket('udp4');
    const timer = setTimeout(() => { s.close(); ok(false); }, ms);
    s.on('message', (m) => {
      if (/^SIP\/2\.0 200 /.test(m.toString('latin1'))) {
        clearTimeout(timer);
        s.close();
        ok(true);
      }
    });
    s.bind(0, HOST, () => {
      const lp = s.address().port;
      const branch = `z9hG4bKbench${Date.now().toString(36)}`;
      const msg = [
        `OPTIONS sip:ping@${HOST}:${port} SIP/2.0`, `Via: SIP/2.0/UDP ${HOST}:${lp};branch=${branch};rport`, 'Max-Forwards: 70',
        `From: <sip:bench@${HOST}>;tag=b1`, `To: <sip:ping@${HOST}>`, `Call-ID: ${branch}@bench`, 'CSeq: 1 OPTIONS', 'Content-Length: 0', '', '',
      ].join('\r\n');
      s.send(msg, port, HOST);
    });
  });
}

async function startHerald(port: number, extraEnv: Record<string, string>, verbose: boolean): Promise<ChildProcess> {
  const child = spawn(process.execPath, ['-r', '@swc-node/register', 'src/main.ts'], {
    cwd: ROOT,
    env: {
      ...process.env,
      HERALD_DB_URL: 'memory://',
      HERALD_SIP_LISTEN: `udp:${HOST}:${port}`,
      HERALD_HTTP_LISTEN: '',
      HERALD_LOG_LEVEL: 'warn',
      ...extraEnv,
    },
    stdio: ['ignore', verbose ? 'inherit' : 'ignore', verbose ? 'inherit' : 'pipe'],
  });
  let stderr = '';
  child.stderr?.on('data', (d: Buffer) => { stderr += d.toString(); });
  const until = Date.now() + 60_000;
  while (Date.now() < until) {
    if (child.exitCode !== null) throw new Error(`herald exited with ${child.exitCode}: ${stderr}`);
    if (await ping(port, 500)) return child;
  }
  child.kill('SIGKILL');
  throw new Error(`herald did not answer OPTIONS within 60 s: ${stderr}`);
}

function stopHerald(child: ChildProcess): Promise<void> {
  return new Promise((ok) => {
    if (child.exitCode !== null) return ok();
    const force = setTimeout(() => child.kill('SIGKILL'), 10_000);
    child.once('exit', () => { clearTimeout(force); ok(); });
    child.kill('SIGTERM');
  });
}

/** The last row of sipp's -trace_stat CSV, by column name. */
function lastStats(file: string): Record<string, string> {
  const lines = readFileSync(file, 'latin1').split(/\r?\n/).filter((l) => l.trim() !== '');
  const head = (lines[0] ?? '').split(';');
  const last = (lines[lines.length - 1] ?? '').split(';');
  return Object.fromEntries(head.map((h, i) => [h.trim(), (last[i] ?? '').trim()]));
}

function runSipp(sipp: string, port: number, rate: number, seconds: number, dir: string, verbose: boolean): Promise<{ code: number | null; stats: Record<string, string>; elapsedSec: number }> {
  const calls = rate * seconds;
  const stf = join(dir, 'stats.csv');
  const args = [
    `${HOST}:${port}`, '-sf', SCENARIO, '-s', 'ping', '-i', HOST, '-t', 'u1',
    '-r', String(rate), '-rp', '1000', '-m', String(calls),
    // The whole run is bounded: the sending time, plus the time for the last retransmissions.
    '-timeout', `${seconds + 40}s`, '-timeout_error',
    '-max_retrans', '5', '-buff_size', String(8 * 1024 * 1024),
    '-max_recv_loops', '10000', '-max_sched_loops', '10000',
    '-nostdin', '-trace_stat', '-stf', stf, '-fd', '1', '-trace_err', '-error_file', join(dir, 'errors.log'),
  ];
  return new Promise((ok, fail) => {
    const started = Date.now();
    const child = spawn(sipp, args, { cwd: dir, stdio: ['ignore', 'ignore', verbose ? 'inherit' : 'pipe'] });
    let stderr = '';
    child.stderr?.on('data', (d: Buffer) => { stderr += d.toString(); });
    child.once('error', fail);
    child.once('exit', (code) => {
      if (!existsSync(stf)) return fail(new Error(`sipp wrote no statistics (exit ${code}): ${stderr.slice(0, 2000)}`));
      ok({ code, stats: lastStats(stf), elapsedSec: (Date.now() - started) / 1000 });
    });
  });
}

export async function runSippOptions(opts: SippOptionsParams): Promise<SippOptionsResult> {
  const sipp = opts.sipp ?? '/usr/bin/sipp';
  if (!existsSync(sipp)) throw new Error(`sipp not found at ${sipp} (Debian package sip-tester)`);
  const verbose = opts.verbose ?? false;
  const port = await freeUdpPort();
  const herald = await startHerald(port, opts.heraldEnv ?? {}, verbose);
  const dir = mkdtempSync(join(tmpdir(), 'herald-sipp-'));
  try {
    const { code, stats, elapsedSec } = await runSipp(sipp, port, opts.rate, opts.seconds, dir, verbose);
    const n = (k: string): number => Number(stats[k] ?? 0) || 0;
    const calls = n('TotalCallCreated');
    const successful = n('SuccessfulCall(C)');
    const failed = n('FailedCall(C)');
    if (verbose) {
      for (const f of readdirSync(dir).filter((x) => x.endsWith('.log'))) process.stderr.write(readFileSync(join(dir, f), 'latin1').slice(0, 4000));
    }
    return {
      rate: opts.rate, seconds: opts.seconds, calls, successful, failed,
      failurePct: calls > 0 ? (100 * failed) / calls : 0,
      retransmissions: n('Retransmissions(C)'),
      elapsedSec,
      achievedRate: successful / Math.max(1e-9, Math.min(elapsedSec, opts.seconds + 40)),
      sippExitCode: code,
    };
  } finally {
    await stopHerald(herald);
    rmSync(dir, { recursive: true, force: true });
  }
}

export function formatRow(r: SippOptionsResult): string {
  const cols: Array<[string, string]> = [
    ['rate/s', String(r.rate)], ['seconds', String(r.seconds)], ['calls', String(r.calls)], ['failed', String(r.failed)],
    ['failure %', r.failurePct.toFixed(3)], ['retransmissions', String(r.retransmissions)], ['sipp s', r.elapsedSec.toFixed(1)], ['sipp exit', String(r.sippExitCode)],
  ];
  const w = cols.map(([h, v]) => Math.max(h.length, v.length));
  const line = (xs: string[]): string => `| ${xs.map((x, i) => x.padStart(w[i] as number)).join(' | ')} |`;
  return [line(cols.map(([h]) => h)), `|${w.map((x) => '-'.repeat(x + 2)).join('|')}|`, line(cols.map(([, v]) => v))].join('\n');
}

function arg(name: string, fallback: number): number {
  const i = process.argv.indexOf(`--${name}`);
  const v = i >= 0 ? Number(process.argv[i + 1]) : fallback;
  if (!Number.isFinite(v) || v <= 0) throw new Error(`--${name} must be a positive number`);
  return v;
}

if (require.main === module) {
  const rate = arg('rate', 15000);
  const seconds = arg('seconds', 30);
  runSippOptions({ rate, seconds, verbose: process.argv.includes('--verbose') }).then(
    (r) => {
      process.stdout.write(`${formatRow(r)}\n`);
      process.exitCode = r.failurePct < 0.1 ? 0 : 1;
    },
    (err: unknown) => {
      process.stderr.write(`sipp-options: ${err instanceof Error ? err.message : String(err)}\n`);
      process.exitCode = 2;
    },
  );
}
