/**
 * The event log of HTTP subscriptions (seed 003's event channel): one row per event per
 * subscription, numbered by seq, kept for event_window so a client resuming with its cursor misses
 * nothing. Literal column names (see src/store/rows.ts).
 */
import type { Knex } from 'knex';

export async function up(knex: Knex): Promise<void> {
  await knex.schema.createTable('web_events', (t) => {
    t.text('subscription_id').notNullable().references('id').inTable('web_subscriptions').onDelete('CASCADE');
    t.bigInteger('seq').notNullable();
    // presence | expiring | ended
    t.text('type').notNullable();
    t.text('uri').nullable();
    t.text('status').nullable();
    t.bigInteger('at').notNullable();
    t.primary(['subscription_id', 'seq'], { constraintName: 'web_events_pkey' });
    t.index(['at'], 'web_events_at_idx');
  });
}

export async function down(knex: Knex): Promise<void> {
  await knex.schema.dropTable('web_events');
}
