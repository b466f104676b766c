/**
 * Schema migrations through a custom knex migrationSource (DESIGN.md, Layout: "migrations/ knex
 * migrations, one change per file, up and down"). The list is imported explicitly, so no knex file
 * loader is involved and the same code runs under jest/swc, `node -r @swc-node/register` and a build.
 */
import type { Knex } from 'knex';
import { MIGRATIONS, type NamedMigration } from '../../migrations';

const source: Knex.MigrationSource<NamedMigration> = {
  getMigrations: async () => [...MIGRATIONS],
  getMigrationName: (m) => m.name,
  getMigration: async (m) => m.migration,
};

const CONFIG: Knex.MigratorConfig = { migrationSource: source, tableName: 'knex_migrations' };

/** Apply every pending migration; returns the names applied (empty when up to date). */
export async function migrateLatest(knex: Knex): Promise<string[]> {
  const [, applied] = (await knex.migrate.latest(CONFIG)) as [number, string[]];
  return applied;
}

/**
 * Undo migrations: the last one by default, or every applied one with `{ all: true }`.
 * Returns the names undone.
 */
export async function migrateDown(knex: Knex, opts: { all?: boolean } = {}): Promise<string[]> {
  const [, undone] = (opts.all ? await knex.migrate.rollback(CONFIG, true) : await knex.migrate.down(CONFIG)) as [
    number,
    string[],
  ];
  return undone;
}

/** Names of applied and pending migrations. */
export async function migrationStatus(knex: Knex): Promise<{ applied: string[]; pending: string[] }> {
  const [done, pending] = (await knex.migrate.list(CONFIG)) as [Array<{ name: string }>, NamedMigration[]];
  return { applied: done.map((m) => m.name), pending: pending.map((m) => m.name) };
}
