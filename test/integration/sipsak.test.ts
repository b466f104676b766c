/**
 * The real `sipsak` (Debian package sipsak) pings a running Herald: `sipsak -s sip:ping@127.0.0.1:PORT`
 * exits 0 when it gets a 2xx to its OPTIONS. Skipped with a message only when sipsak is missing
 * outside CI; in CI (env CI set) a missing sipsak fails the suite.
 */
import { execFile } from 'node:child_process';
import { existsSync } from 'node:fs';
import { startHerald, type RunningHerald } from '../support/herald';

const SIPSAK = process.env.SIPSAK ?? '/usr/bin/sipsak';
const present = existsSync(SIPSAK);

if (!present && process.env.CI) {
  throw new Error(`sipsak is required in CI but ${SIPSAK} is missing (apt-get install sipsak)`);
}
if (!present) {
  console.warn(`sipsak not found at ${SIPSAK}: skipping the sipsak interop test (apt-get install sipsak; set SIPSAK=path to override)`);
}

interface Run {
  code: number;
  stdout: string;
  stderr: string;
}

function sipsak(args: string[]): Promise<Run> {
  return new Promise((resolve) => {
    // Async on purpose: Herald runs in this process and must keep its event loop turning.
    execFile(SIPSAK, args, { timeout: 30_000 }, (err, stdout, stderr) => {
      const code = err ? (typeof err.code === 'number' ? err.code : -1) : 0;
      resolve({ code, stdout, stderr });
    });
  });
}

(present ? describe : describe.skip)('sipsak against a running Herald', () => {
  let h: RunningHerald;
  beforeAll(async () => {
    h = await startHerald();
  });
  afterAll(async () => {
    await h.stop();
  });

  it('`sipsak -s sip:ping@127.0.0.1:PORT` (UDP OPTIONS) exits 0: Herald answered 200', async () => {
    const r = await sipsak(['-s', `sip:ping@127.0.0.1:${h.udp.port}`]);
    expect({ code: r.code, stderr: r.stderr }).toEqual({ code: 0, stderr: '' });
  });

  it('sipsak -vv over UDP shows the 200 OK with Allow and Server: Herald', async () => {
    const r = await sipsak(['-vv', '-s', `sip:ping@127.0.0.1:${h.udp.port}`]);
    expect(r.code).toBe(0);
    expect(r.stdout).toMatch(/SIP\/2\.0 200 OK/);
    expect(r.stdout).toMatch(/Allow: .*OPTIONS/);
    expect(r.stdout).toMatch(/Server: Herald/);
  });

  it('sipsak -E tcp (OPTIONS over TCP) exits 0 with a 200 OK', async () => {
    const r = await sipsak(['-vv', '-E', 'tcp', '-s', `sip:ping@127.0.0.1:${h.tcp.port}`]);
    expect(r.code).toBe(0);
    expect(r.stdout).toMatch(/SIP\/2\.0 200 OK/);
  });
});
