/**
 * NOTIFYs missed during a database outage are sent when the database returns (issue 10).
 *
 * A fan-out reads the watchers and the publications and bumps the NOTIFY CSeqs in the database; when
 * the database is unreachable it fails, although the change it should tell may be committed (the
 * commit came just before the outage, or the outage cut the COMMIT's answer). RecoveringFanout
 * catches exactly those failures (isDatabaseUnavailable), remembers the presentity as "dirty" in a
 * bounded set, and a recovery loop, once `store.ping()` answers again, re-runs the fan-out under the
 * presentity's lock: the state is re-read from the database, never guessed from what was in memory.
 * RFC 6665 §4.2.2: "Notifiers MUST send a NOTIFY request ... when the state of the resource changes";
 * a second NOTIFY with unchanged state is harmless (the watcher keeps the latest document).
 *
 * The set is bounded (`maxDirty`): beyond it a presentity is counted as overflowed, not kept; its
 * watchers converge at their next refresh (RFC 6665 §4.2.1.2: a refresh is followed by a NOTIFY).
 */
import type { Timers } from '../clock';
import { isDatabaseUnavailable } from '../errors';
import { Fanout, type FanoutOptions } from './fanout';
import type { KeyedLocks } from './locks';
import type { Publication, Subscription, SubscriptionState, TerminationReason, WatcherRecord } from './model';
import type { Store } from './ports';

export interface RecoveryOptions {
  store: Pick<Store, 'ping'>;
  locks: KeyedLocks;
  timers: Timers;
  /** How often the loop looks at the dirty set (and pings the database when it is not empty). */
  intervalMs: number;
  /** Most presentities remembered at once. */
  maxDirty: number;
  /** Presentities re-told per round (one round per interval). */
  batch: number;
  /** Told of a presentity that did not fit in the set (log it). */
  onOverflow?: (presentity: string) => void;
  /** A re-run fan-out failed for another reason than the database (log it). */
  onError?: (err: unknown, presentity: string) => void;
}

interface Dirty {
  presence: boolean;
  winfo: boolean;
}

export class RecoveringFanout extends Fanout {
  private readonly dirty = new Map<string, Dirty>();
  private timer: NodeJS.Timeout | null = null;
  private running: Promise<void> | null = null;
  private stopped = true;
  /** Counters for metrics, tests and the reliability notes. */
  readonly recoveryStats = { marked: 0, overflowed: 0, retold: 0, rounds: 0 };

  constructor(o: FanoutOptions, private readonly r: RecoveryOptions) {
    super(o);
  }

  /** Presentities whose watchers still have to be told. */
  get dirtyCount(): number {
    return this.dirty.size;
  }

  start(): void {
    this.stopped = false;
    this.arm();
  }

  /** Clears the timer and waits for a round in progress; the set is kept (nothing to persist). */
  async stop(): Promise<void> {
    this.stopped = true;
    if (this.timer) this.r.timers.clearTimeout(this.timer);
    this.timer = null;
    await this.running;
  }

  override async presentityChanged(presentity: string, last?: Publication): Promise<void> {
    try {
      await super.presentityChanged(presentity, last);
    } catch (err) {
      this.remember(err, presentity, 'presence');
    }
  }

  override async notifyOne(sub: Subscription, override?: { state: SubscriptionState; reason?: TerminationReason; withState?: boolean }): Promise<void> {
    try {
      await super.notifyOne(sub, override);
    } catch (err) {
      // A terminating NOTIFY belongs to its caller (it must not remove a subscription it could not tell);
      // an active one is re-told by the presentity's fan-out, which reaches every active watcher.
      if (override && override.state === 'terminated') throw err;
      this.remember(err, sub.presentity, sub.event === 'presence.winfo' ? 'winfo' : 'presence');
    }
  }

  override async watchersChanged(presentity: string, changed: WatcherRecord[], full = false): Promise<void> {
    try {
      await super.watchersChanged(presentity, changed, full);
    } catch (err) {
      this.remember(err, presentity, 'winfo');
    }
  }

  /** A change of this presentity may be committed but untold (a request failed for the database): tell it later. */
  markDirty(presentity: string, kind: keyof Dirty = 'presence'): void {
    const d = this.dirty.get(presentity);
    if (d) {
      d[kind] = true;
      return;
    }
    if (this.dirty.size >= this.r.maxDirty) {
      this.recoveryStats.overflowed++;
      this.r.onOverflow?.(presentity);
      return;
    }
    this.recoveryStats.marked++;
    this.dirty.set(presentity, { presence: kind === 'presence', winfo: kind === 'winfo' });
  }

  /** One round: when the database answers, re-run the fan-outs of up to `batch` dirty presentities. */
  async recoverNow(): Promise<number> {
    if (this.dirty.size === 0 || !(await this.r.store.ping())) return 0;
    this.recoveryStats.rounds++;
    let told = 0;
    const round: Array<[string, Dirty]> = [];
    for (const entry of this.dirty) {
      if (round.length >= this.r.batch) break;
      round.push(entry);
    }
    for (const [presentity, d] of round) {
      // Taken out first: a failure of the re-run marks it again (remember), a change meanwhile too.
      this.dirty.delete(presentity);
      try {
        await this.r.locks.run(presentity, async () => {
          if (d.presence) await this.presentityChanged(presentity);
          if (d.winfo) await this.watchersChanged(presentity, [], true);
        });
        told++;
      } catch (err) {
        this.r.onError?.(err, presentity);
      }
    }
    this.recoveryStats.retold += told;
    return told;
  }

  private remember(err: unknown, presentity: string, kind: keyof Dirty): void {
    if (!isDatabaseUnavailable(err)) throw err;
    this.markDirty(presentity, kind);
  }

  private arm(): void {
    if (this.stopped) return;
    this.timer = this.r.timers.setTimeout(() => {
      this.timer = null;
      this.running = this.recoverNow()
        .then(() => undefined, (err: unknown) => this.r.onError?.(err, ''))
        .finally(() => {
          this.running = null;
          this.arm();
        });
    }, this.r.intervalMs);
    this.timer.unref?.();
  }
}
