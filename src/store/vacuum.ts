/**
 * Herald vacuums its own tables when nobody else does (issue 10, found by the soak).
 *
 * Presence is churn: every PUBLISH cycle inserts and deletes a row of `presentity`, every SUBSCRIBE
 * cycle one of `active_watchers`. PostgreSQL reclaims dead rows with VACUUM, normally run by its
 * autovacuum daemon. Two places have none: the embedded PGlite (single-user mode, no background
 * workers, although `autovacuum` reads `on`) and a server configured with `autovacuum = off` (this
 * project's machines are). There, after three minutes at 265 + 265 cycles/s, `presentity` held
 * 171,298 dead rows for 1,719 live ones, every index scan waded through them and answers slowed
 * until clients retransmitted.
 *
 * PostgreSQL 15 §25.1.6: "if the number of tuples obsoleted since the last VACUUM exceeds the
 * 'vacuum threshold', the table is vacuumed. The vacuum threshold is defined as: vacuum threshold =
 * vacuum base threshold + vacuum scale factor * number of tuples" (defaults 50 and 0.2). Herald uses the same rule on its own tables, with SKIP_LOCKED so
 * that several nodes (or a DBA's VACUUM) never queue behind one another, and ANALYZE so the planner
 * keeps seeing the real sizes (autoanalyze is gone with autovacuum).
 */
import type { Knex } from 'knex';

export type SelfVacuum = 'auto' | 'on' | 'off';

export interface VacuumRun {
  /** Whether this run looked at the tables at all (auto: only when autovacuum is not running). */
  active: boolean;
  vacuumed: Array<{ table: string; dead: number; live: number }>;
}

export class TableVacuum {
  /** Totals for metrics. */
  readonly stats = { runs: 0, tables: 0, deadRows: 0 };

  constructor(
    private readonly knex: Knex,
    private readonly o: { mode: SelfVacuum; embedded: boolean; baseThreshold?: number; scaleFactor?: number },
  ) {}

  /** Whether the database has a working autovacuum (PGlite never has one). */
  async autovacuumRuns(): Promise<boolean> {
    if (this.o.embedded) return false;
    const r = await this.knex.raw<{ rows: Array<{ on: string }> }>("SELECT current_setting('autovacuum') AS on");
    return r.rows[0]?.on === 'on';
  }

  async run(): Promise<VacuumRun> {
    if (this.o.mode === 'off' || (this.o.mode === 'auto' && (await this.autovacuumRuns()))) return { active: false, vacuumed: [] };
    this.stats.runs++;
    const base = this.o.baseThreshold ?? 50;
    const scale = this.o.scaleFactor ?? 0.2;
    const r = await this.knex.raw<{ rows: Array<{ relname: string; n_live_tup: string | number; n_dead_tup: string | number }> }>(
      `SELECT relname, n_live_tup, n_dead_tup FROM pg_stat_user_tables
        WHERE schemaname = current_schema() AND n_dead_tup > ?::float8 + ?::float8 * n_live_tup ORDER BY n_dead_tup DESC`, [base, scale]);
    const vacuumed: VacuumRun['vacuumed'] = [];
    for (const row of r.rows) {
      // An identifier from the catalogue, quoted: never text a peer sent.
      await this.knex.raw(`VACUUM (SKIP_LOCKED, ANALYZE) "${row.relname.replace(/"/g, '""')}"`);
      const dead = Number(row.n_dead_tup);
      vacuumed.push({ table: row.relname, dead, live: Number(row.n_live_tup) });
      this.stats.tables++;
      this.stats.deadRows += dead;
    }
    return { active: true, vacuumed };
  }
}
