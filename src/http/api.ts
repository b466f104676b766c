/**
 * The HTTP API of issues 8 and 9, assembled for app.ts: auth, /v1/presence, /v1/subscriptions, /v1/apps, /admin, /metrics and the OpenAPI
 * document, as the `routes` of createHttpServer. Every dependency is passed in (the composition root
 * constructs them); nothing here reads the environment.
 */
import type { FastifyInstance } from 'fastify';
import type { Clock, Random } from '../clock';
import type { Config } from '../config';
import type { Logger } from '../log';
import type { ApiKeyRepository } from '../presence/api-keys';
import type { PresenceDocuments } from '../presence/documents';
import type { HttpPublicationService } from '../presence/http-publications';
import type { InspectionRepository } from '../presence/inspection';
import type { Store } from '../presence/ports';
import type { SubscriptionService } from '../presence/subscriptions';
import type { AppService } from '../presence/apps';
import type { WebSubscriptionService } from '../presence/web-subscriptions';
import type { EventChannel } from './event-channel';
import { appRoutes } from './routes/apps';
import { subscriptionRoutes } from './routes/subscriptions';
import { authHook, Authenticator } from './auth';
import type { HeraldMetrics, MetricsSources } from './metrics';
import { adminRoutes } from './routes/admin';
import { metaRoutes } from './routes/meta';
import { presenceRoutes } from './routes/presence';
import type { SchemaLimits } from './schemas';
import { PresenceViews } from './views';

export interface HttpApiDeps {
  config: Config;
  log: Logger;
  clock: Clock;
  random: Random;
  store: Store;
  documents: PresenceDocuments;
  publications: HttpPublicationService;
  apiKeys: ApiKeyRepository;
  inspection: InspectionRepository;
  subscriptions: SubscriptionService;
  /** Run a sweep now (SweepScheduler.runOnce). */
  sweep: () => Promise<unknown>;
  sweeper: MetricsSources['sweeper'];
  notifier: MetricsSources['notifier'];
  metrics: HeraldMetrics;
  /** HTTP watchers (issue 9). */
  webSubscriptions: WebSubscriptionService;
  apps: AppService;
  channel: EventChannel;
}

export function httpApi(d: HttpApiDeps): Array<(app: FastifyInstance) => Promise<void>> {
  const auth = new Authenticator(d.config.apiTokens, d.apiKeys, (hash) => d.apps.byTokenHash(hash));
  const isGranted = (appId: string, presentity: string): Promise<boolean> => d.apps.isGranted(appId, presentity);
  const views = new PresenceViews({ store: d.store, inspection: d.inspection, documents: d.documents, clock: d.clock });
  const limits: SchemaLimits = { maxQueryUris: d.config.maxQueryUris, maxPageSize: d.config.maxPageSize };
  d.metrics.attach({ store: d.store, inspection: d.inspection, clock: d.clock, notifier: d.notifier, sweeper: d.sweeper });
  const log = d.log.child({ component: 'http' });
  return [
    metaRoutes(d.metrics),
    async (app) => {
      if (auth.unknownScopes.length > 0) log.warn({ scopes: auth.unknownScopes }, 'api_tokens name scopes Herald does not know (ignored)');
      if (d.config.apiTokens.length === 0 && !(await d.apiKeys.any())) {
        log.warn('no api_tokens and no API keys: /v1 and /admin answer 401 until HERALD_API_TOKENS (api_tokens) is set');
      }
      app.decorateRequest('grant', null);
      // In-flight fan-outs of HTTP writes finish before the server (and then the store) closes.
      app.addHook('onClose', async () => d.publications.drain());
      await app.register(async (api) => {
        api.addHook('onRequest', authHook(auth));
        await presenceRoutes({ views, publications: d.publications, inspection: d.inspection, clock: d.clock, limits, isGranted })(api);
        await subscriptionRoutes({ service: d.webSubscriptions, channel: d.channel, limits })(api);
        await appRoutes({ apps: d.apps, service: d.webSubscriptions, channel: d.channel, random: d.random })(api);
        await adminRoutes({
          config: d.config, store: d.store, inspection: d.inspection, apiKeys: d.apiKeys, subscriptions: d.subscriptions, sweep: d.sweep,
          sweepCounters: () => ({ ...d.sweeper.counters }), views, clock: d.clock, random: d.random, limits,
        })(api);
      });
    },
  ];
}
