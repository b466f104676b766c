/**
 * The presentities an HTTP subscription watches, with the status it last told about each (so a
 * change that leaves the status as it was is not an event). Indexed by presentity: the fan-out's
 * one query per change. Literal column names (see src/store/rows.ts).
 */
import type { Knex } from 'knex';

const AOR = 'text COLLATE "C"';

export async function up(knex: Knex): Promise<void> {
  await knex.schema.createTable('web_subscription_members', (t) => {
    t.text('subscription_id').notNullable().references('id').inTable('web_subscriptions').onDelete('CASCADE');
    t.specificType('presentity', AOR).notNullable();
    t.text('last_status').nullable();
    // When it was added: nodes learn from it which presentities gained HTTP watchers elsewhere.
    t.bigInteger('added_at').notNullable().defaultTo(0);
    t.primary(['subscription_id', 'presentity'], { constraintName: 'web_subscription_members_pkey' });
    t.index(['presentity'], 'web_subscription_members_presentity_idx');
    t.index(['added_at'], 'web_subscription_members_added_at_idx');
  });
}

export async function down(knex: Knex): Promise<void> {
  await knex.schema.dropTable('web_subscription_members');
}
