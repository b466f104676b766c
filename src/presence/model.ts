/**
 * The domain's records, named as the RFCs name them. Times are milliseconds since the epoch.
 * A presentity is named by its canonical address-of-record (see aor.ts), e.g. `sip:alice@example.com`.
 */

/** RFC 3903 §2: the event state a publication carries, identified by its entity-tag. */
export interface Publication {
  presentity: string;
  event: string;
  /** RFC 3903 §2: entity-tag, the SIP-ETag the ESC handed out for the current version. */
  etag: string;
  body: string;
  contentType: string;
  /** Where it came from: a SIP PUBLISH or an HTTP write. */
  source: 'sip' | 'http';
  /** HTTP client id (seed 000's per-client register), or the SIP sender's Contact/From URI. */
  client: string | null;
  receivedAt: number;
  expiresAt: number;
}

export type SubscriptionState = 'pending' | 'active' | 'terminated';

/** Reasons of RFC 6665 §4.1.3 (Subscription-State terminated;reason=...). */
export type TerminationReason =
  | 'deactivated'
  | 'probation'
  | 'rejected'
  | 'timeout'
  | 'giveup'
  | 'noresource'
  | 'invariant';

/** Where to send in-dialog requests, as learnt from the transport the SUBSCRIBE arrived on. */
export interface Via {
  transport: 'udp' | 'tcp';
  host: string;
  port: number;
  /** Id of the TCP connection the SUBSCRIBE arrived on (reuse it for NOTIFY while open). */
  connectionId: string | null;
}

/** RFC 6665: a subscription is a dialog between a watcher (subscriber) and the notifier (Herald). */
export interface Subscription {
  id: string;
  presentity: string;
  event: string;
  /** RFC 6665 §8.2.1: the Event header's id parameter, echoed in every NOTIFY. */
  eventId: string | null;
  /** Canonical AOR of the watcher (From). */
  watcher: string;
  watcherDisplayName: string | null;
  callId: string;
  /** The watcher's tag (From tag of the SUBSCRIBE). */
  remoteTag: string;
  /** Herald's tag (To tag of the 2xx): to_tag_pref + random. */
  localTag: string;
  /** URIs of the dialog as the watcher wrote them (From and To header URIs). */
  remoteUri: string;
  localUri: string;
  remoteCseq: number;
  /** CSeq of the last NOTIFY sent; the next one is this + 1 (bumped atomically in the store). */
  localCseq: number;
  /** RFC 3261 §12.1.1: remote target = the Contact URI of the SUBSCRIBE. */
  remoteTarget: string;
  /** RFC 3261 §12.1.1: route set = the Record-Route URIs, in order. */
  routeSet: string[];
  /** The +sip.instance of the watcher's Contact, if any (a device re-subscribing replaces itself). */
  contactInstance: string | null;
  via: Via;
  state: SubscriptionState;
  reason: TerminationReason | null;
  expiresAt: number;
  /** RFC 3858 §4: watcherinfo version, bumped atomically per winfo NOTIFY. */
  version: number;
  /** Herald node that owns the connection (several nodes can share one database). */
  node: string;
  createdAt: number;
  updatedAt: number;
}

/** RFC 3857 §3.1: a watcher's status towards a presentity, kept for watcher-info. */
export type WatcherStatus = 'pending' | 'active' | 'waiting' | 'terminated';

/** RFC 3858 event of the watcher element. */
export type WatcherEvent = 'subscribe' | 'approved' | 'deactivated' | 'probation' | 'rejected' | 'timeout' | 'giveup' | 'noresource';

export interface WatcherRecord {
  presentity: string;
  watcher: string;
  watcherDisplayName: string | null;
  event: string;
  /** Subscription id (the winfo `id` attribute). */
  subscriptionId: string;
  status: WatcherStatus;
  lastEvent: WatcherEvent;
  createdAt: number;
  updatedAt: number;
}

/** RFC 5025 §3.2.1 sub-handling actions, as kept in `pres_rules`. */
export type RuleAction = 'allow' | 'block' | 'polite-block' | 'confirm';

export interface PresRule {
  presentity: string;
  /** A watcher AOR (`sip:bob@example.com`) or a whole domain (`example.com`). */
  watcher: string;
  action: RuleAction;
  updatedAt: number;
}

/** A REGISTER binding (registrar-lite). */
export interface Registration {
  aor: string;
  contact: string;
  instance: string | null;
  callId: string;
  cseq: number;
  via: Via;
  expiresAt: number;
}

// ---- HTTP watchers (issue 9) ----

/** What a web watcher sees of a presentity: the status GET /v1/presence shows (bodies/rpid.ts). */
export type WebStatus = 'online' | 'busy' | 'away' | 'offline';

/**
 * An HTTP subscription (seed 003 presenceSubscription): a watcher of several presentities for a
 * duration, or an app's standing subscription over the users who granted it (expiresAt null).
 */
export interface WebSubscription {
  id: string;
  /** Who made it: `token:…`, `key:…` or `app:…` (see http/auth.ts Grant.id). */
  owner: string;
  /** The watcher identity pres_rules apply to. */
  watcher: string;
  /** Set on an app's standing subscription. */
  appId: string | null;
  /** HMAC-SHA256 key of its webhook signatures. */
  secret: string;
  webhookUrl: string | null;
  /** `batch`: seed 002's `[[uri, status], …]`; `envelope`: `{subscriptionId, events}`. */
  webhookFormat: 'batch' | 'envelope';
  state: 'active' | 'ended';
  expiresAt: number | null;
  warned: boolean;
  /** Seq of the newest event. */
  lastSeq: number;
  /** Webhook delivery state: last delivered seq, failures in a row, earliest next attempt. */
  webhookSeq: number;
  webhookAttempts: number;
  webhookNextAt: number;
  createdAt: number;
  updatedAt: number;
}

/** seed 003: presence changes ("updated" contactPresence), the warning before the end, the end. */
export type WebEventType = 'presence' | 'expiring' | 'ended';

export interface WebEvent {
  subscriptionId: string;
  seq: number;
  type: WebEventType;
  /** The presentity, for presence events. */
  uri: string | null;
  status: WebStatus | null;
  at: number;
}

/** An event to append; the repository numbers it. */
export type NewWebEvent = Omit<WebEvent, 'seq'>;

/** An app (seed 002): its token is stored as a hash; its standing subscription holds the grants. */
export interface WebApp {
  id: string;
  name: string;
  tokenHash: string;
  subscriptionId: string;
  createdAt: number;
}
