/**
 * Granting an expiration interval to a PUBLISH or SUBSCRIBE (RFC 3903 §6 step 5, RFC 6665 §4.2.1.1).
 */
import { PresenceError } from '../errors';

export interface ExpiresLimits {
  minExpiresSec: number;
  maxExpiresSec: number;
  defaultExpiresSec: number;
}

/**
 * absent → default_expires; above max_expires → lowered to it; non-zero below min_expires → 423.
 * Returns seconds; 0 stays 0 (remove / unsubscribe / fetch).
 */
export function grantExpires(requested: number | undefined, limits: ExpiresLimits): number {
  if (requested === undefined) return Math.min(limits.defaultExpiresSec, limits.maxExpiresSec);
  if (requested === 0) return 0;
  // RFC 3903 §6: "If the requested duration is ... shorter than the minimum ... the ESC MUST reject with 423
  // (Interval Too Brief)" and RFC 3261 §20.23: the 423 carries Min-Expires.
  if (limits.minExpiresSec > 0 && requested < limits.minExpiresSec) {
    throw new PresenceError('INTERVAL_TOO_BRIEF', 'Interval Too Brief', { 'Min-Expires': String(limits.minExpiresSec) });
  }
  // RFC 3903 §6: "the ESC MAY decrease the expiration time" to its maximum.
  return Math.min(requested, limits.maxExpiresSec);
}

/** Parse an Expires header value (delta-seconds); undefined when absent, 400 when not a number. */
export function parseExpires(value: string | undefined): number | undefined {
  if (value === undefined) return undefined;
  const v = value.trim();
  if (!/^\d{1,10}$/.test(v)) throw new PresenceError('BAD_REQUEST', 'Bad Expires header');
  // RFC 3261 §20.19: "a value larger than 2**32-1 ... SHOULD be treated as 2**32-1".
  return Math.min(Number(v), 2 ** 32 - 1);
}
