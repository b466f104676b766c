/**
 * Herald as an operator runs it: `src/main.ts` with HERALD_* environment. A bad parameter stops
 * start-up with exit code 2 naming it; a good start logs where it listens and which database it uses;
 * SIGTERM stops it cleanly with exit code 0.
 */
import { spawn } from 'node:child_process';
import { join } from 'node:path';

const root = join(__dirname, '..', '..');

function run(env: Record<string, string>): { child: ReturnType<typeof spawn>; out: () => string; exited: Promise<number | null> } {
  const child = spawn(process.execPath, ['-r', '@swc-node/register', 'src/main.ts'], {
    cwd: root,
    env: { PATH: process.env.PATH ?? '', HOME: process.env.HOME ?? '/tmp', ...env },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let out = '';
  child.stdout?.on('data', (d: Buffer) => (out += d.toString()));
  child.stderr?.on('data', (d: Buffer) => (out += d.toString()));
  const exited = new Promise<number | null>((r) => child.once('exit', (code) => r(code)));
  return { child, out: () => out, exited };
}

describe('the herald process', () => {
  it('exits 2 naming every bad parameter (HERALD_MAX_EXPIRES=-5)', async () => {
    const p = run({ HERALD_MAX_EXPIRES: '-5', HERALD_FORCE_ACTIVE: 'perhaps' });
    expect(await p.exited).toBe(2);
    expect(p.out()).toMatch(/max_expires/);
    expect(p.out()).toMatch(/force_active/);
  }, 60_000);

  it('starts on the embedded PGlite, says where it listens, and stops on SIGTERM with exit 0', async () => {
    const p = run({ HERALD_DB_URL: 'memory://', HERALD_SIP_LISTEN: 'udp:127.0.0.1:0,tcp:127.0.0.1:0', HERALD_HTTP_LISTEN: '127.0.0.1:0', HERALD_LOG_LEVEL: 'info' });
    const end = Date.now() + 50_000;
    while (!p.out().includes('herald ready') && Date.now() < end) await new Promise((r) => setTimeout(r, 100));
    const ready = p.out().split('\n').find((l) => l.includes('herald ready')) ?? '';
    expect(JSON.parse(ready)).toEqual(expect.objectContaining({ database: 'PGlite in memory', sip: expect.any(Array), http: expect.objectContaining({ port: expect.any(Number) }) }));
    p.child.kill('SIGTERM');
    // main.ts exits 1 when stopping takes longer than 5 s, so exit code 0 also says "within 5 s".
    expect(await p.exited).toBe(0);
    expect(p.out()).toMatch(/"msg":"stopped"/);
  }, 60_000);
});
