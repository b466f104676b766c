/**
 * HTTP presence writes as publications (issue 8; seed 000's per-client register, seed 004's presence
 * record with ttlSeconds). Each HTTP client of a presentity owns at most one publication (source
 * `http`, client id): a write creates or replaces it, a delete removes it. The body is a PIDF built
 * from the status (bodies/rpid.ts), so SIP watchers get it composed with the phones' publications,
 * and the sweeper expires it like any publication.
 *
 * Ordering: the change is committed under the presentity's lock (the same KeyedLocks key as a SIP
 * PUBLISH), and the fan-out to the watchers is queued on that lock right after, so a later write
 * of the same presentity is told after this one and the last NOTIFY carries the last state.
 */
import type { Clock, Random } from '../clock';
import { isDatabaseUnavailable, PresenceError } from '../errors';
import { isBodyError } from '../bodies/errors';
import { pidfFromStatus, type PresenceStatus } from '../bodies/rpid';
import { PIDF_TYPE, type PresenceDocuments } from './documents';
import { newEntityTag } from './entity-tag';
import type { ExpiresLimits } from './expires';
import type { KeyedLocks } from './locks';
import type { Publication } from './model';
import type { Repositories, Store } from './ports';

/** A status an HTTP client can set: `hide` publishes a closed tuple while the client stays present (seed 000). */
export type HttpStatus = PresenceStatus | 'hide';

export const HTTP_STATUSES: readonly HttpStatus[] = ['online', 'busy', 'away', 'offline', 'hide'];

/** The client id of a write to /v1/presence/{domain}/{user} without /clients/{client}. */
export const DEFAULT_CLIENT = 'default';

/** A client id becomes part of an xs:ID tuple id (`http-<client>`), so it keeps to these characters. */
export const CLIENT_ID = /^[A-Za-z0-9][A-Za-z0-9_.-]{0,63}$/;

const EVENT = 'presence';

export interface HttpWrite {
  presentity: string;
  client: string;
  status: HttpStatus;
  note?: string;
  /** Requested lifetime; absent: default_ttl. Bounded by max_expires, at least min_expires. */
  ttlSeconds?: number;
}

/** The stored record as the writer sees it (seed 004's POST answer). */
export interface HttpRecord {
  presentity: string;
  client: string;
  status: HttpStatus;
  note: string | null;
  /** Granted lifetime in seconds. */
  ttlSeconds: number;
  receivedAt: number;
  expiresAt: number;
  /** True when no live publication of this client existed before. */
  created: boolean;
}

export interface HttpPublicationOptions {
  store: Store;
  clock: Clock;
  random: Random;
  locks: KeyedLocks;
  documents: PresenceDocuments;
  limits: ExpiresLimits;
  defaultTtlSec: number;
  /** Told (under the presentity's lock) after the commit: fan the new document out to the watchers. */
  onChange: (presentity: string, last?: Publication) => Promise<void>;
  /** A fan-out that failed (the write itself is committed). */
  onNotifyError: (err: unknown, presentity: string) => void;
  /** A write failed for the database: its COMMIT may still have happened; tell the watchers once it is back. */
  onCommitUnknown?: (presentity: string) => void;
}

export class HttpPublicationService {
  private readonly pending = new Set<Promise<void>>();

  constructor(private readonly o: HttpPublicationOptions) {}

  /** Create or replace the client's publication. Resolves once committed; the watchers are told next. */
  async put(w: HttpWrite): Promise<HttpRecord> {
    checkClient(w.client);
    const ttl = this.grantTtl(w.ttlSeconds);
    const note = w.note !== undefined && w.note.trim() !== '' && w.status !== 'hide' ? w.note : null;
    return this.o.locks.run(w.presentity, async () => {
      const now = this.o.clock.now();
      const etag = newEntityTag(this.o.random);
      const body = buildBody(w.presentity, w.client, w.status, note, now);
      // Validated like any PUBLISH body (and parsed once, for composing).
      const doc = this.o.documents.parse(body);
      const next: Publication = {
        presentity: w.presentity, event: EVENT, etag, body, contentType: PIDF_TYPE, source: 'http', client: w.client,
        receivedAt: now, expiresAt: now + ttl * 1000,
      };
      const previous = await this.commit(w.presentity, async (tx) => {
        const current = await tx.publications.byClient(w.presentity, EVENT, w.client, now);
        if (current && (await tx.publications.replace(w.presentity, EVENT, current.etag, next))) return current;
        await tx.publications.insert(next);
        return undefined;
      });
      if (previous) this.o.documents.forget(w.presentity, previous.etag);
      this.o.documents.remember(w.presentity, etag, doc);
      this.tell(w.presentity, previous);
      return { presentity: w.presentity, client: w.client, status: w.status, note, ttlSeconds: ttl, receivedAt: now, expiresAt: next.expiresAt, created: !previous };
    });
  }

  /** Remove the client's publication; false when it had none (nothing to tell). */
  async remove(presentity: string, client: string): Promise<boolean> {
    checkClient(client);
    return this.o.locks.run(presentity, async () => {
      const now = this.o.clock.now();
      const removed = await this.commit(presentity, async (tx) => {
        const current = await tx.publications.byClient(presentity, EVENT, client, now);
        if (!current) return undefined;
        return (await tx.publications.remove(presentity, EVENT, current.etag)) ? current : undefined;
      });
      if (!removed) return false;
      this.o.documents.forget(presentity, removed.etag);
      this.tell(presentity, removed);
      return true;
    });
  }

  private async commit<T>(presentity: string, work: (tx: Repositories) => Promise<T>): Promise<T> {
    try {
      return await this.o.store.transaction(work);
    } catch (err) {
      if (isDatabaseUnavailable(err)) this.o.onCommitUnknown?.(presentity);
      throw err;
    }
  }

  /** Wait for the fan-outs already queued (on shutdown). */
  async drain(): Promise<void> {
    while (this.pending.size > 0) await Promise.all([...this.pending]);
  }

  /**
   * Queue the fan-out on the presentity's lock: it runs after this change and before any later
   * change of the same presentity is committed (called from inside the lock, so it is queued behind it).
   */
  private tell(presentity: string, last: Publication | undefined): void {
    const p = this.o.locks
      .run(presentity, () => this.o.onChange(presentity, last))
      .catch((err: unknown) => this.o.onNotifyError(err, presentity))
      .finally(() => this.pending.delete(p));
    this.pending.add(p);
  }

  /** absent → default_ttl; above max_expires → lowered to it; below min_expires → 400 (like a PUBLISH's 423). */
  private grantTtl(requested: number | undefined): number {
    const { minExpiresSec, maxExpiresSec } = this.o.limits;
    if (requested === undefined) return Math.min(this.o.defaultTtlSec, maxExpiresSec);
    if (!Number.isSafeInteger(requested) || requested < 1) throw new PresenceError('BAD_REQUEST', 'ttlSeconds must be a whole number of seconds, at least 1');
    if (requested < minExpiresSec) throw new PresenceError('INTERVAL_TOO_BRIEF', `ttlSeconds must be at least ${minExpiresSec} (min_expires)`);
    return Math.min(requested, maxExpiresSec);
  }
}

function checkClient(client: string): void {
  if (!CLIENT_ID.test(client)) throw new PresenceError('BAD_REQUEST', 'client id must be 1-64 letters, digits, _ . - (starting with a letter or digit)');
}

/** The PIDF of an HTTP write: one tuple `http-<client>`, stable per client, so a replace replaces it. */
function buildBody(presentity: string, client: string, status: HttpStatus, note: string | null, now: number): string {
  try {
    return pidfFromStatus(presentity, {
      status, tupleId: `http-${client}`, timestamp: new Date(now).toISOString(), ...(note === null ? {} : { note }),
    });
  } catch (err) {
    if (isBodyError(err)) throw new PresenceError(err.code, err.reason);
    throw err;
  }
}
