/**
 * HTTP subscriptions (issue 9, seed 003's presenceSubscriptions; an app's standing subscription over
 * its granted users, seed 002). Stored so that a restart keeps them and any node serves them. Times
 * are epoch milliseconds; expires_at null: no end (an app's). Literal column names (see src/store/rows.ts).
 */
import type { Knex } from 'knex';

const AOR = 'text COLLATE "C"';

export async function up(knex: Knex): Promise<void> {
  await knex.schema.createTable('web_subscriptions', (t) => {
    t.text('id').primary({ constraintName: 'web_subscriptions_pkey' });
    // Who made it (token:…, key:…, app:…): only they (or an admin) read, change or delete it.
    t.text('owner').notNullable();
    // The watcher identity pres_rules are applied to (RFC 5025), e.g. sip:bob@example.com.
    t.specificType('watcher', AOR).notNullable();
    // Set for an app's subscription: its members are the users who granted the app access.
    t.text('app_id').nullable();
    // HMAC-SHA256 key of webhook signatures (kept in clear: it must sign).
    t.text('secret').notNullable();
    t.text('webhook_url').nullable();
    t.text('webhook_format').notNullable().defaultTo('batch');
    // active | ended
    t.text('state').notNullable();
    t.bigInteger('expires_at').nullable();
    t.boolean('warned').notNullable().defaultTo(false);
    // Sequence number of the newest event (bumped with UPDATE … RETURNING, under the row lock).
    t.bigInteger('last_seq').notNullable().defaultTo(0);
    // Webhook delivery: last delivered seq, failures in a row, next attempt, and a lease so one node sends.
    t.bigInteger('webhook_seq').notNullable().defaultTo(0);
    t.integer('webhook_attempts').notNullable().defaultTo(0);
    t.bigInteger('webhook_next_at').notNullable().defaultTo(0);
    t.bigInteger('webhook_lease_until').notNullable().defaultTo(0);
    t.bigInteger('created_at').notNullable();
    t.bigInteger('updated_at').notNullable();
    t.index(['state', 'expires_at'], 'web_subscriptions_state_expires_idx');
  });
}

export async function down(knex: Knex): Promise<void> {
  await knex.schema.dropTable('web_subscriptions');
}
