/**
 * A Herald on a fresh PostgreSQL database reached through a TcpProxy the test can cut (the outage
 * suites' shared set-up). `stop()` restores the proxy so Herald can close cleanly, stops it, then
 * cuts the proxy and drops the database.
 */
import { startHerald, type RunningHerald } from './herald';
import { createPostgresTestDb, dropTestDb } from './db';
import { TcpProxy } from './tcp-proxy';

export interface HeraldBehindProxy {
  herald: RunningHerald;
  proxy: TcpProxy;
  stop(): Promise<void>;
}

export async function startHeraldBehindProxy(pgServer: string, params: Record<string, unknown> = {}): Promise<HeraldBehindProxy> {
  const dbUrl = await createPostgresTestDb(pgServer);
  const u = new URL(dbUrl);
  const proxy = new TcpProxy(u.hostname, Number(u.port || 5432));
  await proxy.start();
  u.port = String(proxy.port);
  const herald = await startHerald({ ...params, db_url: u.toString() });
  return {
    herald,
    proxy,
    async stop() {
      await proxy.restore().catch(() => undefined);
      await herald.stop();
      await proxy.cut();
      await dropTestDb(dbUrl);
    },
  };
}
