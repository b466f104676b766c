/**
 * Apps (seed 002: "registering your app in the Presence service"): a name, the hash of the app's
 * bearer token, and its standing subscription (whose members are the users who granted it access).
 * Literal column names (see src/store/rows.ts).
 */
import type { Knex } from 'knex';

export async function up(knex: Knex): Promise<void> {
  await knex.schema.createTable('apps', (t) => {
    t.text('id').primary({ constraintName: 'apps_pkey' });
    t.text('name').notNullable();
    t.text('token_hash').notNullable().unique({ indexName: 'apps_token_hash_key' });
    t.text('subscription_id').notNullable().references('id').inTable('web_subscriptions');
    t.bigInteger('created_at').notNullable();
  });
}

export async function down(knex: Knex): Promise<void> {
  await knex.schema.dropTable('apps');
}
