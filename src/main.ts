/**
 * Process entry: loadConfig → createApp → start; SIGTERM/SIGINT → stop (drain) → exit 0.
 * A bad configuration exits 2 naming every bad parameter.
 */
import { createApp } from './app';
import { ConfigError, loadConfig } from './config';
import { createLogger } from './log';

async function main(): Promise<void> {
  let loaded;
  try {
    loaded = loadConfig({ argv: process.argv.slice(2), env: process.env });
  } catch (err) {
    if (err instanceof ConfigError) {
      process.stderr.write(`herald: ${err.message}\n`);
      process.exit(2);
    }
    throw err;
  }
  const { config, warnings, file } = loaded;
  const log = createLogger(config.logLevel);
  for (const w of warnings) log.warn(w);
  const app = await createApp(config, { log });
  await app.start();
  const a = app.addresses();
  log.info({ sip: a.sip, http: a.http, database: describeDb(config.dbUrl), configFile: file }, 'herald ready');

  let stopping = false;
  const stop = (signal: string): void => {
    if (stopping) return;
    stopping = true;
    log.info({ signal }, 'stopping');
    const force = setTimeout(() => {
      log.error('stop took longer than 5 s, exiting');
      process.exit(1);
    }, 5000);
    force.unref();
    app.stop().then(
      () => {
        log.info('stopped');
        log.flush?.();
        process.exit(0);
      },
      (err: unknown) => {
        log.error({ err }, 'stop failed');
        process.exit(1);
      },
    );
  };
  process.on('SIGTERM', () => stop('SIGTERM'));
  process.on('SIGINT', () => stop('SIGINT'));
}

/** The database in the log, without a password. */
function describeDb(url: string): string {
  if (/^postgres/i.test(url)) return url.replace(/\/\/([^:@/]+):[^@/]*@/, '//$1:***@');
  return url === 'memory://' ? 'PGlite in memory' : `PGlite at ${url}`;
}

process.on('unhandledRejection', (err) => {
  process.stderr.write(`herald: unhandled rejection: ${String(err)}\n`);
});

main().catch((err: unknown) => {
  process.stderr.write(`herald: failed to start: ${err instanceof Error ? err.stack ?? err.message : String(err)}\n`);
  process.exit(1);
});
