/**
 * Publications (RFC 3903 §2: event state identified by an entity-tag), table named after the classic
 * presence module's `presentity`. Times are epoch milliseconds in bigint columns.
 * Literal column names on purpose: a migration is a frozen snapshot (see src/store/rows.ts).
 */
import type { Knex } from 'knex';

/** AORs compare byte-wise (RFC 3261 §19.1.4: user parts are case-sensitive) and sort the same on every server. */
const AOR = 'text COLLATE "C"';

export async function up(knex: Knex): Promise<void> {
  await knex.schema.createTable('presentity', (t) => {
    t.specificType('presentity', AOR).notNullable();
    t.text('event').notNullable();
    t.text('etag').notNullable();
    t.text('body').notNullable();
    t.text('content_type').notNullable();
    t.enu('source', ['sip', 'http']).notNullable();
    t.text('client').nullable();
    t.bigInteger('received_at').notNullable();
    t.bigInteger('expires_at').notNullable();
    // RFC 3903 §4.1: an entity-tag identifies one publication of one presentity's event.
    // Its index also serves every (presentity, event) lookup (leading columns), so no second index.
    t.primary(['presentity', 'event', 'etag'], { constraintName: 'presentity_pkey' });
    // The sweeper's takeExpired scans by expiry (DESIGN.md, Storage: expiry columns are indexed).
    t.index(['expires_at'], 'presentity_expires_at_idx');
  });
}

export async function down(knex: Knex): Promise<void> {
  await knex.schema.dropTable('presentity');
}
