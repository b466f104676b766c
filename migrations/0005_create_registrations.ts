/** REGISTER bindings (registrar-lite), keyed by address-of-record and contact. */
import type { Knex } from 'knex';

const AOR = 'text COLLATE "C"';

export async function up(knex: Knex): Promise<void> {
  await knex.schema.createTable('registrations', (t) => {
    t.specificType('aor', AOR).notNullable();
    t.text('contact').notNullable();
    t.text('instance').nullable();
    t.text('call_id').notNullable();
    t.bigInteger('cseq').notNullable();
    t.text('via_transport').notNullable();
    t.text('via_host').notNullable();
    t.integer('via_port').notNullable();
    t.text('via_connection_id').nullable();
    t.bigInteger('expires_at').notNullable();
    t.primary(['aor', 'contact'], { constraintName: 'registrations_pkey' });
    t.index(['expires_at'], 'registrations_expires_at_idx');
  });
}

export async function down(knex: Knex): Promise<void> {
  await knex.schema.dropTable('registrations');
}
