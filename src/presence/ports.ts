/**
 * The ports through which the domain talks to the world. store/ implements the repositories over
 * knex (PostgreSQL or PGlite); notify/ implements the NotificationSink over the SIP core.
 * All reads take `now` so that expiry is decided by the injected clock, not the database's.
 */
import type {
  Publication,
  PresRule,
  Registration,
  Subscription,
  SubscriptionState,
  TerminationReason,
  NewWebEvent,
  WatcherRecord,
  WebApp,
  WebEvent,
  WebSubscription,
} from './model';

export interface PublicationRepository {
  /** Live (expiresAt > now) publications of a presentity for an event, oldest receivedAt first. */
  live(presentity: string, event: string, now: number): Promise<Publication[]>;
  /** The live publication with this entity-tag, if any. */
  byEtag(presentity: string, event: string, etag: string, now: number): Promise<Publication | undefined>;
  /** The live publication of an HTTP client (source http, client = id), if any. */
  byClient(presentity: string, event: string, client: string, now: number): Promise<Publication | undefined>;
  insert(p: Publication): Promise<void>;
  /** Replace the publication with entity-tag `oldEtag` by `next` (new etag, expiry, maybe body). False if gone. */
  replace(presentity: string, event: string, oldEtag: string, next: Publication): Promise<boolean>;
  /**
   * One conditional statement (the hot path of RFC 3903 refresh/modify): the LIVE publication with
   * `oldEtag` gets the patch; returns the updated row, or undefined when none matched (412).
   */
  updateLive(presentity: string, event: string, oldEtag: string, now: number, patch: PublicationPatch): Promise<Publication | undefined>;
  /** One conditional statement: delete the LIVE publication with `etag` and return it, or undefined (412). */
  removeLive(presentity: string, event: string, etag: string, now: number): Promise<Publication | undefined>;
  /** Delete; false if there was no such publication. */
  remove(presentity: string, event: string, etag: string): Promise<boolean>;
  /**
   * Delete up to `limit` publications with expiresAt <= now and return them. Safe on several nodes:
   * each row is returned to exactly one caller (FOR UPDATE SKIP LOCKED on PostgreSQL).
   */
  takeExpired(now: number, limit: number): Promise<Publication[]>;
  /** Distinct presentities with a live publication, sorted, for listings (domain filter optional). */
  presentities(opts: { domain?: string; after?: string; limit: number; now: number }): Promise<string[]>;
}

/** What a refresh (etag, expiresAt) or a modify (also the body and its origin) changes. */
export type PublicationPatch = Pick<Publication, 'etag' | 'expiresAt'> & Partial<Pick<Publication, 'body' | 'contentType' | 'receivedAt' | 'source' | 'client'>>;

export interface SubscriptionRepository {
  insert(s: Subscription): Promise<void>;
  byId(id: string): Promise<Subscription | undefined>;
  /** RFC 3261 §12.2.2: the dialog matched by Call-ID, local (To) tag and remote (From) tag. */
  byDialog(callId: string, localTag: string, remoteTag: string): Promise<Subscription | undefined>;
  /** Non-terminated subscriptions to a presentity's event (the watchers to NOTIFY). */
  forPresentity(presentity: string, event: string, now: number): Promise<Subscription[]>;
  /**
   * The fan-out's read and CSeq bump in one statement (UPDATE … RETURNING): the live, ACTIVE subscriptions
   * to a presentity's event, each with the CSeq of its next NOTIFY already taken (localCseq).
   */
  claimActive(presentity: string, event: string, now: number): Promise<Subscription[]>;
  /** Subscriptions of one watcher device (same contact or +sip.instance) to the same resource. */
  sameDevice(presentity: string, event: string, watcher: string, remoteTarget: string, instance: string | null): Promise<Subscription[]>;
  update(id: string, patch: Partial<Pick<Subscription, 'expiresAt' | 'remoteCseq' | 'state' | 'reason' | 'remoteTarget' | 'via' | 'updatedAt'>>): Promise<void>;
  /** Atomically increment and return the NOTIFY CSeq (UPDATE ... RETURNING); undefined if gone. */
  nextCseq(id: string): Promise<number | undefined>;
  /** nextCseq for many subscriptions in one statement (a fan-out); ids that are gone are absent. */
  nextCseqs(ids: readonly string[]): Promise<Map<string, number>>;
  /** Atomically increment and return the watcherinfo version; undefined if gone. */
  nextVersion(id: string): Promise<number | undefined>;
  remove(id: string): Promise<boolean>;
  /** Delete the subscription and return it as it was (its last CSeq); undefined if it was gone. */
  take(id: string): Promise<Subscription | undefined>;
  /** Delete up to `limit` expired subscriptions and return them (one caller per row). */
  takeExpired(now: number, limit: number): Promise<Subscription[]>;
  /** Subscriptions of `watcher` (an AOR or, without user part, a domain) to a presentity; for rule re-evaluation. */
  forWatcher(presentity: string, watcher: string, now: number): Promise<Subscription[]>;
  /** Number of live subscriptions (metrics). */
  count(now: number): Promise<number>;
  /** Number of non-terminated subscriptions to a presentity's event (the watcher cap, max_watchers). */
  countFor(presentity: string, event: string, now: number): Promise<number>;
}

export interface WatcherRepository {
  /** Insert or update the watcher record keyed by (presentity, event, subscriptionId). */
  upsert(w: WatcherRecord): Promise<void>;
  list(presentity: string, event: string): Promise<WatcherRecord[]>;
  remove(presentity: string, event: string, subscriptionId: string): Promise<void>;
  /** Delete terminated records last updated before `before`; returns how many. */
  prune(before: number, limit: number): Promise<number>;
}

export interface PresRuleRepository {
  /** The rule for this watcher AOR, else for its domain, else undefined. */
  ruleFor(presentity: string, watcher: string): Promise<PresRule | undefined>;
  put(rule: PresRule): Promise<void>;
  remove(presentity: string, watcher: string): Promise<boolean>;
  list(presentity: string): Promise<PresRule[]>;
}

export interface RegistrationRepository {
  /** Insert or replace the binding keyed by (aor, contact). */
  upsert(r: Registration): Promise<void>;
  remove(aor: string, contact: string): Promise<void>;
  removeAll(aor: string): Promise<void>;
  live(aor: string, now: number): Promise<Registration[]>;
  /** Delete expired bindings; returns how many. */
  prune(now: number, limit: number): Promise<number>;
}

export interface Repositories {
  publications: PublicationRepository;
  subscriptions: SubscriptionRepository;
  watchers: WatcherRepository;
  rules: PresRuleRepository;
  registrations: RegistrationRepository;
}

/**
 * The store: repositories outside a transaction, and `transaction()` for changes that must commit
 * together. A reply is sent only after `transaction()` resolves (the change is committed).
 */
export interface Store extends Repositories {
  transaction<T>(work: (tx: Repositories) => Promise<T>): Promise<T>;
  /** True when the database answers. */
  ping(): Promise<boolean>;
  close(): Promise<void>;
}

/** A state change a watcher must hear about. The notifier builds and sends the NOTIFY. */
export interface Notification {
  subscription: Subscription;
  state: SubscriptionState;
  reason?: TerminationReason;
  /**
   * A CSeq already taken: reserved with a new row, bumped by the fan-out's claim, or the stored
   * localCseq + 1 of a row already gone (the sweeper claimed and deleted it). Otherwise the notifier
   * bumps the stored counter atomically.
   */
  cseq?: number;
  /** Body and its type; absent for an empty NOTIFY (pending, terminated, no document). */
  body?: { contentType: string; content: string };
}

export interface NotificationSink {
  /** Send NOTIFYs; resolves when each has been handed to its transaction (not when answered). */
  notify(notifications: Notification[]): Promise<void>;
}

export type { SubscriptionState, TerminationReason };

/** HTTP subscriptions, their members and their event log (issue 9); store/web-subscription-repository.ts. */
export interface WebSubscriptionRepository {
  insert(s: WebSubscription, members: readonly string[]): Promise<void>;
  byId(id: string): Promise<WebSubscription | undefined>;
  members(id: string): Promise<string[]>;
  hasMember(id: string, presentity: string): Promise<boolean>;
  /** Add members (existing ones are kept with their last status); returns those that were new. */
  addMembers(id: string, presentities: readonly string[], now: number): Promise<string[]>;
  /** Presentities watched by live subscriptions (members added at or after `since`; null: all). */
  watchedPresentities(since: number | null, now: number): Promise<string[]>;
  removeMembers(id: string, presentities: readonly string[]): Promise<void>;
  update(id: string, patch: Partial<Pick<WebSubscription, 'expiresAt' | 'warned' | 'updatedAt'>>): Promise<void>;
  remove(id: string): Promise<boolean>;
  /** The hot-path read, one indexed query: live subscriptions watching `presentity`, with the status last told. */
  watchersOf(presentity: string, now: number): Promise<Array<{ subscription: WebSubscription; lastStatus: string | null }>>;
  /**
   * Append events in one transaction: each subscription's seq is bumped under its row lock (so seqs
   * commit in order), presence events also record the member's last status. Returns them numbered.
   */
  append(events: readonly NewWebEvent[]): Promise<WebEvent[]>;
  /** Events with seq > after, oldest first. */
  after(id: string, after: number, limit: number): Promise<WebEvent[]>;
  /** The oldest kept seq (null: none kept). */
  oldestSeq(id: string): Promise<number | null>;
  /** Newest seq of each subscription (ids that are gone are absent): how other nodes' events are noticed. */
  lastSeqs(ids: readonly string[]): Promise<Map<string, number>>;
  /** Claim (once across nodes) active subscriptions ending before `before` and not yet warned; append their `expiring` event. */
  warnDue(now: number, before: number, limit: number): Promise<WebEvent[]>;
  /** Claim active subscriptions whose end has come: state → ended, `ended` event appended. */
  endDue(now: number, limit: number): Promise<WebEvent[]>;
  /** Delete events older than `before` and subscriptions ended before it; returns how many events. */
  prune(before: number, limit: number): Promise<number>;
  /** Subscriptions with a webhook and undelivered events, due now. */
  webhooksDue(now: number, limit: number): Promise<WebSubscription[]>;
  /** Take the webhook lease of a subscription until `until` (false: another sender holds it). */
  leaseWebhook(id: string, now: number, until: number): Promise<boolean>;
  /** Record a delivery (or a drop): the seq reached, failures in a row, next attempt; releases the lease. */
  webhookDone(id: string, seq: number, attempts: number, nextAt: number): Promise<void>;
}

export interface WebAppRepository {
  insert(app: WebApp, subscription: WebSubscription): Promise<void>;
  byId(id: string): Promise<WebApp | undefined>;
  byTokenHash(hash: string): Promise<WebApp | undefined>;
  /** Removes the app and its standing subscription. */
  remove(id: string): Promise<boolean>;
}
