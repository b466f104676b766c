/**
 * Subscriptions (RFC 6665: a dialog between a watcher and the notifier), table named after the
 * classic module's `active_watchers`. Times are epoch milliseconds in bigint columns.
 */
import type { Knex } from 'knex';

const AOR = 'text COLLATE "C"';

export async function up(knex: Knex): Promise<void> {
  await knex.schema.createTable('active_watchers', (t) => {
    t.text('id').primary({ constraintName: 'active_watchers_pkey' });
    t.specificType('presentity', AOR).notNullable();
    t.text('event').notNullable();
    t.text('event_id').nullable();
    t.specificType('watcher', AOR).notNullable();
    t.text('watcher_display_name').nullable();
    t.text('call_id').notNullable();
    t.text('remote_tag').notNullable();
    t.text('local_tag').notNullable();
    t.text('remote_uri').notNullable();
    t.text('local_uri').notNullable();
    t.bigInteger('remote_cseq').notNullable();
    t.bigInteger('local_cseq').notNullable();
    t.text('remote_target').notNullable();
    // RFC 3261 §12.1.1: the route set is an ordered list of URIs.
    t.jsonb('route_set').notNullable().defaultTo(knex.raw(`'[]'::jsonb`));
    t.text('contact_instance').nullable();
    t.text('via_transport').notNullable();
    t.text('via_host').notNullable();
    t.integer('via_port').notNullable();
    t.text('via_connection_id').nullable();
    t.enu('state', ['pending', 'active', 'terminated']).notNullable();
    t.text('reason').nullable();
    t.bigInteger('expires_at').notNullable();
    t.integer('version').notNullable().defaultTo(0);
    t.text('node').notNullable();
    t.bigInteger('created_at').notNullable();
    t.bigInteger('updated_at').notNullable();
    // RFC 3261 §12: a dialog is identified by Call-ID, local tag and remote tag.
    t.unique(['call_id', 'local_tag', 'remote_tag'], { indexName: 'active_watchers_dialog_key' });
    t.index(['presentity', 'event'], 'active_watchers_presentity_event_idx');
    t.index(['expires_at'], 'active_watchers_expires_at_idx');
    t.index(['watcher'], 'active_watchers_watcher_idx');
  });
}

export async function down(knex: Knex): Promise<void> {
  await knex.schema.dropTable('active_watchers');
}
