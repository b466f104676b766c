/**
 * Issue 10, crash: Herald on PostgreSQL is killed with SIGKILL in the middle of PUBLISH and SUBSCRIBE
 * load. After a restart on the same database, every publication and subscription whose 200 was
 * received is there, and a watcher's dialog goes on (the next change reaches it with a higher CSeq).
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { join } from 'node:path';
import { createKnex } from '../../src/store/db';
import { createPostgresTestDb, dropTestDb } from '../support/db';
import { SipTestClient, pidf } from '../support/sip-client';

const root = join(__dirname, '..', '..');
const pgServer = process.env.HERALD_TEST_DB_URL;

async function startProcess(dbUrl: string, port: number): Promise<ChildProcess> {
  const child = spawn(process.execPath, ['-r', '@swc-node/register', 'src/main.ts'], {
    cwd: root,
    env: { PATH: process.env.PATH ?? '', HOME: process.env.HOME ?? '/tmp', HERALD_DB_URL: dbUrl, HERALD_SIP_LISTEN: `udp:127.0.0.1:${port}`, HERALD_HTTP_LISTEN: '', HERALD_LOG_LEVEL: 'info' },
    stdio: ['ignore', 'pipe', 'inherit'],
  });
  let out = '';
  child.stdout?.on('data', (d: Buffer) => (out += d.toString()));
  const end = Date.now() + 50_000;
  while (!out.includes('herald ready') && Date.now() < end && child.exitCode === null) await new Promise((r) => setTimeout(r, 100));
  if (!out.includes('herald ready')) throw new Error(`herald did not start: ${out}`);
  return child;
}

function cseqOf(v: string | undefined): number {
  return Number(/^\s*(\d+)/.exec(v ?? '')?.[1]);
}

(pgServer ? describe : describe.skip)('SIGKILL mid-load on PostgreSQL', () => {
  let dbUrl: string;
  let child: ChildProcess | undefined;
  afterAll(async () => {
    child?.kill('SIGKILL');
    if (dbUrl) await dropTestDb(dbUrl);
  });

  it('keeps every acknowledged publication and subscription, and the dialogs go on after a restart', async () => {
    dbUrl = await createPostgresTestDb(pgServer as string);
    const probe = await SipTestClient.open('udp', { host: '127.0.0.1', port: 1 });
    const port = probe.local.port; // a free UDP port for Herald (probe released below)
    await probe.close();
    child = await startProcess(dbUrl, port);
    const target = { host: '127.0.0.1', port };
    const watcher = await SipTestClient.open('udp', target);
    const load = await SipTestClient.open('udp', target);
    try {
      // A watcher with an established dialog before the crash.
      const watched = 'sip:crash-watched@127.0.0.1';
      const sub = await watcher.request('SUBSCRIBE', watched, [['From', '<sip:w@127.0.0.1>;tag=wt'], ['Event', 'presence'], ['Expires', '600'], ['Contact', `<${watcher.contact('w')}>`]]);
      expect(sub.status).toBe(200);
      const first = await watcher.waitForRequest('NOTIFY', () => true, 5000, true);

      // Load: PUBLISHes and SUBSCRIBEs in flight when the process is killed.
      const acked = { pubs: [] as string[], subs: [] as string[] };
      const inFlight: Array<Promise<unknown>> = [];
      for (let i = 0; i < 300; i++) {
        const aor = `sip:crash${i}@127.0.0.1`;
        inFlight.push(load.request('PUBLISH', aor, [['From', `<${aor}>;tag=p${i}`], ['Event', 'presence'], ['Expires', '600'], ['Content-Type', 'application/pidf+xml']], pidf(aor, 'open'), 15_000)
          .then((r) => { if (r.status === 200) acked.pubs.push(r.headers.get('sip-etag') ?? ''); }, () => undefined));
        const callId = `crash-sub-${i}@test`;
        inFlight.push(load.request('SUBSCRIBE', aor, [['Call-ID', callId], ['From', `<sip:s${i}@127.0.0.1>;tag=s${i}`], ['Event', 'presence'], ['Expires', '600'], ['Contact', `<${load.contact(`s${i}`)}>`]], '', 15_000)
          .then((r) => { if (r.status === 200) acked.subs.push(callId); }, () => undefined));
        // Killed once a fair number are acknowledged, not at a fixed index: on a busy machine Herald
        // may have answered only a handful by then (the load goes on, unanswered, after the kill).
        const enough = (): boolean => acked.pubs.length >= 25 && acked.subs.length >= 25;
        if (!child.killed && enough()) child.kill('SIGKILL');
        await new Promise((r) => setTimeout(r, 4));
        // All sent and not yet enough answered (a very busy machine): wait for them (bounded), then kill.
        for (const until = Date.now() + 30_000; i === 299 && !child.killed && !enough() && Date.now() < until;) await new Promise((r) => setTimeout(r, 20));
        if (i === 299 && !child.killed) child.kill('SIGKILL');
      }
      await Promise.all(inFlight);
      const killed = child;
      if (killed.exitCode === null && killed.signalCode === null) await new Promise((r) => killed.once('exit', r));
      expect(killed.signalCode).toBe('SIGKILL');
      // Killed mid-load: many requests were acknowledged and the later ones were not.
      expect(acked.pubs.length).toBeGreaterThan(20);
      expect(acked.subs.length).toBeGreaterThan(20);
      expect(acked.pubs.length + acked.subs.length).toBeLessThan(600);

      // Everything acknowledged is committed: read the database directly.
      const knex = createKnex(dbUrl);
      try {
        const etags = new Set((await knex('presentity').select('etag')).map((r: { etag: string }) => r.etag));
        for (const e of acked.pubs) expect(etags.has(e)).toBe(true);
        const calls = new Set((await knex('active_watchers').select('call_id')).map((r: { call_id: string }) => r.call_id));
        for (const c of acked.subs) expect(calls.has(c)).toBe(true);
      } finally {
        await knex.destroy();
      }

      // Restart on the same database: the watcher's dialog goes on with a higher CSeq.
      child = await startProcess(dbUrl, port);
      const pub = await load.request('PUBLISH', watched, [['From', `<${watched}>;tag=after`], ['Event', 'presence'], ['Expires', '600'], ['Content-Type', 'application/pidf+xml']], pidf(watched, 'open', 'after the crash'));
      expect(pub.status).toBe(200);
      const next = await watcher.waitForRequest('NOTIFY', (n) => n.body.toString().includes('after the crash'), 10_000);
      expect(next.headers.get('call-id')).toBe(first.headers.get('call-id'));
      expect(cseqOf(next.headers.get('cseq'))).toBeGreaterThan(cseqOf(first.headers.get('cseq')));
    } finally {
      await watcher.close();
      await load.close();
    }
  }, 120_000);
});
