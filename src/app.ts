/**
 * The composition root: the one place that constructs adapters and wires them to the domain.
 */
import { hostname } from 'node:os';
import type { FastifyInstance } from 'fastify';
import { cryptoRandom, systemClock, systemTimers, type Clock, type Random, type Timers } from './clock';
import type { Config } from './config';
import { createHttpServer, splitHostPort } from './http/server';
import { httpApi } from './http/api';
import { HeraldMetrics } from './http/metrics';
import { HttpPublicationService } from './presence/http-publications';
import { KnexApiKeyRepository } from './store/api-key-repository';
import { KnexInspectionRepository } from './store/inspection-repository';
import type { Logger } from './log';
import { SipNotifier } from './notify/notifier';
import { PresenceDocuments } from './presence/documents';
import { acceptedTypes, allEvents } from './presence/event-packages/registry';
import { KeyedLocks } from './presence/locks';
import type { Store } from './presence/ports';
import { PublicationService } from './presence/publications';
import { Registrar } from './presence/registrar';
import { RecoveringFanout } from './presence/recovery';
import { PresenceRules } from './presence/rules';
import { SubscriptionService } from './presence/subscriptions';
import { SipEndpoint } from './sip/endpoint';
import { markDirtyOnOutage } from './sip/handlers/outage';
import { publishHandler } from './sip/handlers/publish';
import { registerHandler } from './sip/handlers/register';
import { subscribeHandler } from './sip/handlers/subscribe';
import { SourceRateLimiter } from './sip/rate-limit';
import { createRouter, type MethodHandler } from './sip/router';
import { TcpTransport } from './sip/tcp-transport';
import { hostForUri, type Transport, type TransportKind } from './sip/transport';
import { UdpTransport } from './sip/udp-transport';
import { backendOf, createKnex } from './store/db';
import { GroupCommitStore } from './store/group-commit';
import { migrateLatest } from './store/migrate';
import { createStore } from './store/store';
import { SweepScheduler } from './sweeper/scheduler';
import { TableVacuum } from './store/vacuum';
import { EventChannel } from './http/event-channel';
import { WebhookSender } from './http/webhooks';
import { AppService } from './presence/apps';
import { EventBus } from './presence/event-bus';
import { HttpWatchers } from './presence/http-watchers';
import { WebSubscriptionService } from './presence/web-subscriptions';
import { KnexWebAppRepository } from './store/web-app-repository';
import { KnexWebSubscriptionRepository } from './store/web-subscription-repository';
import { Sweeper } from './sweeper/sweeper';

export interface AppDeps {
  log: Logger;
  clock?: Clock;
  random?: Random;
  timers?: Timers;
}

export interface App {
  readonly config: Config;
  readonly store: Store;
  readonly endpoint: SipEndpoint;
  readonly sweeper: Sweeper;
  readonly scheduler: SweepScheduler;
  /** self_vacuum (store/vacuum.ts): runs every vacuum_period; tests call run(). */
  readonly vacuum: TableVacuum;
  readonly publications: PublicationService;
  readonly subscriptions: SubscriptionService;
  readonly fanout: RecoveringFanout;
  readonly notifier: SipNotifier;
  readonly rules: PresenceRules;
  readonly rateLimiter: SourceRateLimiter;
  readonly webSubscriptions: WebSubscriptionService;
  readonly httpWatchers: HttpWatchers;
  /** Bound addresses, known after start(). */
  addresses(): { sip: Array<{ transport: string; host: string; port: number }>; http: { host: string; port: number } | null };
  start(): Promise<void>;
  stop(): Promise<void>;
}

export async function createApp(config: Config, deps: AppDeps): Promise<App> {
  const clock = deps.clock ?? systemClock;
  const random = deps.random ?? cryptoRandom;
  const timers = deps.timers ?? systemTimers;
  const log = deps.log;
  const nodeId = config.nodeId || `${hostname()}-${process.pid}`;
  const knex = createKnex(config.dbUrl);
  await migrateLatest(knex);
  // Group commit: concurrent requests' changes share one transaction (DESIGN.md, the hot path).
  const store = new GroupCommitStore(createStore(knex, { guard: false }), {
    maxBatch: config.groupCommitMaxBatch,
    maxInFlight: backendOf(config.dbUrl) === 'postgres' ? config.groupCommitInFlight : 1,
  });

  // Prometheus metrics; the SIP endpoint counts every final response it sends.
  const metrics = new HeraldMetrics();
  const transports: Transport[] = config.sipListen.map((l) => l.transport === 'udp'
    ? new UdpTransport(l.host, l.port, config.udpRecvBufferBytes, log.child({ component: 'udp' }))
    : new TcpTransport(l.host, l.port, config.maxMessageSizeBytes, config.tcpIdleTimeoutSec * 1000, log.child({ component: 'tcp' })));
  const firstHost = config.sipListen[0]?.host ?? '127.0.0.1';
  const advertisedHost = advertised(config.serverAddress, firstHost);
  const endpoint = new SipEndpoint({
    transports, clock, timers, random, log: log.child({ component: 'sip' }), maxMessageSize: config.maxMessageSizeBytes,
    t1Ms: config.sipT1Ms, t2Ms: config.sipT2Ms, advertisedHost, maxInFlight: config.maxInFlight, maxQueueDelayMs: config.maxQueueDelayMs,
    onAnswered: (method, status) => metrics.sipRequest(method, status),
  });
  // Herald's Contact (server_address, else one per transport: a TCP watcher's in-dialog requests must
  // reach the TCP listener). Known only after binding when a port is 0 (tests): resolved lazily.
  const contactFor = (kind: TransportKind): string => {
    if (config.serverAddress) return config.serverAddress;
    const t = transports.find((x) => x.kind === kind) ?? transports[0];
    if (!t) throw new Error('no SIP listener configured');
    return `sip:${hostForUri(advertisedHost)}:${t.local.port}${t.kind === 'tcp' ? ';transport=tcp' : ''}`;
  };

  const limits = { minExpiresSec: config.minExpiresSec, maxExpiresSec: config.maxExpiresSec, defaultExpiresSec: config.defaultExpiresSec };
  const locks = new KeyedLocks(config.lockSetSize);
  const documents = new PresenceDocuments(config.maxBodySizeBytes);
  const notifier = new SipNotifier({ endpoint, store, log: log.child({ component: 'notify' }), clock, contact: contactFor, maxFailures: config.notifyMaxFailures });
  // HTTP watchers (issue 9): every change the fan-out sees becomes one event per HTTP subscription that can see it.
  const bus = new EventBus();
  const webRepo = new KnexWebSubscriptionRepository(knex);
  const httpWatchers = new HttpWatchers({
    repo: webRepo, store, documents, clock, bus, forceActive: config.forceActive,
    onError: (err, presentity) => log.error({ err, presentity }, 'events for HTTP watchers failed'),
  });
  // A fan-out that fails for the database is re-run from the database when it answers again (issue 10).
  const fanout = new RecoveringFanout({ store, sink: notifier, documents, clock, forceActive: config.forceActive, web: httpWatchers }, {
    store, locks, timers, intervalMs: config.outageRetryIntervalMs, maxDirty: config.outageMaxDirty, batch: RECOVERY_BATCH,
    onOverflow: (presentity) => log.warn({ presentity }, 'outage: too many presentities to re-tell; its watchers learn at their next refresh'),
    onError: (err, presentity) => log.error({ err, presentity }, 'outage: re-telling watchers failed'),
  });
  const publications = new PublicationService({ store, clock, random, locks, documents, limits, onChange: (p, last) => fanout.presentityChanged(p, last) });
  const subscriptions = new SubscriptionService({
    store, clock, random, locks, fanout, limits, forceActive: config.forceActive, toTagPref: config.toTagPref,
    subscribeReplyCode: config.subscribeReplyCode, nodeId, maxWatchers: config.maxWatchers, watcherCapRetryAfterSec: config.maxWatchersRetryAfterSec,
  });
  notifier.setFailureHandler((sub) => subscriptions.end(sub, 'deactivated', false));
  // pres_rules changes re-evaluate the subscriptions they affect (RFC 5025 §3.2.1).
  const rules = new PresenceRules({ store, fanout, subscriptions, locks, clock, forceActive: config.forceActive });
  const registrar = new Registrar(store, clock, limits);

  // Overload (issue 10): a token bucket per source address for the requests that write state.
  const rateLimiter = new SourceRateLimiter({
    clock, ratePerSec: config.sourceRateLimitPerSec, burst: config.sourceRateBurst, maxSources: config.sourceRateMaxSources, exempt: config.sourceRateExempt,
  });
  metrics.attachReliability({
    dirty: () => fanout.dirtyCount, retold: () => fanout.recoveryStats.retold, overflowed: () => fanout.recoveryStats.overflowed,
    rateLimited: () => rateLimiter.refused, overloaded: () => endpoint.overloaded, queueDelayed: () => endpoint.queueDelay.refused,
    vacuumRuns: () => vacuum.stats.runs, vacuumedDeadRows: () => vacuum.stats.deadRows,
  });
  const handlers: Record<string, MethodHandler> = {
    PUBLISH: rateLimiter.limit(markDirtyOnOutage(publishHandler(publications, config.expiresOffsetSec), (p) => fanout.markDirty(p))),
    SUBSCRIBE: rateLimiter.limit(markDirtyOnOutage(subscribeHandler(subscriptions, contactFor), (p) => fanout.markDirty(p))),
  };
  if (config.registrar) handlers.REGISTER = registerHandler(registrar, clock);
  endpoint.setHandler(createRouter({ handlers, events: allEvents(), accept: acceptedTypes() }));

  const sweeper = new Sweeper({ store, fanout, sink: notifier, clock, log: log.child({ component: 'sweeper' }), batchSize: config.sweepBatchSize, watcherRetentionSec: config.watcherRetentionSec });
  const scheduler = new SweepScheduler(() => sweeper.sweep(), { periodSec: config.cleanPeriodSec, cron: config.cleanCron, jitter: 0.1, random: Math.random, log });
  const vacuum = new TableVacuum(knex, { mode: config.selfVacuum, embedded: backendOf(config.dbUrl) !== 'postgres' });
  const vacuumLog = log.child({ component: 'vacuum' });
  const vacuumScheduler = new SweepScheduler(async () => {
    const r = await vacuum.run();
    if (r.vacuumed.length > 0) vacuumLog.info({ vacuumed: r.vacuumed }, 'vacuumed tables (the database runs no autovacuum)');
  }, { periodSec: config.vacuumPeriodSec, cron: '', jitter: 0.1, random: Math.random, log: vacuumLog });

  // HTTP API (issue 8): an HTTP write is a publication under the same locks, told through the same fan-out.
  const httpPublications = new HttpPublicationService({
    store, clock, random, locks, documents, limits, defaultTtlSec: config.defaultTtlSec, onChange: (p, last) => fanout.presentityChanged(p, last),
    onNotifyError: (err, presentity) => log.error({ err, presentity }, 'fan-out of an HTTP write failed'),
    onCommitUnknown: (presentity) => fanout.markDirty(presentity),
  });
  const webSubscriptions = new WebSubscriptionService({
    repo: webRepo, store, watchers: httpWatchers, bus, clock, random, timers, forceActive: config.forceActive,
    limits: {
      maxDurationMin: config.maxSubscriptionDurationMin, warningSec: config.subscriptionWarningSec, sweepSec: config.subscriptionSweepSec,
      eventWindowSec: config.eventWindowSec, batchSize: config.eventBatchSize, pollMs: config.webEventPollMs, maxMembers: config.maxQueryUris,
      webhookAllowList: config.webhookAllowList,
    },
    onError: (err, job) => log.error({ err, job }, 'HTTP subscriptions job failed'),
  });
  const apps = new AppService({ apps: new KnexWebAppRepository(knex), subscriptions: webRepo, watchers: httpWatchers, clock, random, webhookAllowList: config.webhookAllowList });
  const channel = new EventChannel({
    service: webSubscriptions, bus, timers, log: log.child({ component: 'events' }), longPollMs: config.longPollTimeoutSec * 1000,
    heartbeatMs: config.sseHeartbeatSec * 1000, batchSize: config.eventBatchSize,
  });
  const webhooks = new WebhookSender({
    repo: webRepo, bus, clock, timers, log, timeoutMs: config.webhookTimeoutMs, retryBaseMs: config.webhookRetryBaseMs,
    maxAgeSec: config.webhookMaxAgeSec, batchSize: config.eventBatchSize, pollMs: config.webEventPollMs,
  });
  const apiRoutes = httpApi({
    webSubscriptions, apps, channel,
    config, log, clock, random, store, documents, publications: httpPublications, apiKeys: new KnexApiKeyRepository(knex),
    inspection: new KnexInspectionRepository(knex), subscriptions, sweep: () => scheduler.runOnce(), sweeper, notifier, metrics,
  });

  let http: FastifyInstance | null = null;
  let httpAddress: { host: string; port: number } | null = null;
  let started = false;

  return {
    config, store, endpoint, sweeper, scheduler, vacuum, publications, subscriptions, fanout, notifier, rules, rateLimiter, webSubscriptions, httpWatchers,
    addresses: () => ({ sip: transports.map((t) => ({ transport: t.kind, ...t.local })), http: httpAddress }),
    async start() {
      await webSubscriptions.start();
      await endpoint.start();
      started = true;
      scheduler.start();
      vacuumScheduler.start();
      fanout.start();
      webhooks.start();
      if (config.httpListen) {
        http = await createHttpServer({
          log, bodyLimitBytes: config.httpBodyLimitBytes, routes: apiRoutes, maxInFlight: config.httpMaxInFlight,
          requestTimeoutMs: config.httpRequestTimeoutMs, headersTimeoutMs: config.httpHeadersTimeoutMs,
          connectionsCheckIntervalMs: config.httpConnectionsCheckIntervalMs, maxHeaderBytes: config.httpMaxHeaderBytes,
          ready: async () => {
            const db = await store.ping();
            return { ok: db && started, checks: { database: db, sip: started } };
          },
        });
        const { host, port } = splitHostPort(config.httpListen);
        await http.listen({ host, port });
        const a = http.server.address();
        httpAddress = a && typeof a === 'object' ? { host: a.address, port: a.port } : null;
      }
    },
    async stop() {
      // Graceful stop: no new sweeps, refuse new requests with 503, finish what is in flight (bounded),
      // then close the sockets and the database.
      await scheduler.stop();
      await vacuumScheduler.stop();
      await fanout.stop();
      await endpoint.drain(config.drainTimeoutSec * 1000);
      // Fan-outs of HTTP writes are queued on the presentity locks, outside the SIP endpoint's count.
      const bound = new Promise((r) => setTimeout(r, config.drainTimeoutSec * 1000).unref());
      await Promise.race([httpPublications.drain().then(() => notifier.drain()).then(() => httpWatchers.drain()), bound]);
      // Held long-polls are answered and streams ended (clients reconnect with their cursor), webhook timers stopped.
      channel.close();
      await webhooks.stop();
      await webSubscriptions.stop();
      bus.clear();
      if (http) {
        // The answers to held requests are written after close() began: their keep-alive connections
        // are closed as soon as they are idle, and whatever is left after drain_timeout is cut.
        const server = http.server;
        const idle = setInterval(() => server.closeIdleConnections(), 50);
        const cut = setTimeout(() => server.closeAllConnections(), config.drainTimeoutSec * 1000);
        try {
          await http.close();
        } finally {
          clearInterval(idle);
          clearTimeout(cut);
        }
      }
      await endpoint.stop();
      started = false;
      await store.close();
    },
  };
}

/** Presentities re-told per round of the outage recovery loop. */
const RECOVERY_BATCH = 1000;

/** The host Herald writes in Via and Contact: server_address's host, else the listen host (0.0.0.0 → 127.0.0.1). */
function advertised(serverAddress: string, listenHost: string): string {
  const m = /^sips?:(?:[^@]*@)?(\[[^\]]+\]|[^:;>]+)/i.exec(serverAddress);
  if (m) return (m[1] as string).replace(/^\[|\]$/g, '');
  if (listenHost === '0.0.0.0') return '127.0.0.1';
  if (listenHost === '::') return '::1';
  return listenHost;
}
