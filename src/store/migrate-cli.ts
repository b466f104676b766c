/**
 * `npm run migrate -- [latest|down|rollback-all|status] [--db-url URL]` (default url `./data`, the
 * embedded PGlite directory). Reads no environment: the operator passes the url explicitly.
 */
import { createKnex } from './db';
import { migrateDown, migrateLatest, migrationStatus } from './migrate';

const COMMANDS = ['latest', 'down', 'rollback-all', 'status'] as const;
type Command = (typeof COMMANDS)[number];

export function parseArgs(argv: readonly string[]): { command: Command; dbUrl: string } {
  let command: Command = 'latest';
  let dbUrl = './data';
  for (let i = 0; i < argv.length; i++) {
    const a = argv[i] as string;
    if (a === '--db-url') {
      const v = argv[++i];
      if (v === undefined) throw new Error('--db-url needs a value');
      dbUrl = v;
    } else if (a.startsWith('--db-url=')) {
      dbUrl = a.slice('--db-url='.length);
    } else if ((COMMANDS as readonly string[]).includes(a)) {
      command = a as Command;
    } else {
      throw new Error(`unknown argument ${a}; usage: migrate [${COMMANDS.join('|')}] [--db-url URL]`);
    }
  }
  return { command, dbUrl };
}

async function run(command: Command, dbUrl: string): Promise<string> {
  const knex = createKnex(dbUrl);
  try {
    switch (command) {
      case 'latest': {
        const done = await migrateLatest(knex);
        return done.length ? `applied: ${done.join(', ')}` : 'already up to date';
      }
      case 'down':
        return `undone: ${(await migrateDown(knex)).join(', ') || 'nothing'}`;
      case 'rollback-all':
        return `undone: ${(await migrateDown(knex, { all: true })).join(', ') || 'nothing'}`;
      case 'status': {
        const s = await migrationStatus(knex);
        return `applied: ${s.applied.join(', ') || 'none'}\npending: ${s.pending.join(', ') || 'none'}`;
      }
    }
  } finally {
    await knex.destroy();
  }
}

if (require.main === module) {
  let parsed: { command: Command; dbUrl: string };
  try {
    parsed = parseArgs(process.argv.slice(2));
  } catch (e) {
    process.stderr.write(`${(e as Error).message}\n`);
    process.exit(2);
  }
  run(parsed.command, parsed.dbUrl).then(
    (msg) => process.stdout.write(`${msg}\n`),
    (e: unknown) => {
      process.stderr.write(`migration failed: ${e instanceof Error ? e.stack ?? e.message : String(e)}\n`);
      process.exitCode = 1;
    },
  );
}
