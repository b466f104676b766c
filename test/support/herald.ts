/**
 * Starts a real Herald in the test process: real sockets on 127.0.0.1 ephemeral ports, a real
 * database (PostgreSQL when HERALD_TEST_DB_URL is set, else in-memory PGlite), configured the way an
 * operator configures it (parameter names of config/README.md).
 */
import { createApp, type App } from '../../src/app';
import { loadConfig } from '../../src/config';
import { silentLogger } from '../../src/log';
import type { Clock } from '../../src/clock';
import { dropTestDb, testDbUrl } from './db';
import { SipTestClient } from './sip-client';

export interface RunningHerald {
  app: App;
  udp: { host: string; port: number };
  tcp: { host: string; port: number };
  http: { host: string; port: number } | null;
  dbUrl: string;
  stop(): Promise<void>;
}

/**
 * `params` are operator parameters by their config name (e.g. { min_expires: 1, force_active: 0 }).
 * Pass `db_url` to share a database between two Heralds; otherwise a fresh one is made and dropped.
 */
export async function startHerald(params: Record<string, unknown> = {}, opts: { clock?: Clock } = {}): Promise<RunningHerald> {
  const own = params.db_url === undefined;
  const dbUrl = own ? await testDbUrl() : String(params.db_url);
  const { config } = loadConfig({
    env: {},
    overrides: {
      sip_listen: 'udp:127.0.0.1:0,tcp:127.0.0.1:0',
      http_listen: '127.0.0.1:0',
      log_level: 'silent',
      clean_period: 3600,
      ...params,
      db_url: dbUrl,
    },
  });
  const app = await createApp(config, { log: silentLogger, ...(opts.clock ? { clock: opts.clock } : {}) });
  await app.start();
  const a = app.addresses();
  const find = (t: string): { host: string; port: number } => {
    const x = a.sip.find((s) => s.transport === t);
    return x ? { host: x.host, port: x.port } : { host: '127.0.0.1', port: 0 };
  };
  return {
    app, udp: find('udp'), tcp: find('tcp'), http: a.http, dbUrl,
    async stop() {
      await app.stop();
      if (own) await dropTestDb(dbUrl);
    },
  };
}

/**
 * For a describe block: a Herald started with `params` before its tests and a UDP test client for it,
 * both stopped after them. Read `h` and `c` inside the tests (they are set by beforeAll).
 */
export function heraldWithClient(params: Record<string, unknown> = {}, opts: { clock?: Clock } = {}): { readonly h: RunningHerald; readonly c: SipTestClient } {
  const ctx = {} as { h: RunningHerald; c: SipTestClient };
  beforeAll(async () => {
    ctx.h = await startHerald(params, opts);
    ctx.c = await SipTestClient.open('udp', ctx.h.udp);
  }, 60_000);
  afterAll(async () => {
    await ctx.c?.close();
    await ctx.h?.stop();
  }, 60_000);
  return ctx;
}
