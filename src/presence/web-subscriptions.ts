/**
 * HTTP subscriptions as a domain service (issue 9, seed 003 "Subscribe to Contacts Presence"): a
 * watcher of several presentities for a duration, whose events — presence changes, the warning
 * before it ends and its end — go to an event log in the database (read by the event channel, the
 * streams and the webhook sender, in http/). Stored, so a restart keeps it and any node serves it.
 */
import type { Clock, Random, Timers } from '../clock';
import { PresenceError } from '../errors';
import { canonicalAor } from './aor';
import { authorize, ruleForWatcher } from './authorization';
import type { EventBus } from './event-bus';
import type { HttpWatchers } from './http-watchers';
import type { WebEvent, WebSubscription } from './model';
import type { Store, WebSubscriptionRepository } from './ports';

export interface WebLimits {
  maxDurationMin: number;
  warningSec: number;
  sweepSec: number;
  eventWindowSec: number;
  batchSize: number;
  pollMs: number;
  maxMembers: number;
  webhookAllowList: readonly string[];
}

/** Who asks: the token's identity (http/auth.ts Grant.id); an admin may act on anyone's subscription. */
export interface Caller {
  id: string;
  admin: boolean;
}

export interface CreateInput {
  caller: Caller;
  watcher: string;
  uris: readonly string[];
  durationMinutes: number;
  webhookUrl?: string;
  webhookFormat?: 'batch' | 'envelope';
}

export interface PatchInput {
  add?: readonly string[];
  remove?: readonly string[];
  durationMinutes?: number;
}

export interface Subscriber {
  kind: 'sip' | 'http';
  id: string;
  watcher: string;
  state: 'active' | 'pending' | 'terminated' | 'rejected';
  expiresAt: number | null;
  appId: string | null;
}

export interface WebSubscriptionOptions {
  repo: WebSubscriptionRepository;
  store: Store;
  watchers: HttpWatchers;
  bus: EventBus;
  clock: Clock;
  random: Random;
  timers: Timers;
  limits: WebLimits;
  forceActive: boolean;
  onError: (err: unknown, job: string) => void;
}

export class WebSubscriptionService {
  private readonly timers = new Map<string, NodeJS.Timeout>();
  private readonly running = new Set<Promise<void>>();
  private stopped = true;

  constructor(private readonly o: WebSubscriptionOptions) {}

  async create(i: CreateInput): Promise<{ subscription: WebSubscription; members: string[] }> {
    const members = this.presentities(i.uris, 'body.uris');
    if (members.length === 0) throw new PresenceError('BAD_REQUEST', 'body.uris must name at least one presentity');
    const now = this.o.clock.now();
    const webhookUrl = i.webhookUrl === undefined ? null : checkWebhookUrl(i.webhookUrl, this.o.limits.webhookAllowList);
    const s: WebSubscription = {
      id: this.o.random.token(12), owner: i.caller.id, watcher: i.watcher, appId: null, secret: this.o.random.token(24), webhookUrl,
      webhookFormat: i.webhookFormat ?? 'batch', state: 'active', expiresAt: now + this.grantMinutes(i.durationMinutes) * 60_000,
      warned: false, lastSeq: 0, webhookSeq: 0, webhookAttempts: 0, webhookNextAt: 0, createdAt: now, updatedAt: now,
    };
    this.o.watchers.watch(members);
    await this.o.repo.insert(s, members);
    // Like a SIP subscription's first NOTIFY: each member's current status is the first event.
    await Promise.all(members.map((p) => this.o.watchers.changed(p)));
    return { subscription: s, members };
  }

  /** The subscription if `caller` may see it (owner or admin); 404 otherwise, so ids are not probed. */
  async get(id: string, caller: Caller): Promise<WebSubscription> {
    const s = await this.o.repo.byId(id);
    if (!s || (s.owner !== caller.id && !caller.admin)) throw new PresenceError('NOT_FOUND', `no subscription ${id}`);
    return s;
  }

  async members(id: string): Promise<string[]> {
    return this.o.repo.members(id);
  }

  /** Add or remove members, or extend the duration (from now, bounded by max_subscription_duration). */
  async patch(id: string, caller: Caller, p: PatchInput): Promise<WebSubscription> {
    const s = await this.changeable(id, caller);
    const add = this.presentities(p.add ?? [], 'body.add');
    const remove = this.presentities(p.remove ?? [], 'body.remove');
    const now = this.o.clock.now();
    if (add.length > 0) {
      const total = new Set([...(await this.o.repo.members(id)), ...add]).size;
      if (total > this.o.limits.maxMembers) throw new PresenceError('BAD_REQUEST', `body.add: a subscription has at most ${this.o.limits.maxMembers} members (max_query_uris)`);
    }
    await this.o.repo.removeMembers(id, remove);
    this.o.watchers.watch(add);
    const added = await this.o.repo.addMembers(id, add, now);
    let next = s;
    if (p.durationMinutes !== undefined) {
      const expiresAt = now + this.grantMinutes(p.durationMinutes) * 60_000;
      // seed 003: the warning comes again before the new end.
      const warned = expiresAt - now <= this.o.limits.warningSec * 1000 ? s.warned : false;
      await this.o.repo.update(id, { expiresAt, warned, updatedAt: now });
      next = { ...s, expiresAt, warned, updatedAt: now };
    }
    await Promise.all(added.map((m) => this.o.watchers.changed(m)));
    return next;
  }

  async remove(id: string, caller: Caller): Promise<void> {
    await this.changeable(id, caller);
    await this.o.repo.remove(id);
  }

  /**
   * The event channel's read (seed 003 `events?ack=N`): events after `ack` (absent: from the oldest
   * kept). A cursor older than event_window → 410 naming the oldest kept; a cursor past the newest → 400.
   */
  async read(s: WebSubscription, ack: number | undefined, limit = this.o.limits.batchSize): Promise<WebEvent[]> {
    const oldest = (await this.o.repo.oldestSeq(s.id)) ?? s.lastSeq + 1;
    if (ack !== undefined && ack > s.lastSeq) throw new PresenceError('BAD_REQUEST', `ack ${ack} is past the newest event (${s.lastSeq})`);
    if (ack !== undefined && ack + 1 < oldest) {
      throw new PresenceError('GONE', `ack ${ack} is older than the event window (event_window); the oldest event kept is ${oldest}`, { 'Herald-Oldest-Seq': String(oldest) });
    }
    return this.o.repo.after(s.id, Math.max(ack ?? 0, oldest - 1), limit);
  }

  /** Events after `after` without the window checks (a stream already positioned). */
  async after(id: string, after: number): Promise<WebEvent[]> {
    return this.o.repo.after(id, after, this.o.limits.batchSize);
  }

  /** seed 000 `/subscriber`: every watcher of the presentity, SIP and HTTP, with its state. */
  async subscribers(presentity: string): Promise<Subscriber[]> {
    const now = this.o.clock.now();
    const sip = await this.o.store.subscriptions.forPresentity(presentity, 'presence', now);
    const http = await this.o.repo.watchersOf(presentity, now);
    const rules = await this.o.watchers.rulesFor(presentity, http.map((h) => h.subscription));
    return [
      ...sip.map((s): Subscriber => ({ kind: 'sip', id: s.id, watcher: s.watcher, state: s.state, expiresAt: s.expiresAt, appId: null })),
      ...http.map(({ subscription: s }): Subscriber => {
        const d = s.appId !== null ? 'active' : authorize(this.o.forceActive, ruleForWatcher(rules, s.watcher)).state;
        return { kind: 'http', id: s.id, watcher: s.watcher, state: d, expiresAt: s.expiresAt, appId: s.appId };
      }),
    ];
  }

  /** Warn subscriptions ending within subscription_warning, end those whose time has come, prune old events. */
  async sweep(): Promise<{ warned: number; ended: number; pruned: number }> {
    const { warningSec, batchSize, eventWindowSec } = this.o.limits;
    const now = this.o.clock.now();
    const out = { warned: 0, ended: 0, pruned: 0 };
    // seed 003: an "updated" presenceSubscription event "can indicate that the subscription is about to expire".
    for (let i = 0; i < 1000; i++) {
      const ev = await this.o.repo.warnDue(now, now + warningSec * 1000, batchSize);
      this.o.bus.published(ev);
      out.warned += ev.length;
      if (ev.length < batchSize) break;
    }
    for (let i = 0; i < 1000; i++) {
      const ev = await this.o.repo.endDue(now, batchSize);
      this.o.bus.published(ev);
      out.ended += ev.length;
      if (ev.length < batchSize) break;
    }
    out.pruned = await this.o.repo.prune(now - eventWindowSec * 1000, batchSize * 10);
    return out;
  }

  /** Events other nodes wrote for the subscriptions listened to here (one query per poll). */
  async poll(): Promise<void> {
    await this.o.watchers.refresh();
    const ids = this.o.bus.listened();
    if (ids.length > 0) this.o.bus.observe(await this.o.repo.lastSeqs(ids));
  }

  /** Load the watched set first (no per-change query for unwatched presentities from the first request on), then the timers. */
  async start(): Promise<void> {
    await this.o.watchers.refresh();
    this.stopped = false;
    this.every('sweep', this.o.limits.sweepSec * 1000, async () => void (await this.sweep()));
    this.every('poll', this.o.limits.pollMs, () => this.poll());
  }

  async stop(): Promise<void> {
    this.stopped = true;
    for (const t of this.timers.values()) this.o.timers.clearTimeout(t);
    this.timers.clear();
    await Promise.all([...this.running]);
  }

  /** Run `job` every `ms`, the next run scheduled when this one has finished. */
  private every(name: string, ms: number, job: () => Promise<void>): void {
    const t = this.o.timers.setTimeout(() => {
      this.timers.delete(name);
      const run = job().catch((err: unknown) => this.o.onError(err, name)).finally(() => {
        this.running.delete(run);
        if (!this.stopped) this.every(name, ms, job);
      });
      this.running.add(run);
    }, ms);
    t.unref?.();
    this.timers.set(name, t);
  }

  /** Subscriptions a client may change: its own, active, not an app's (those follow the grants). */
  private async changeable(id: string, caller: Caller): Promise<WebSubscription> {
    const s = await this.get(id, caller);
    if (s.appId !== null) throw new PresenceError('FORBIDDEN', `subscription ${id} is app ${s.appId}'s: its members follow the grants`);
    if (s.state === 'ended') throw new PresenceError('GONE', `subscription ${id} has ended`);
    return s;
  }

  private presentities(uris: readonly string[], field: string): string[] {
    if (uris.length > this.o.limits.maxMembers) throw new PresenceError('BAD_REQUEST', `${field} has more than ${this.o.limits.maxMembers} entries (max_query_uris)`);
    return [...new Set(uris.map((u, i) => {
      const aor = canonicalAor(u);
      if (!aor || !aor.includes('@')) throw new PresenceError('BAD_REQUEST', `${field}.${i} is not a sip: URI of a user`);
      return aor;
    }))];
  }

  /** durationMinutes: a whole number, at least 1; more than max_subscription_duration is lowered to it. */
  private grantMinutes(d: number): number {
    if (!Number.isSafeInteger(d) || d < 1) throw new PresenceError('BAD_REQUEST', 'body.durationMinutes must be a whole number of minutes, at least 1');
    return Math.min(d, this.o.limits.maxDurationMin);
  }
}

/**
 * No requests to arbitrary hosts: a webhook URL must be http(s), without credentials, and its
 * origin on webhook_allow_list (an entry without a port allows any port of that host).
 */
export function checkWebhookUrl(raw: string, allow: readonly string[]): string {
  let u: URL;
  try {
    u = new URL(raw);
  } catch {
    throw new PresenceError('BAD_REQUEST', 'body.webhookUrl is not a URL');
  }
  if (u.protocol !== 'http:' && u.protocol !== 'https:') throw new PresenceError('BAD_REQUEST', 'body.webhookUrl must be http or https');
  if (u.username !== '' || u.password !== '') throw new PresenceError('BAD_REQUEST', 'body.webhookUrl must not carry credentials');
  const ok = allow.some((entry) => {
    const a = new URL(entry);
    if (a.protocol !== u.protocol || a.hostname.toLowerCase() !== u.hostname.toLowerCase()) return false;
    return a.port === '' && !/:\d+\/?$/.test(entry) ? true : a.port === u.port;
  });
  if (!ok) throw new PresenceError('BAD_REQUEST', `body.webhookUrl: ${u.origin} is not on webhook_allow_list`);
  return u.toString();
}
