/**
 * self_vacuum (store/vacuum.ts): where the database runs no autovacuum (PGlite always; a PostgreSQL
 * server with autovacuum = off), Herald vacuums its own tables whose dead rows exceed PostgreSQL's
 * own threshold (50 + 20 % of the live rows). The soak found `presentity` at 171k dead rows for
 * 1.7k live ones after three minutes without it. Real Herald, real SIP, PGlite or PostgreSQL.
 */
import { startHerald, type RunningHerald } from '../support/herald';
import { SipTestClient, pidf } from '../support/sip-client';

const CHURN = 120;

async function churn(c: SipTestClient, prefix: string): Promise<void> {
  for (let i = 0; i < CHURN; i++) {
    const aor = `sip:${prefix}${i}@127.0.0.1`;
    const h: Array<[string, string]> = [['From', `<${aor}>;tag=v${i}`], ['Event', 'presence']];
    const made = await c.request('PUBLISH', aor, [...h, ['Expires', '60'], ['Content-Type', 'application/pidf+xml']], pidf(aor, 'open'));
    expect(made.status).toBe(200);
    const gone = await c.request('PUBLISH', aor, [...h, ['Expires', '0'], ['SIP-If-Match', made.headers.get('sip-etag') ?? '']]);
    expect(gone.status).toBe(200);
  }
}

describe('self_vacuum', () => {
  const embedded = !(process.env.HERALD_TEST_DB_URL ?? '').startsWith('postgres');
  let h: RunningHerald;
  let c: SipTestClient;
  afterEach(async () => {
    await c?.close();
    await h?.stop();
  }, 60_000);

  it('vacuums a table whose dead rows exceed 50 + 20 % of its live rows, then leaves it alone until it churns again', async () => {
    h = await startHerald({ self_vacuum: 'on', vacuum_period: 3600 });
    c = await SipTestClient.open('udp', h.udp);
    await churn(c, 'vac');
    // PostgreSQL publishes table statistics within about a second of a transaction's end.
    let found: { table: string; dead: number } | undefined;
    for (let i = 0; i < 100 && !found; i++) {
      found = (await h.app.vacuum.run()).vacuumed.find((v) => v.table === 'presentity');
      if (!found) await new Promise((r) => setTimeout(r, 200));
    }
    // Vacuumed as soon as the counted dead rows pass the threshold (50 + 20 % of ~0 live).
    expect(found?.dead).toBeGreaterThan(50);
    const again = await h.app.vacuum.run();
    expect(again.active).toBe(true);
    expect(again.vacuumed.map((v) => v.table)).not.toContain('presentity');
    expect(h.app.vacuum.stats.deadRows).toBeGreaterThan(50);
  }, 120_000);

  it('never looks at the tables when off', async () => {
    h = await startHerald({ self_vacuum: 'off' });
    c = await SipTestClient.open('udp', h.udp);
    await churn(c, 'novac');
    await new Promise((r) => setTimeout(r, 1500));
    expect(await h.app.vacuum.run()).toEqual({ active: false, vacuumed: [] });
  }, 120_000);

  (embedded ? it : it.skip)('vacuums the embedded PGlite by default: it has no autovacuum although the setting reads on', async () => {
    h = await startHerald({});
    c = await SipTestClient.open('udp', h.udp);
    expect(h.app.config.selfVacuum).toBe('auto');
    expect(await h.app.vacuum.autovacuumRuns()).toBe(false);
    expect((await h.app.vacuum.run()).active).toBe(true);
  }, 120_000);
});
