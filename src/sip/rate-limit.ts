/**
 * Per-source rate limits for PUBLISH and SUBSCRIBE (issue 10, overload): one token bucket per source
 * IP address, `ratePerSec` tokens a second up to `burst`; a request that finds its bucket empty is
 * answered 503 with Retry-After. RFC 3261 §21.5.4: "The server MAY indicate when the client should
 * retry the request in a Retry-After header field."
 *
 * Memory is bounded: at most `maxSources` buckets, the least recently seen source forgotten first (a
 * forgotten source comes back with a full bucket, which is what an idle source has anyway).
 * Only the addresses listed in `exempt` skip the limit; loopback is limited like any other source
 * unless it is listed (a proxy in front of Herald is usually the one to list).
 */
import type { Clock } from '../clock';
import { PresenceError } from '../errors';
import type { MethodHandler } from './router';

export interface RateLimitOptions {
  clock: Clock;
  /** Tokens added per second per source; 0 turns the limit off. */
  ratePerSec: number;
  /** Bucket size: requests a source may send at once after being idle. */
  burst: number;
  /** Most sources remembered at once. */
  maxSources: number;
  /** Source addresses never limited (IPv4 or IPv6 text, as the transport reports them). */
  exempt: readonly string[];
}

interface Bucket {
  tokens: number;
  at: number;
}

export class SourceRateLimiter {
  private readonly buckets = new Map<string, Bucket>();
  private readonly exempt: Set<string>;
  /** Requests refused (metrics, tests). */
  refused = 0;

  constructor(private readonly o: RateLimitOptions) {
    this.exempt = new Set(o.exempt.map(normalize));
  }

  get enabled(): boolean {
    return this.o.ratePerSec > 0;
  }

  get sources(): number {
    return this.buckets.size;
  }

  /** Takes a token for `source`; returns 0 when granted, else the seconds until one is there. */
  take(source: string): number {
    if (!this.enabled) return 0;
    const key = normalize(source);
    if (this.exempt.has(key)) return 0;
    const now = this.o.clock.now();
    const b = this.buckets.get(key);
    let tokens = this.o.burst;
    if (b) {
      tokens = Math.min(this.o.burst, b.tokens + ((now - b.at) / 1000) * this.o.ratePerSec);
      this.buckets.delete(key); // re-inserted below: Map order is recency order
    } else {
      while (this.buckets.size >= this.o.maxSources) {
        const oldest = this.buckets.keys().next().value;
        if (oldest === undefined) break;
        this.buckets.delete(oldest);
      }
    }
    if (tokens >= 1) {
      this.buckets.set(key, { tokens: tokens - 1, at: now });
      return 0;
    }
    this.buckets.set(key, { tokens, at: now });
    this.refused++;
    return Math.max(1, Math.ceil((1 - tokens) / this.o.ratePerSec));
  }

  /** Wraps a handler: over the limit, the request is refused before it reaches the domain. */
  limit(handler: MethodHandler): MethodHandler {
    return async (req, ctx) => {
      const wait = this.take(ctx.peer.host);
      if (wait > 0) throw new PresenceError('TOO_MANY_REQUESTS', undefined, { 'Retry-After': String(wait) });
      return handler(req, ctx);
    };
  }
}

/** `::ffff:127.0.0.1` (an IPv4 peer on a dual-stack socket) and `127.0.0.1` are one source. */
function normalize(host: string): string {
  const h = host.trim().toLowerCase().replace(/^\[|\]$/g, '');
  return h.startsWith('::ffff:') && h.includes('.') ? h.slice(7) : h;
}
