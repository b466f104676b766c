/** Apps (seed 002) in table `apps`; each app's standing subscription is a row of web_subscriptions. */
import type { Knex } from 'knex';
import type { WebApp, WebSubscription } from '../presence/model';
import type { WebAppRepository } from '../presence/ports';
import { APP, T, WSUB, webAppFromRow, webAppToRow, webSubscriptionToRow, type Row } from './rows';

export class KnexWebAppRepository implements WebAppRepository {
  constructor(private readonly db: Knex) {}

  async insert(app: WebApp, subscription: WebSubscription): Promise<void> {
    await this.db.transaction(async (trx) => {
      await trx(T.webSubscriptions).insert(webSubscriptionToRow(subscription));
      await trx(T.apps).insert(webAppToRow(app));
    });
  }

  async byId(id: string): Promise<WebApp | undefined> {
    const row: Row | undefined = await this.db(T.apps).where(APP.id, id).first();
    return row && webAppFromRow(row);
  }

  async byTokenHash(hash: string): Promise<WebApp | undefined> {
    const row: Row | undefined = await this.db(T.apps).where(APP.tokenHash, hash).first();
    return row && webAppFromRow(row);
  }

  async remove(id: string): Promise<boolean> {
    return this.db.transaction(async (trx) => {
      const rows: Row[] = await trx(T.apps).where(APP.id, id).del().returning([APP.subscriptionId]);
      const first = rows[0];
      if (!first) return false;
      await trx(T.webSubscriptions).where(WSUB.id, String(first[APP.subscriptionId])).del();
      return true;
    });
  }
}
