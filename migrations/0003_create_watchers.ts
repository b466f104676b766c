/** Watcher records per presentity and event (RFC 3857 §3.1 status, for watcher-info). */
import type { Knex } from 'knex';

const AOR = 'text COLLATE "C"';

export async function up(knex: Knex): Promise<void> {
  await knex.schema.createTable('watchers', (t) => {
    t.specificType('presentity', AOR).notNullable();
    t.specificType('watcher', AOR).notNullable();
    t.text('watcher_display_name').nullable();
    t.text('event').notNullable();
    t.text('subscription_id').notNullable();
    t.text('status').notNullable();
    t.text('last_event').notNullable();
    t.bigInteger('created_at').notNullable();
    t.bigInteger('updated_at').notNullable();
    t.primary(['presentity', 'event', 'subscription_id'], { constraintName: 'watchers_pkey' });
    // prune() removes terminated records by age.
    t.index(['updated_at'], 'watchers_updated_at_idx');
  });
}

export async function down(knex: Knex): Promise<void> {
  await knex.schema.dropTable('watchers');
}
