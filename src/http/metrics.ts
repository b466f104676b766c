/**
 * Prometheus metrics (prom-client, a Registry of Herald's own so that several Heralds in one process
 * do not mix): SIP and HTTP requests by method and response code, NOTIFYs sent and failed, active
 * subscriptions and presentities and database latency (read from the store on each scrape), and the
 * sweeper's counters. Served at GET /metrics.
 *
 * SIP hook: the SIP endpoint calls `metrics.sipRequest(method, status)` once per final response it
 * sends to a request (see the issue 8 report for where).
 */
import { performance } from 'node:perf_hooks';
import { Counter, Gauge, Histogram, Registry, collectDefaultMetrics } from 'prom-client';
import type { InspectionRepository } from '../presence/inspection';
import type { Store } from '../presence/ports';
import type { Clock } from '../clock';

/** SIP methods counted by name; any other method is counted as `other` (a peer picks the method). */
const SIP_METHODS = new Set(['INVITE', 'ACK', 'BYE', 'CANCEL', 'OPTIONS', 'REGISTER', 'PUBLISH', 'SUBSCRIBE', 'NOTIFY', 'MESSAGE', 'INFO', 'PRACK', 'UPDATE', 'REFER']);
const HTTP_METHODS = new Set(['GET', 'HEAD', 'POST', 'PUT', 'DELETE', 'PATCH', 'OPTIONS']);

export interface MetricsSources {
  store: Store;
  inspection: InspectionRepository;
  clock: Clock;
  notifier: { readonly sent: number; readonly failed: number };
  sweeper: {
    readonly counters: {
      sweeps: number; publicationsExpired: number; subscriptionsExpired: number; watchersPruned: number;
      registrationsPruned: number; notifiesSent: number; lastDurationMs: number; lastLagMs: number;
    };
  };
}

export interface ReliabilitySources {
  dirty: () => number;
  retold: () => number;
  overflowed: () => number;
  rateLimited: () => number;
  overloaded: () => number;
  queueDelayed: () => number;
  vacuumRuns: () => number;
  vacuumedDeadRows: () => number;
}

interface Sample {
  up: boolean;
  pingSeconds: number;
  subscriptions: number | null;
  presentities: number | null;
}

export class HeraldMetrics {
  readonly registry = new Registry();
  private readonly sipRequests: Counter<'method' | 'status'>;
  private readonly httpRequests: Counter<'method' | 'route' | 'status'>;
  private readonly httpDuration: Histogram<'method' | 'route'>;
  private sources: MetricsSources | null = null;
  private sample: Promise<Sample> | null = null;

  constructor(opts: { defaultMetrics?: boolean } = {}) {
    const registers = [this.registry];
    this.sipRequests = new Counter({ name: 'herald_sip_requests_total', help: 'SIP requests answered, by method and final response code', labelNames: ['method', 'status'], registers });
    this.httpRequests = new Counter({ name: 'herald_http_requests_total', help: 'HTTP requests answered, by method, route and response code', labelNames: ['method', 'route', 'status'], registers });
    this.httpDuration = new Histogram({
      name: 'herald_http_request_duration_seconds', help: 'HTTP request duration', labelNames: ['method', 'route'], registers,
      buckets: [0.001, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5],
    });
    if (opts.defaultMetrics !== false) collectDefaultMetrics({ register: this.registry, prefix: 'herald_' });
  }

  /** Count one SIP request by its method and the final response code Herald sent. */
  sipRequest(method: string, status: number): void {
    const m = method.toUpperCase();
    this.sipRequests.inc({ method: SIP_METHODS.has(m) ? m : 'other', status: String(status) });
  }

  /** Count one HTTP request; `route` is the route pattern (e.g. /v1/presence/:domain/:user), not the path. */
  httpRequest(method: string, route: string | undefined, status: number, seconds: number): void {
    const labels = { method: HTTP_METHODS.has(method) ? method : 'other', route: route ?? 'unmatched' };
    this.httpRequests.inc({ ...labels, status: String(status) });
    this.httpDuration.observe(labels, seconds);
  }

  /** The state read on each scrape: notifier and sweeper counters, the store's counts, database latency. */
  attach(s: MetricsSources): void {
    if (this.sources) return;
    this.sources = s;
    const registers = [this.registry];
    const total = (name: string, help: string, read: () => number): void => {
      const c: Counter = new Counter({ name, help, registers, collect: () => { c.reset(); c.inc(read()); } });
    };
    const gauge = (name: string, help: string, read: (x: Sample) => number | null): void => {
      const g: Gauge = new Gauge({
        name, help, registers,
        collect: async () => {
          const v = read(await this.current());
          if (v === null) g.reset();
          else g.set(v);
        },
      });
    };
    total('herald_notify_sent_total', 'NOTIFY requests sent (counted when their transaction ends, failed ones included)', () => s.notifier.sent);
    total('herald_notify_failed_total', 'NOTIFY requests that failed (error response or timeout)', () => s.notifier.failed);
    const c = s.sweeper.counters;
    total('herald_sweeps_total', 'Sweeps run', () => c.sweeps);
    total('herald_sweep_publications_expired_total', 'Publications expired by the sweeper', () => c.publicationsExpired);
    total('herald_sweep_subscriptions_expired_total', 'Subscriptions expired by the sweeper', () => c.subscriptionsExpired);
    total('herald_sweep_watchers_pruned_total', 'Terminated watcher records pruned', () => c.watchersPruned);
    total('herald_sweep_registrations_pruned_total', 'Expired registrations pruned', () => c.registrationsPruned);
    total('herald_sweep_notifies_total', 'NOTIFYs the sweeper asked for', () => c.notifiesSent);
    const plain = (name: string, help: string, read: () => number): void => {
      const g: Gauge = new Gauge({ name, help, registers, collect: () => g.set(read()) });
    };
    plain('herald_sweep_last_duration_seconds', 'Duration of the last sweep', () => c.lastDurationMs / 1000);
    plain('herald_sweep_last_lag_seconds', 'How late the oldest expired row was handled in the last sweep', () => c.lastLagMs / 1000);
    gauge('herald_db_up', '1 when the database answered the last scrape\'s ping', (x) => (x.up ? 1 : 0));
    gauge('herald_db_ping_seconds', 'Round trip of select 1 to the database, measured at scrape', (x) => x.pingSeconds);
    gauge('herald_subscriptions_active', 'Live, non-terminated subscriptions (all event packages)', (x) => x.subscriptions);
    gauge('herald_presentities_active', 'Presentities with a live publication', (x) => x.presentities);
  }

  /**
   * Issue 10's counters: the outage recovery set, rate-limited and overload-refused requests. Wired by
   * app.ts (the SIP endpoint, the rate limiter and the fan-out are not the HTTP API's business).
   */
  attachReliability(r: ReliabilitySources): void {
    const registers = [this.registry];
    const plain = (name: string, help: string, read: () => number): void => {
      const g: Gauge = new Gauge({ name, help, registers, collect: () => g.set(read()) });
    };
    const total = (name: string, help: string, read: () => number): void => {
      const c: Counter = new Counter({ name, help, registers, collect: () => { c.reset(); c.inc(read()); } });
    };
    plain('herald_outage_dirty_presentities', 'Presentities whose watchers are still to be told after a database outage', r.dirty);
    total('herald_outage_retold_total', 'Presentities re-told from the database after an outage', r.retold);
    total('herald_outage_overflowed_total', 'Presentities that did not fit in outage_max_dirty (told at the watchers\' next refresh)', r.overflowed);
    total('herald_sip_rate_limited_total', 'PUBLISH/SUBSCRIBE refused 503 by source_rate_limit', r.rateLimited);
    total('herald_sip_overloaded_total', 'SIP requests refused 503 by max_in_flight, max_queue_delay or while draining', r.overloaded);
    total('herald_vacuum_runs_total', 'Runs of self_vacuum that looked at the tables (the database runs no autovacuum)', r.vacuumRuns);
    total('herald_vacuumed_dead_rows_total', 'Dead rows in the tables self_vacuum vacuumed', r.vacuumedDeadRows);
    total('herald_sip_queue_delayed_total', 'SIP requests refused 503 because requests were waiting longer than max_queue_delay', r.queueDelayed);
  }

  /** The exposition text and its content type. */
  async render(): Promise<{ contentType: string; body: string }> {
    this.sample = null;
    try {
      return { contentType: this.registry.contentType, body: await this.registry.metrics() };
    } finally {
      this.sample = null;
    }
  }

  /** One read of the store per scrape, shared by every gauge collected in it. */
  private current(): Promise<Sample> {
    this.sample ??= this.read();
    return this.sample;
  }

  private async read(): Promise<Sample> {
    const s = this.sources;
    if (!s) return { up: false, pingSeconds: 0, subscriptions: null, presentities: null };
    const t0 = performance.now();
    const up = await s.store.ping();
    const pingSeconds = (performance.now() - t0) / 1000;
    if (!up) return { up, pingSeconds, subscriptions: null, presentities: null };
    const now = s.clock.now();
    const [subscriptions, presentities] = await Promise.all([
      s.store.subscriptions.count(now).catch(() => null),
      s.inspection.countPresentities({ now }).catch(() => null),
    ]);
    return { up, pingSeconds, subscriptions, presentities };
  }
}
