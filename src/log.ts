/** pino logger; components take a child logger (`log.child({ component: 'sip' })`). */
import pino, { type Logger } from 'pino';

export type { Logger };

export function createLogger(level: string): Logger {
  return pino({ level, base: { service: 'herald' }, redact: ['token', 'authorization', '*.token', '*.authorization'] });
}

/** A logger that writes nothing, for tests. */
export const silentLogger: Logger = pino({ level: 'silent' });
