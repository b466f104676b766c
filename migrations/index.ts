/**
 * Every migration, imported explicitly and in order, for the custom knex migrationSource in
 * src/store/migrate.ts (no file loader: runs the same under jest/swc and `node -r @swc-node/register`).
 * Adding a migration = a new file with `up` and `down` + one line here. Never rename a shipped entry:
 * the name is what knex_migrations records.
 */
import type { Knex } from 'knex';
import * as m0001 from './0001_create_presentity';
import * as m0002 from './0002_create_active_watchers';
import * as m0003 from './0003_create_watchers';
import * as m0004 from './0004_create_pres_rules';
import * as m0005 from './0005_create_registrations';
import * as m0006 from './0006_create_api_keys';
import * as m0007 from './0007_create_web_subscriptions';
import * as m0008 from './0008_create_web_subscription_members';
import * as m0009 from './0009_create_web_events';
import * as m0010 from './0010_create_apps';
import * as m0011 from './0011_active_watchers_fillfactor';

export interface NamedMigration {
  name: string;
  migration: Knex.Migration;
}

export const MIGRATIONS: readonly NamedMigration[] = [
  { name: '0001_create_presentity', migration: m0001 },
  { name: '0002_create_active_watchers', migration: m0002 },
  { name: '0003_create_watchers', migration: m0003 },
  { name: '0004_create_pres_rules', migration: m0004 },
  { name: '0005_create_registrations', migration: m0005 },
  { name: '0006_create_api_keys', migration: m0006 },
  { name: '0007_create_web_subscriptions', migration: m0007 },
  { name: '0008_create_web_subscription_members', migration: m0008 },
  { name: '0009_create_web_events', migration: m0009 },
  { name: '0010_create_apps', migration: m0010 },
  { name: '0011_active_watchers_fillfactor', migration: m0011 },
];
