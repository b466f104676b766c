/** Presence authorization rules (RFC 5025 §3.2.1 sub-handling) per presentity and watcher or domain. */
import type { Knex } from 'knex';

const AOR = 'text COLLATE "C"';

export async function up(knex: Knex): Promise<void> {
  await knex.schema.createTable('pres_rules', (t) => {
    t.specificType('presentity', AOR).notNullable();
    /** A watcher AOR (`sip:bob@example.com`) or a whole domain (`example.com`). */
    t.specificType('watcher', AOR).notNullable();
    t.enu('action', ['allow', 'block', 'polite-block', 'confirm']).notNullable();
    t.bigInteger('updated_at').notNullable();
    t.primary(['presentity', 'watcher'], { constraintName: 'pres_rules_pkey' });
  });
}

export async function down(knex: Knex): Promise<void> {
  await knex.schema.dropTable('pres_rules');
}
