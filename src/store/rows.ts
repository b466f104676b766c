/**
 * The ONLY runtime file that names tables and columns (DESIGN.md, Layout: "rows.ts (the only file
 * that names columns)"). Repositories speak in these constants; mappers turn rows into the domain's
 * records and back. Migrations write literal names on purpose: a migration is a frozen snapshot of
 * the schema at one point in history and must not move when these constants do.
 *
 * Normalisation (measured, see db.ts): node-postgres returns bigint/count as strings, PGlite as
 * numbers; every such value goes through `toNumber` here, so both backends yield the same records.
 */
import type { PublicationPatch } from '../presence/ports';
import type { ApiKey, Scope } from '../presence/api-keys';
import type {
  Publication,
  PresRule,
  Registration,
  RuleAction,
  Subscription,
  SubscriptionState,
  TerminationReason,
  Via,
  WatcherEvent,
  WatcherRecord,
  WatcherStatus,
  WebApp,
  WebEvent,
  WebStatus,
  WebSubscription,
} from '../presence/model';

/** A row as a driver hands it back: column name → value of unknown shape. */
export type Row = Record<string, unknown>;

/** Table names, in the spirit of the classic presence module (DESIGN.md, Storage). */
export const T = {
  publications: 'presentity',
  subscriptions: 'active_watchers',
  watchers: 'watchers',
  rules: 'pres_rules',
  registrations: 'registrations',
  apiKeys: 'api_keys',
  webSubscriptions: 'web_subscriptions',
  webMembers: 'web_subscription_members',
  webEvents: 'web_events',
  apps: 'apps',
} as const;

/** Every Herald table (for maintenance and tests: truncate, drop checks). */
export const ALL_TABLES: readonly string[] = Object.values(T);

/** PostgreSQL's physical row id: the key of takeExpired on tables without a surrogate key. */
export const CTID = 'ctid';

export const PUB = {
  presentity: 'presentity',
  event: 'event',
  etag: 'etag',
  body: 'body',
  contentType: 'content_type',
  source: 'source',
  client: 'client',
  receivedAt: 'received_at',
  expiresAt: 'expires_at',
} as const;

export const SUB = {
  id: 'id',
  presentity: 'presentity',
  event: 'event',
  eventId: 'event_id',
  watcher: 'watcher',
  watcherDisplayName: 'watcher_display_name',
  callId: 'call_id',
  remoteTag: 'remote_tag',
  localTag: 'local_tag',
  remoteUri: 'remote_uri',
  localUri: 'local_uri',
  remoteCseq: 'remote_cseq',
  localCseq: 'local_cseq',
  remoteTarget: 'remote_target',
  routeSet: 'route_set',
  contactInstance: 'contact_instance',
  viaTransport: 'via_transport',
  viaHost: 'via_host',
  viaPort: 'via_port',
  viaConnectionId: 'via_connection_id',
  state: 'state',
  reason: 'reason',
  expiresAt: 'expires_at',
  version: 'version',
  node: 'node',
  createdAt: 'created_at',
  updatedAt: 'updated_at',
} as const;

export const WAT = {
  presentity: 'presentity',
  watcher: 'watcher',
  watcherDisplayName: 'watcher_display_name',
  event: 'event',
  subscriptionId: 'subscription_id',
  status: 'status',
  lastEvent: 'last_event',
  createdAt: 'created_at',
  updatedAt: 'updated_at',
} as const;

export const RULE = {
  presentity: 'presentity',
  watcher: 'watcher',
  action: 'action',
  updatedAt: 'updated_at',
} as const;

export const REG = {
  aor: 'aor',
  contact: 'contact',
  instance: 'instance',
  callId: 'call_id',
  cseq: 'cseq',
  viaTransport: 'via_transport',
  viaHost: 'via_host',
  viaPort: 'via_port',
  viaConnectionId: 'via_connection_id',
  expiresAt: 'expires_at',
} as const;

/** Element type of each column, for statements that pass a column's values as one typed array (batch-sql.ts). */
export type ColumnType = 'text' | 'bigint' | 'integer' | 'boolean' | 'jsonb';

export const PUB_TYPES: ReadonlyArray<readonly [string, ColumnType]> = [
  [PUB.presentity, 'text'], [PUB.event, 'text'], [PUB.etag, 'text'], [PUB.body, 'text'], [PUB.contentType, 'text'],
  [PUB.source, 'text'], [PUB.client, 'text'], [PUB.receivedAt, 'bigint'], [PUB.expiresAt, 'bigint'],
];

export const SUB_TYPES: ReadonlyArray<readonly [string, ColumnType]> = [
  [SUB.id, 'text'], [SUB.presentity, 'text'], [SUB.event, 'text'], [SUB.eventId, 'text'], [SUB.watcher, 'text'],
  [SUB.watcherDisplayName, 'text'], [SUB.callId, 'text'], [SUB.remoteTag, 'text'], [SUB.localTag, 'text'],
  [SUB.remoteUri, 'text'], [SUB.localUri, 'text'], [SUB.remoteCseq, 'bigint'], [SUB.localCseq, 'bigint'],
  [SUB.remoteTarget, 'text'], [SUB.routeSet, 'jsonb'], [SUB.contactInstance, 'text'], [SUB.viaTransport, 'text'],
  [SUB.viaHost, 'text'], [SUB.viaPort, 'integer'], [SUB.viaConnectionId, 'text'], [SUB.state, 'text'], [SUB.reason, 'text'],
  [SUB.expiresAt, 'bigint'], [SUB.version, 'integer'], [SUB.node, 'text'], [SUB.createdAt, 'bigint'], [SUB.updatedAt, 'bigint'],
];

export const WAT_TYPES: ReadonlyArray<readonly [string, ColumnType]> = [
  [WAT.presentity, 'text'], [WAT.watcher, 'text'], [WAT.watcherDisplayName, 'text'], [WAT.event, 'text'],
  [WAT.subscriptionId, 'text'], [WAT.status, 'text'], [WAT.lastEvent, 'text'], [WAT.createdAt, 'bigint'], [WAT.updatedAt, 'bigint'],
];

/** A bigint/integer/count as a number, whichever driver produced it (string, number or bigint). */
export function toNumber(v: unknown): number {
  const n = typeof v === 'number' ? v : typeof v === 'string' || typeof v === 'bigint' ? Number(v) : NaN;
  if (!Number.isFinite(n)) throw new Error(`store: expected a number, got ${String(v)}`);
  return n;
}

function str(r: Row, col: string): string {
  const v = r[col];
  if (typeof v !== 'string') throw new Error(`store: column ${col} is not text (${String(v)})`);
  return v;
}

function strOrNull(r: Row, col: string): string | null {
  const v = r[col];
  return v === null || v === undefined ? null : str(r, col);
}

function num(r: Row, col: string): number {
  return toNumber(r[col]);
}

/** jsonb comes back parsed from both drivers; tolerate a JSON string for safety. */
function stringArray(v: unknown): string[] {
  const a: unknown = typeof v === 'string' ? JSON.parse(v) : v;
  if (!Array.isArray(a)) throw new Error('store: route_set is not a JSON array');
  return a.map((x) => String(x));
}

/** Count of a `count(*) as n` query, or of rows returned by a DELETE … RETURNING. */
export function countOf(rows: readonly Row[], col = 'n'): number {
  const first = rows[0];
  return first === undefined ? 0 : toNumber(first[col]);
}

// ---- publications (table presentity) ----

export function publicationToRow(p: Publication): Row {
  return {
    [PUB.presentity]: p.presentity,
    [PUB.event]: p.event,
    [PUB.etag]: p.etag,
    [PUB.body]: p.body,
    [PUB.contentType]: p.contentType,
    [PUB.source]: p.source,
    [PUB.client]: p.client,
    [PUB.receivedAt]: p.receivedAt,
    [PUB.expiresAt]: p.expiresAt,
  };
}

/** The columns a PublicationPatch sets (only the fields it has). */
export function publicationPatchToRow(p: PublicationPatch): Row {
  const row: Row = { [PUB.etag]: p.etag, [PUB.expiresAt]: p.expiresAt };
  if (p.body !== undefined) row[PUB.body] = p.body;
  if (p.contentType !== undefined) row[PUB.contentType] = p.contentType;
  if (p.receivedAt !== undefined) row[PUB.receivedAt] = p.receivedAt;
  if (p.source !== undefined) row[PUB.source] = p.source;
  if (p.client !== undefined) row[PUB.client] = p.client;
  return row;
}

export function publicationFromRow(r: Row): Publication {
  return {
    presentity: str(r, PUB.presentity),
    event: str(r, PUB.event),
    etag: str(r, PUB.etag),
    body: str(r, PUB.body),
    contentType: str(r, PUB.contentType),
    source: str(r, PUB.source) as Publication['source'],
    client: strOrNull(r, PUB.client),
    receivedAt: num(r, PUB.receivedAt),
    expiresAt: num(r, PUB.expiresAt),
  };
}

// ---- subscriptions (table active_watchers) ----

function viaToRow(via: Via, c: { viaTransport: string; viaHost: string; viaPort: string; viaConnectionId: string }): Row {
  return { [c.viaTransport]: via.transport, [c.viaHost]: via.host, [c.viaPort]: via.port, [c.viaConnectionId]: via.connectionId };
}

function viaFromRow(r: Row, c: { viaTransport: string; viaHost: string; viaPort: string; viaConnectionId: string }): Via {
  return {
    transport: str(r, c.viaTransport) as Via['transport'],
    host: str(r, c.viaHost),
    port: num(r, c.viaPort),
    connectionId: strOrNull(r, c.viaConnectionId),
  };
}

export function subscriptionToRow(s: Subscription): Row {
  return {
    [SUB.id]: s.id,
    [SUB.presentity]: s.presentity,
    [SUB.event]: s.event,
    [SUB.eventId]: s.eventId,
    [SUB.watcher]: s.watcher,
    [SUB.watcherDisplayName]: s.watcherDisplayName,
    [SUB.callId]: s.callId,
    [SUB.remoteTag]: s.remoteTag,
    [SUB.localTag]: s.localTag,
    [SUB.remoteUri]: s.remoteUri,
    [SUB.localUri]: s.localUri,
    [SUB.remoteCseq]: s.remoteCseq,
    [SUB.localCseq]: s.localCseq,
    [SUB.remoteTarget]: s.remoteTarget,
    // node-postgres would send a JS array as a PostgreSQL array literal; jsonb wants JSON text.
    [SUB.routeSet]: JSON.stringify(s.routeSet),
    [SUB.contactInstance]: s.contactInstance,
    ...viaToRow(s.via, SUB),
    [SUB.state]: s.state,
    [SUB.reason]: s.reason,
    [SUB.expiresAt]: s.expiresAt,
    [SUB.version]: s.version,
    [SUB.node]: s.node,
    [SUB.createdAt]: s.createdAt,
    [SUB.updatedAt]: s.updatedAt,
  };
}

export function subscriptionFromRow(r: Row): Subscription {
  return {
    id: str(r, SUB.id),
    presentity: str(r, SUB.presentity),
    event: str(r, SUB.event),
    eventId: strOrNull(r, SUB.eventId),
    watcher: str(r, SUB.watcher),
    watcherDisplayName: strOrNull(r, SUB.watcherDisplayName),
    callId: str(r, SUB.callId),
    remoteTag: str(r, SUB.remoteTag),
    localTag: str(r, SUB.localTag),
    remoteUri: str(r, SUB.remoteUri),
    localUri: str(r, SUB.localUri),
    remoteCseq: num(r, SUB.remoteCseq),
    localCseq: num(r, SUB.localCseq),
    remoteTarget: str(r, SUB.remoteTarget),
    routeSet: stringArray(r[SUB.routeSet]),
    contactInstance: strOrNull(r, SUB.contactInstance),
    via: viaFromRow(r, SUB),
    state: str(r, SUB.state) as SubscriptionState,
    reason: strOrNull(r, SUB.reason) as TerminationReason | null,
    expiresAt: num(r, SUB.expiresAt),
    version: num(r, SUB.version),
    node: str(r, SUB.node),
    createdAt: num(r, SUB.createdAt),
    updatedAt: num(r, SUB.updatedAt),
  };
}

export type SubscriptionPatch = Partial<
  Pick<Subscription, 'expiresAt' | 'remoteCseq' | 'state' | 'reason' | 'remoteTarget' | 'via' | 'updatedAt'>
>;

/** The columns a SubscriptionRepository.update patch touches (only the keys present). */
export function subscriptionPatchToRow(p: SubscriptionPatch): Row {
  const row: Row = {};
  if (p.expiresAt !== undefined) row[SUB.expiresAt] = p.expiresAt;
  if (p.remoteCseq !== undefined) row[SUB.remoteCseq] = p.remoteCseq;
  if (p.state !== undefined) row[SUB.state] = p.state;
  if (p.reason !== undefined) row[SUB.reason] = p.reason;
  if (p.remoteTarget !== undefined) row[SUB.remoteTarget] = p.remoteTarget;
  if (p.via !== undefined) Object.assign(row, viaToRow(p.via, SUB));
  if (p.updatedAt !== undefined) row[SUB.updatedAt] = p.updatedAt;
  return row;
}

// ---- watchers ----

export function watcherToRow(w: WatcherRecord): Row {
  return {
    [WAT.presentity]: w.presentity,
    [WAT.watcher]: w.watcher,
    [WAT.watcherDisplayName]: w.watcherDisplayName,
    [WAT.event]: w.event,
    [WAT.subscriptionId]: w.subscriptionId,
    [WAT.status]: w.status,
    [WAT.lastEvent]: w.lastEvent,
    [WAT.createdAt]: w.createdAt,
    [WAT.updatedAt]: w.updatedAt,
  };
}

export function watcherFromRow(r: Row): WatcherRecord {
  return {
    presentity: str(r, WAT.presentity),
    watcher: str(r, WAT.watcher),
    watcherDisplayName: strOrNull(r, WAT.watcherDisplayName),
    event: str(r, WAT.event),
    subscriptionId: str(r, WAT.subscriptionId),
    status: str(r, WAT.status) as WatcherStatus,
    lastEvent: str(r, WAT.lastEvent) as WatcherEvent,
    createdAt: num(r, WAT.createdAt),
    updatedAt: num(r, WAT.updatedAt),
  };
}

// ---- pres_rules ----

export function ruleToRow(p: PresRule): Row {
  return { [RULE.presentity]: p.presentity, [RULE.watcher]: p.watcher, [RULE.action]: p.action, [RULE.updatedAt]: p.updatedAt };
}

export function ruleFromRow(r: Row): PresRule {
  return {
    presentity: str(r, RULE.presentity),
    watcher: str(r, RULE.watcher),
    action: str(r, RULE.action) as RuleAction,
    updatedAt: num(r, RULE.updatedAt),
  };
}

// ---- registrations ----

export function registrationToRow(g: Registration): Row {
  return {
    [REG.aor]: g.aor,
    [REG.contact]: g.contact,
    [REG.instance]: g.instance,
    [REG.callId]: g.callId,
    [REG.cseq]: g.cseq,
    ...viaToRow(g.via, REG),
    [REG.expiresAt]: g.expiresAt,
  };
}

export function registrationFromRow(r: Row): Registration {
  return {
    aor: str(r, REG.aor),
    contact: str(r, REG.contact),
    instance: strOrNull(r, REG.instance),
    callId: str(r, REG.callId),
    cseq: num(r, REG.cseq),
    via: viaFromRow(r, REG),
    expiresAt: num(r, REG.expiresAt),
  };
}

// ---- api_keys (HTTP API keys, issue 8) ----

export const KEY = {
  id: 'id',
  name: 'name',
  tokenHash: 'token_hash',
  tokenPrefix: 'token_prefix',
  scopes: 'scopes',
  domains: 'domains',
  createdAt: 'created_at',
} as const;

export function apiKeyToRow(k: ApiKey): Row {
  return {
    [KEY.id]: k.id,
    [KEY.name]: k.name,
    [KEY.tokenHash]: k.tokenHash,
    [KEY.tokenPrefix]: k.tokenPrefix,
    // jsonb wants JSON text from node-postgres (a JS array would become a PostgreSQL array literal).
    [KEY.scopes]: JSON.stringify(k.scopes),
    [KEY.domains]: k.domains === null ? null : JSON.stringify(k.domains),
    [KEY.createdAt]: k.createdAt,
  };
}

function jsonStrings(v: unknown, col: string): string[] {
  const a: unknown = typeof v === 'string' ? JSON.parse(v) : v;
  if (!Array.isArray(a)) throw new Error(`store: ${col} is not a JSON array`);
  return a.map((x) => String(x));
}

export function apiKeyFromRow(r: Row): ApiKey {
  const domains = r[KEY.domains];
  return {
    id: str(r, KEY.id),
    name: str(r, KEY.name),
    tokenHash: str(r, KEY.tokenHash),
    tokenPrefix: str(r, KEY.tokenPrefix),
    scopes: jsonStrings(r[KEY.scopes], KEY.scopes) as Scope[],
    domains: domains === null || domains === undefined ? null : jsonStrings(domains, KEY.domains),
    createdAt: num(r, KEY.createdAt),
  };
}

// ---- HTTP subscriptions (issue 9): web_subscriptions, web_subscription_members, web_events, apps ----

export const WSUB = {
  id: 'id',
  owner: 'owner',
  watcher: 'watcher',
  appId: 'app_id',
  secret: 'secret',
  webhookUrl: 'webhook_url',
  webhookFormat: 'webhook_format',
  state: 'state',
  expiresAt: 'expires_at',
  warned: 'warned',
  lastSeq: 'last_seq',
  webhookSeq: 'webhook_seq',
  webhookAttempts: 'webhook_attempts',
  webhookNextAt: 'webhook_next_at',
  webhookLeaseUntil: 'webhook_lease_until',
  createdAt: 'created_at',
  updatedAt: 'updated_at',
} as const;

export const WMEM = { subscriptionId: 'subscription_id', presentity: 'presentity', lastStatus: 'last_status', addedAt: 'added_at' } as const;

export const WEV = { subscriptionId: 'subscription_id', seq: 'seq', type: 'type', uri: 'uri', status: 'status', at: 'at' } as const;

export const APP = { id: 'id', name: 'name', tokenHash: 'token_hash', subscriptionId: 'subscription_id', createdAt: 'created_at' } as const;

function numOrNull(r: Row, col: string): number | null {
  const v = r[col];
  return v === null || v === undefined ? null : toNumber(v);
}

export function webSubscriptionToRow(s: WebSubscription): Row {
  return {
    [WSUB.id]: s.id, [WSUB.owner]: s.owner, [WSUB.watcher]: s.watcher, [WSUB.appId]: s.appId, [WSUB.secret]: s.secret,
    [WSUB.webhookUrl]: s.webhookUrl, [WSUB.webhookFormat]: s.webhookFormat, [WSUB.state]: s.state, [WSUB.expiresAt]: s.expiresAt,
    [WSUB.warned]: s.warned, [WSUB.lastSeq]: s.lastSeq, [WSUB.webhookSeq]: s.webhookSeq, [WSUB.webhookAttempts]: s.webhookAttempts,
    [WSUB.webhookNextAt]: s.webhookNextAt, [WSUB.webhookLeaseUntil]: 0, [WSUB.createdAt]: s.createdAt, [WSUB.updatedAt]: s.updatedAt,
  };
}

export function webSubscriptionFromRow(r: Row): WebSubscription {
  return {
    id: str(r, WSUB.id),
    owner: str(r, WSUB.owner),
    watcher: str(r, WSUB.watcher),
    appId: strOrNull(r, WSUB.appId),
    secret: str(r, WSUB.secret),
    webhookUrl: strOrNull(r, WSUB.webhookUrl),
    webhookFormat: str(r, WSUB.webhookFormat) === 'envelope' ? 'envelope' : 'batch',
    state: str(r, WSUB.state) === 'ended' ? 'ended' : 'active',
    expiresAt: numOrNull(r, WSUB.expiresAt),
    warned: r[WSUB.warned] === true || r[WSUB.warned] === 1 || r[WSUB.warned] === 't',
    lastSeq: num(r, WSUB.lastSeq),
    webhookSeq: num(r, WSUB.webhookSeq),
    webhookAttempts: num(r, WSUB.webhookAttempts),
    webhookNextAt: num(r, WSUB.webhookNextAt),
    createdAt: num(r, WSUB.createdAt),
    updatedAt: num(r, WSUB.updatedAt),
  };
}

export function webSubscriptionPatchToRow(p: Partial<Pick<WebSubscription, 'expiresAt' | 'warned' | 'updatedAt'>>): Row {
  const row: Row = {};
  if (p.expiresAt !== undefined) row[WSUB.expiresAt] = p.expiresAt;
  if (p.warned !== undefined) row[WSUB.warned] = p.warned;
  if (p.updatedAt !== undefined) row[WSUB.updatedAt] = p.updatedAt;
  return row;
}

export function webEventToRow(e: WebEvent): Row {
  return { [WEV.subscriptionId]: e.subscriptionId, [WEV.seq]: e.seq, [WEV.type]: e.type, [WEV.uri]: e.uri, [WEV.status]: e.status, [WEV.at]: e.at };
}

export function webEventFromRow(r: Row): WebEvent {
  return {
    subscriptionId: str(r, WEV.subscriptionId),
    seq: num(r, WEV.seq),
    type: str(r, WEV.type) as WebEvent['type'],
    uri: strOrNull(r, WEV.uri),
    status: strOrNull(r, WEV.status) as WebStatus | null,
    at: num(r, WEV.at),
  };
}

export function webAppToRow(a: WebApp): Row {
  return { [APP.id]: a.id, [APP.name]: a.name, [APP.tokenHash]: a.tokenHash, [APP.subscriptionId]: a.subscriptionId, [APP.createdAt]: a.createdAt };
}

export function webAppFromRow(r: Row): WebApp {
  return { id: str(r, APP.id), name: str(r, APP.name), tokenHash: str(r, APP.tokenHash), subscriptionId: str(r, APP.subscriptionId), createdAt: num(r, APP.createdAt) };
}
