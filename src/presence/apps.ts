/**
 * Apps (seed 002 "For App Developers"): an app is registered, gets an id and a secret, and "a user
 * grants access" to their presence; the app then sees only the users who granted it, through "the
 * stream API or ... a webhook". Each app has one standing HTTP subscription without end whose
 * members are exactly its grants, so a grant's changes reach the app like any subscription's.
 */
import type { Clock, Random } from '../clock';
import { PresenceError } from '../errors';
import type { HttpWatchers } from './http-watchers';
import type { WebApp, WebSubscription } from './model';
import type { WebAppRepository, WebSubscriptionRepository } from './ports';
import { checkWebhookUrl } from './web-subscriptions';

export interface AppServiceOptions {
  apps: WebAppRepository;
  subscriptions: WebSubscriptionRepository;
  watchers: HttpWatchers;
  clock: Clock;
  random: Random;
  webhookAllowList: readonly string[];
}

export interface RegisterInput {
  name: string;
  webhookUrl?: string;
  webhookFormat?: 'batch' | 'envelope';
  /** SHA-256 (hex) of the app's bearer token; the token itself is made and shown by http/. */
  tokenHash: string;
}

export class AppService {
  constructor(private readonly o: AppServiceOptions) {}

  async register(i: RegisterInput): Promise<{ app: WebApp; subscription: WebSubscription }> {
    const now = this.o.clock.now();
    const id = this.o.random.token(9);
    const webhookUrl = i.webhookUrl === undefined ? null : checkWebhookUrl(i.webhookUrl, this.o.webhookAllowList);
    const subscription: WebSubscription = {
      id: `app-${id}`, owner: `app:${id}`, watcher: `app:${id}`, appId: id, secret: this.o.random.token(24), webhookUrl,
      webhookFormat: i.webhookFormat ?? 'batch', state: 'active', expiresAt: null, warned: false, lastSeq: 0,
      webhookSeq: 0, webhookAttempts: 0, webhookNextAt: 0, createdAt: now, updatedAt: now,
    };
    const app: WebApp = { id, name: i.name, tokenHash: i.tokenHash, subscriptionId: subscription.id, createdAt: now };
    await this.o.apps.insert(app, subscription);
    return { app, subscription };
  }

  async get(id: string): Promise<WebApp> {
    const app = await this.o.apps.byId(id);
    if (!app) throw new PresenceError('NOT_FOUND', `no app ${id}`);
    return app;
  }

  async byTokenHash(hash: string): Promise<WebApp | undefined> {
    return this.o.apps.byTokenHash(hash);
  }

  async remove(id: string): Promise<boolean> {
    return this.o.apps.remove(id);
  }

  /** The user grants the app access; the app's stream gets the user's current status at once. */
  async grant(appId: string, presentity: string): Promise<{ created: boolean }> {
    const app = await this.get(appId);
    this.o.watchers.watch([presentity]);
    const added = await this.o.subscriptions.addMembers(app.subscriptionId, [presentity], this.o.clock.now());
    await this.o.watchers.changed(presentity);
    return { created: added.length > 0 };
  }

  /** The user revokes the grant: the app hears nothing more of them. */
  async revoke(appId: string, presentity: string): Promise<void> {
    const app = await this.get(appId);
    await this.o.subscriptions.removeMembers(app.subscriptionId, [presentity]);
  }

  async grants(appId: string): Promise<string[]> {
    return this.o.subscriptions.members((await this.get(appId)).subscriptionId);
  }

  async isGranted(appId: string, presentity: string): Promise<boolean> {
    return this.o.subscriptions.hasMember(`app-${appId}`, presentity);
  }
}
