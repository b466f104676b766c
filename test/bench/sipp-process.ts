/**
 * One bounded sipp process for the load scripts (soak): started with a scenario of the shared
 * anchors, a rate, a call count and a wall-clock bound; its statistics file (one row per second,
 * `-trace_stat -fd 1`) is read back for the successful and failed calls. Only 127.0.0.1.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { existsSync, readFileSync } from 'node:fs';
import { join, resolve } from 'node:path';

export const ANCHOR_SIPP = resolve(__dirname, '..', '..', '..', 'shared', 'anchors', 'sipp');

export interface SippRun {
  readonly child: ChildProcess;
  readonly statFile: string;
  readonly done: Promise<number>;
}

export interface SippCounts { created: number; successful: number; failed: number; retransmissions: number; failedReasons: Record<string, number> }

/** Starts sipp; `extra` is passed last (e.g. `-inf pool.csv`). */
export function startSipp(o: { target: string; scenario: string; rate: number; calls: number; boundS: number; dir: string; tag: string; localPort: number /* and the next two: control and media */; extra?: string[] }): SippRun {
  const statFile = join(o.dir, `${o.tag}_stat.csv`);
  const args = [o.target, '-sf', join(ANCHOR_SIPP, o.scenario), '-i', '127.0.0.1', '-p', String(o.localPort), '-cp', String(o.localPort + 1), '-mp', String(o.localPort + 2), '-t', 'u1',
    '-m', String(o.calls), '-r', String(o.rate), '-rp', '1000', '-nostdin', '-buff_size', String(4 * 1024 * 1024),
    '-trace_stat', '-stf', statFile, '-fd', '1', '-trace_err', '-error_file', join(o.dir, `${o.tag}_errors.log`),
    '-recv_timeout', '8000', '-max_non_invite_retrans', '5', '-default_behaviors', 'all,-bye', '-timeout', `${Math.ceil(o.boundS)}s`, ...(o.extra ?? [])];
  const child = spawn('sipp', args, { cwd: o.dir, stdio: ['ignore', 'ignore', 'ignore'] });
  const done = new Promise<number>((r) => child.once('exit', (code) => r(code ?? -1)));
  return { child, statFile, done };
}

/** The last row of a sipp statistics file (cumulative counters). */
export function sippCounts(statFile: string): SippCounts {
  const none = { created: 0, successful: 0, failed: 0, retransmissions: 0, failedReasons: {} };
  if (!existsSync(statFile)) return none;
  const rows = readFileSync(statFile, 'latin1').split(/\r?\n/).filter((l) => l.trim() !== '').map((l) => l.split(';').map((x) => x.trim()));
  if (rows.length < 2) return none;
  const head = rows[0] as string[];
  const last = rows[rows.length - 1] as string[];
  const get = (k: string): number => Number(last[head.indexOf(k)] ?? 0) || 0;
  const failedReasons: Record<string, number> = {};
  for (const k of head) if (k.startsWith('Failed') && k.endsWith('(C)') && k !== 'FailedCall(C)' && get(k) > 0) failedReasons[k] = get(k);
  return { created: get('TotalCallCreated'), successful: get('SuccessfulCall(C)'), failed: get('FailedCall(C)'), retransmissions: get('Retransmissions(C)'), failedReasons };
}
