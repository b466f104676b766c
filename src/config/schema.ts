/**
 * Every operator parameter, declared once: its classic name (as in the presence module READMEs and
 * seed 001), the key Herald's code uses (unit in the name), type, default, bounds and a one-line doc.
 * config/default.json and config/README.md are kept equal to this table by a test.
 */
export type ParamType = 'int' | 'bool' | 'string' | 'enum' | 'listen' | 'json' | 'list';

export interface ParamSpec {
  /** Name in the config file and, upper-cased with HERALD_, in the environment. */
  name: string;
  key: keyof ConfigShape;
  type: ParamType;
  default: unknown;
  unit?: 'minutes' | 'seconds' | 'milliseconds' | 'bytes' | 'count' | 'per second';
  min?: number;
  max?: number;
  values?: readonly (string | number)[];
  /** Shown as [redacted] by the admin API and in logs. */
  secret?: boolean;
  doc: string;
}

export interface ListenAddress {
  transport: 'udp' | 'tcp';
  host: string;
  port: number;
}

export interface ApiToken {
  token: string;
  scopes: string[];
  domains?: string[];
  /** The user (AOR) the token belongs to: it may grant apps access to that user's presence and watches as that user. */
  user?: string;
}

export interface ConfigShape {
  dbUrl: string;
  cleanPeriodSec: number;
  selfVacuum: 'auto' | 'on' | 'off';
  vacuumPeriodSec: number;
  cleanCron: string;
  toTagPref: string;
  totagAvpid: number;
  lockSetSize: number;
  expiresOffsetSec: number;
  forceActive: boolean;
  maxExpiresSec: number;
  minExpiresSec: number;
  defaultExpiresSec: number;
  serverAddress: string;
  sipListen: ListenAddress[];
  httpListen: string;
  udpRecvBufferBytes: number;
  maxMessageSizeBytes: number;
  maxBodySizeBytes: number;
  logLevel: string;
  subscribeReplyCode: number;
  registrar: boolean;
  sweepBatchSize: number;
  watcherRetentionSec: number;
  notifyMaxFailures: number;
  tcpIdleTimeoutSec: number;
  sipT1Ms: number;
  sipT2Ms: number;
  nodeId: string;
  apiTokens: ApiToken[];
  defaultTtlSec: number;
  maxQueryUris: number;
  maxPageSize: number;
  httpBodyLimitBytes: number;
  groupCommitMaxBatch: number;
  groupCommitInFlight: number;
  maxInFlight: number;
  maxQueueDelayMs: number;
  drainTimeoutSec: number;
  outageRetryIntervalMs: number;
  outageMaxDirty: number;
  sourceRateLimitPerSec: number;
  sourceRateBurst: number;
  sourceRateMaxSources: number;
  sourceRateExempt: string[];
  maxWatchers: number;
  maxWatchersRetryAfterSec: number;
  httpMaxInFlight: number;
  httpRequestTimeoutMs: number;
  httpHeadersTimeoutMs: number;
  httpConnectionsCheckIntervalMs: number;
  httpMaxHeaderBytes: number;
  maxSubscriptionDurationMin: number;
  subscriptionWarningSec: number;
  subscriptionSweepSec: number;
  eventWindowSec: number;
  eventBatchSize: number;
  longPollTimeoutSec: number;
  sseHeartbeatSec: number;
  webEventPollMs: number;
  webhookAllowList: string[];
  webhookTimeoutMs: number;
  webhookRetryBaseMs: number;
  webhookMaxAgeSec: number;
}

export type Config = Readonly<ConfigShape>;

const DAY = 86_400;

export const PARAMS: readonly ParamSpec[] = [
  { name: 'db_url', key: 'dbUrl', type: 'string', default: './data', secret: true,
    doc: 'Database: a postgres:// URL, a PGlite data directory, or memory:// for a throw-away embedded database.' },
  { name: 'clean_period', key: 'cleanPeriodSec', type: 'int', default: 60, unit: 'seconds', min: 1, max: DAY,
    doc: 'Period of the sweeper that expires publications, subscriptions and registrations and tells the watchers.' },
  { name: 'clean_cron', key: 'cleanCron', type: 'string', default: '',
    doc: 'Optional cron expression for the sweeper instead of clean_period (empty: use clean_period).' },
  { name: 'self_vacuum', key: 'selfVacuum', type: 'enum', default: 'auto', values: ['auto', 'on', 'off'],
    doc: 'Herald VACUUMs (and ANALYZEs) its own tables whose dead rows exceed 50 + 20 % of the live ones, every vacuum_period. auto: only when the database has no working autovacuum (PGlite always; PostgreSQL with autovacuum = off); on: always; off: never.' },
  { name: 'vacuum_period', key: 'vacuumPeriodSec', type: 'int', default: 60, unit: 'seconds', min: 1, max: DAY,
    doc: 'How often self_vacuum looks at the tables.' },
  { name: 'to_tag_pref', key: 'toTagPref', type: 'string', default: '10',
    doc: 'Prefix of the To-tag Herald generates when it answers a new SUBSCRIBE.' },
  { name: 'totag_avpid', key: 'totagAvpid', type: 'int', default: 0, min: 0, max: 2 ** 31 - 1,
    doc: 'Accepted for compatibility with the classic module (an AVP id); it has no meaning in Herald.' },
  { name: 'lock_set_size', key: 'lockSetSize', type: 'int', default: 8, min: 1, max: 16,
    doc: 'Requests of one presentity run one at a time across 2^lock_set_size lock stripes.' },
  { name: 'expires_offset', key: 'expiresOffsetSec', type: 'int', default: 0, unit: 'seconds', min: 0, max: DAY,
    doc: 'Subtracted from the Expires of a 200 to PUBLISH so that the client refreshes before the record expires.' },
  { name: 'force_active', key: 'forceActive', type: 'bool', default: true,
    doc: 'When on, every watcher is active; when off, pres_rules decides (no rule: pending).' },
  { name: 'max_expires', key: 'maxExpiresSec', type: 'int', default: 3600, unit: 'seconds', min: 1, max: 30 * DAY,
    doc: 'A PUBLISH or SUBSCRIBE asking for more is granted this much.' },
  { name: 'min_expires', key: 'minExpiresSec', type: 'int', default: 5, unit: 'seconds', min: 0, max: DAY,
    doc: 'A non-zero Expires below this is answered 423 Interval Too Brief with Min-Expires (0: no minimum).' },
  { name: 'default_expires', key: 'defaultExpiresSec', type: 'int', default: 3600, unit: 'seconds', min: 1, max: 30 * DAY,
    doc: 'Expires granted when a PUBLISH or SUBSCRIBE carries none (RFC 3856 §6.4: 3600 for presence).' },
  { name: 'server_address', key: 'serverAddress', type: 'string', default: '',
    doc: 'SIP URI Herald puts in Contact of SUBSCRIBE replies and NOTIFYs (empty: derived from the listen address).' },
  { name: 'sip_listen', key: 'sipListen', type: 'listen', default: 'udp:0.0.0.0:5060,tcp:0.0.0.0:5060',
    doc: 'SIP listeners, a comma list of transport:host:port (udp, tcp; IPv6 hosts in brackets; port 0 = any).' },
  { name: 'http_listen', key: 'httpListen', type: 'string', default: '127.0.0.1:8080',
    doc: 'HTTP API listener host:port (empty: no HTTP server).' },
  { name: 'udp_recv_buffer', key: 'udpRecvBufferBytes', type: 'int', default: 4 * 1024 * 1024, unit: 'bytes', min: 65_536, max: 256 * 1024 * 1024,
    doc: 'Receive buffer of the UDP sockets (the default Linux buffer drops requests at high rates).' },
  { name: 'max_message_size', key: 'maxMessageSizeBytes', type: 'int', default: 65_535, unit: 'bytes', min: 1024, max: 16 * 1024 * 1024,
    doc: 'Largest SIP message accepted; larger ones are answered 513 Message Too Large.' },
  { name: 'max_body_size', key: 'maxBodySizeBytes', type: 'int', default: 65_536, unit: 'bytes', min: 1024, max: 16 * 1024 * 1024,
    doc: 'Largest presence document accepted (PUBLISH body or HTTP body); larger: 413.' },
  { name: 'log_level', key: 'logLevel', type: 'enum', default: 'info', values: ['fatal', 'error', 'warn', 'info', 'debug', 'trace', 'silent'],
    doc: 'Log level of the pino logger.' },
  { name: 'subscribe_reply_code', key: 'subscribeReplyCode', type: 'int', default: 200, values: [200, 202],
    doc: '200 (RFC 6665) answers every new SUBSCRIBE 200; 202 restores seed 001: 202 for presence, 200 for presence.winfo.' },
  { name: 'registrar', key: 'registrar', type: 'bool', default: true,
    doc: 'Answer REGISTER with a built-in registrar (off: 405, for deployments with a proxy in front).' },
  { name: 'sweep_batch_size', key: 'sweepBatchSize', type: 'int', default: 500, unit: 'count', min: 1, max: 100_000,
    doc: 'Rows the sweeper handles per batch and transaction.' },
  { name: 'watcher_retention', key: 'watcherRetentionSec', type: 'int', default: DAY, unit: 'seconds', min: 0, max: 365 * DAY,
    doc: 'Terminated watcher records are kept this long for watcher-info, then pruned.' },
  { name: 'notify_max_failures', key: 'notifyMaxFailures', type: 'int', default: 3, unit: 'count', min: 1, max: 100,
    doc: 'Consecutive 5xx answers to NOTIFY after which a subscription is removed (481 and 408 remove at once).' },
  { name: 'tcp_idle_timeout', key: 'tcpIdleTimeoutSec', type: 'int', default: 600, unit: 'seconds', min: 1, max: DAY,
    doc: 'An idle SIP TCP connection is closed after this long.' },
  { name: 'sip_t1', key: 'sipT1Ms', type: 'int', default: 500, unit: 'milliseconds', min: 10, max: 10_000,
    doc: 'RFC 3261 T1, the round-trip estimate: NOTIFY retransmissions over UDP start at T1.' },
  { name: 'sip_t2', key: 'sipT2Ms', type: 'int', default: 4000, unit: 'milliseconds', min: 100, max: 60_000,
    doc: 'RFC 3261 T2, the longest interval between NOTIFY retransmissions.' },
  { name: 'node_id', key: 'nodeId', type: 'string', default: '',
    doc: 'Name of this Herald node among several sharing a database (empty: hostname and process id).' },
  { name: 'api_tokens', key: 'apiTokens', type: 'json', default: [], secret: true,
    doc: 'HTTP API bearer tokens: a JSON list of {token, scopes, domains?, user?}; scopes are presence:read, presence:write, subscriptions and admin, domains (optional) limits the token to those domains, user (optional, sip:user@domain) is whose token it is (it grants apps access to that user and watches as that user). Keys made through /admin/api-keys work too; with neither, the API answers 401 (health and metrics stay open).' },
  { name: 'default_ttl', key: 'defaultTtlSec', type: 'int', default: 300, unit: 'seconds', min: 1, max: 30 * DAY,
    doc: 'Lifetime of an HTTP presence write that gives no ttlSeconds (bounded by max_expires).' },
  { name: 'max_query_uris', key: 'maxQueryUris', type: 'int', default: 100, unit: 'count', min: 1, max: 10_000,
    doc: 'Most presentities one HTTP read names (POST /v1/presence/query uris, repeated ?user=); more: 400.' },
  { name: 'max_page_size', key: 'maxPageSize', type: 'int', default: 1000, unit: 'count', min: 1, max: 100_000,
    doc: 'Most records one HTTP listing returns (a domain listing without Range answers 206 beyond it; admin pages).' },
  { name: 'http_body_limit', key: 'httpBodyLimitBytes', type: 'int', default: 16_384, unit: 'bytes', min: 1024, max: 16 * 1024 * 1024,
    doc: 'Largest HTTP request body accepted; larger: 413.' },
  { name: 'group_commit_max_batch', key: 'groupCommitMaxBatch', type: 'int', default: 200, unit: 'count', min: 1, max: 10_000,
    doc: 'Most PUBLISH/SUBSCRIBE changes committed together in one database transaction (1: a transaction each).' },
  { name: 'group_commit_in_flight', key: 'groupCommitInFlight', type: 'int', default: 4, unit: 'count', min: 1, max: 64,
    doc: 'Group-commit transactions open at once on PostgreSQL (PGlite has one connection: always 1).' },
  { name: 'max_in_flight', key: 'maxInFlight', type: 'int', default: 5000, unit: 'count', min: 1, max: 1_000_000,
    doc: 'SIP requests handled at once; beyond it new requests are answered 503 with Retry-After instead of queueing.' },
  { name: 'max_queue_delay', key: 'maxQueueDelayMs', type: 'int', default: 2000, unit: 'milliseconds', min: 0, max: 600_000,
    doc: 'When every SIP request handled for 100 ms took longer than this, new requests are answered 503 with Retry-After until one is handled within it again (a bound on the wait, not only the count). 0: off.' },
  { name: 'drain_timeout', key: 'drainTimeoutSec', type: 'int', default: 3, unit: 'seconds', min: 0, max: 60,
    doc: 'On SIGTERM, how long Herald finishes requests and NOTIFYs in flight before it closes its sockets.' },
  { name: 'outage_retry_interval', key: 'outageRetryIntervalMs', type: 'int', default: 1000, unit: 'milliseconds', min: 50, max: 60_000,
    doc: 'After a database outage, how often Herald pings the database to send the NOTIFYs the outage held back (re-read from the database).' },
  { name: 'outage_max_dirty', key: 'outageMaxDirty', type: 'int', default: 100_000, unit: 'count', min: 1, max: 10_000_000,
    doc: 'Most presentities remembered as not yet told during an outage (memory bound); beyond it their watchers learn at their next refresh.' },
  { name: 'source_rate_limit', key: 'sourceRateLimitPerSec', type: 'int', default: 0, unit: 'per second', min: 0, max: 1_000_000,
    doc: 'PUBLISH and SUBSCRIBE requests per second one source IP may send (token bucket); beyond it 503 with Retry-After. 0: no limit (the default, because a proxy in front sends everything from one address).' },
  { name: 'source_rate_burst', key: 'sourceRateBurst', type: 'int', default: 50, unit: 'count', min: 1, max: 1_000_000,
    doc: 'Requests a source may send at once after being idle (the token bucket size of source_rate_limit).' },
  { name: 'source_rate_max_sources', key: 'sourceRateMaxSources', type: 'int', default: 100_000, unit: 'count', min: 1, max: 10_000_000,
    doc: 'Most source addresses source_rate_limit remembers at once (memory bound); the least recently seen is forgotten first.' },
  { name: 'source_rate_exempt', key: 'sourceRateExempt', type: 'list', default: [],
    doc: 'Source IP addresses source_rate_limit never limits (e.g. the proxy in front of Herald). Loopback is limited unless listed.' },
  { name: 'max_watchers', key: 'maxWatchers', type: 'int', default: 10_000, unit: 'count', min: 0, max: 10_000_000,
    doc: 'Most live subscriptions to one presentity (per event package); a new SUBSCRIBE beyond it is answered 480 Too Many Watchers with Retry-After. 0: no cap.' },
  { name: 'max_watchers_retry_after', key: 'maxWatchersRetryAfterSec', type: 'int', default: 300, unit: 'seconds', min: 1, max: DAY,
    doc: 'Retry-After of the 480 answered beyond max_watchers.' },
  { name: 'http_max_in_flight', key: 'httpMaxInFlight', type: 'int', default: 1000, unit: 'count', min: 1, max: 1_000_000,
    doc: 'HTTP requests handled at once; beyond it new requests are answered 503 with Retry-After (health checks included, /healthz excepted).' },
  { name: 'http_request_timeout', key: 'httpRequestTimeoutMs', type: 'int', default: 30_000, unit: 'milliseconds', min: 100, max: 600_000,
    doc: 'An HTTP request (headers and body) must arrive within this long, else its connection is closed (slow clients).' },
  { name: 'http_headers_timeout', key: 'httpHeadersTimeoutMs', type: 'int', default: 10_000, unit: 'milliseconds', min: 100, max: 600_000,
    doc: 'The headers of an HTTP request must arrive within this long, else its connection is closed (slowloris).' },
  { name: 'http_connections_check_interval', key: 'httpConnectionsCheckIntervalMs', type: 'int', default: 1000, unit: 'milliseconds', min: 10, max: 60_000,
    doc: 'How often the HTTP server looks for requests past http_headers_timeout or http_request_timeout.' },
  { name: 'http_max_header_size', key: 'httpMaxHeaderBytes', type: 'int', default: 16_384, unit: 'bytes', min: 1024, max: 1024 * 1024,
    doc: 'Largest HTTP header section accepted; larger: 431.' },
  { name: 'max_subscription_duration', key: 'maxSubscriptionDurationMin', type: 'int', default: 60, unit: 'minutes', min: 1, max: 7 * 24 * 60,
    doc: 'Longest HTTP subscription (POST /v1/subscriptions durationMinutes, or a PATCH extending it); a longer one is granted this much.' },
  { name: 'subscription_warning', key: 'subscriptionWarningSec', type: 'int', default: 60, unit: 'seconds', min: 1, max: DAY,
    doc: 'An HTTP subscription gets an "expiring" event this long before it ends (seed 003), then "ended" when it does.' },
  { name: 'subscription_sweep', key: 'subscriptionSweepSec', type: 'int', default: 5, unit: 'seconds', min: 1, max: 3600,
    doc: 'Period of the check that warns and ends expiring HTTP subscriptions and prunes old events.' },
  { name: 'event_window', key: 'eventWindowSec', type: 'int', default: 3600, unit: 'seconds', min: 10, max: 7 * DAY,
    doc: 'Events of an HTTP subscription are kept this long: a client resuming with an older cursor gets 410 naming the oldest kept.' },
  { name: 'event_batch_size', key: 'eventBatchSize', type: 'int', default: 100, unit: 'count', min: 1, max: 10_000,
    doc: 'Most events in one event-channel answer, one stream read or one webhook POST.' },
  { name: 'long_poll_timeout', key: 'longPollTimeoutSec', type: 'int', default: 30, unit: 'seconds', min: 1, max: 300,
    doc: 'How long GET /v1/subscriptions/{id}/events holds a request without events before answering an empty batch.' },
  { name: 'sse_heartbeat', key: 'sseHeartbeatSec', type: 'int', default: 15, unit: 'seconds', min: 1, max: 300,
    doc: 'An idle event stream (SSE or ndjson) gets a heartbeat this often so proxies keep it open.' },
  { name: 'web_event_poll', key: 'webEventPollMs', type: 'int', default: 1000, unit: 'milliseconds', min: 50, max: 60_000,
    doc: 'How often a node looks in the database for events written by other nodes (held requests, streams, webhooks due for retry).' },
  { name: 'webhook_allow_list', key: 'webhookAllowList', type: 'list', default: [],
    doc: 'Where webhooks may go: origins scheme://host (any port) or scheme://host:port, a comma list or JSON list; a webhookUrl elsewhere is refused with 400 (empty: no webhooks).' },
  { name: 'webhook_timeout', key: 'webhookTimeoutMs', type: 'int', default: 5000, unit: 'milliseconds', min: 100, max: 60_000,
    doc: 'A webhook POST not answered within this is a failure and is retried.' },
  { name: 'webhook_retry_base', key: 'webhookRetryBaseMs', type: 'int', default: 1000, unit: 'milliseconds', min: 10, max: 600_000,
    doc: 'First retry delay of a failed webhook POST; it doubles on each failure, up to 5 minutes.' },
  { name: 'webhook_max_age', key: 'webhookMaxAgeSec', type: 'int', default: 3600, unit: 'seconds', min: 1, max: 7 * DAY,
    doc: 'Webhook events older than this are dropped instead of retried (the event channel still has them within event_window).' },
];

export function envName(param: ParamSpec): string {
  return `HERALD_${param.name.toUpperCase()}`;
}
