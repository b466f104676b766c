/**
 * Read-only listings for the HTTP API and the operator endpoints (issue 8): counts and pages over
 * presentities, publications, subscriptions and watchers, with filters and keyset cursors. Beside
 * ports.ts (which the SIP procedures use); implemented by store/inspection-repository.ts.
 * Times are epoch milliseconds; `now` comes from the injected clock.
 */
import type { Publication, Subscription, SubscriptionState, WatcherRecord, WatcherStatus } from './model';

export interface PresentityFilter {
  /** Only presentities at this host (canonical AORs are `sip:user@host`). */
  domain?: string;
  /** Only publications of this event package (e.g. `presence`). */
  event?: string;
  now: number;
}

export interface PublicationFilter {
  presentity?: string;
  domain?: string;
  event?: string;
  source?: 'sip' | 'http';
  /** Keyset cursor: the last (presentity, etag) of the previous page. */
  after?: { presentity: string; etag: string };
  limit: number;
  now: number;
}

export interface SubscriptionFilter {
  presentity?: string;
  watcher?: string;
  event?: string;
  state?: SubscriptionState;
  /** Keyset cursor: the last id of the previous page. */
  after?: string;
  limit: number;
}

export interface WatcherFilter {
  presentity?: string;
  watcher?: string;
  status?: WatcherStatus;
  /** Keyset cursor: the last (presentity, event, subscriptionId) of the previous page. */
  after?: { presentity: string; event: string; subscriptionId: string };
  limit: number;
}

export interface InspectionRepository {
  /** How many distinct presentities have a live publication (of any event). */
  countPresentities(f: PresentityFilter): Promise<number>;
  /** Distinct presentities with a live publication, sorted byte-wise, `offset` of them skipped. */
  presentityRange(f: PresentityFilter & { offset: number; limit: number }): Promise<string[]>;
  /** Live publications of several presentities for one event in one query, oldest receivedAt first. */
  liveOf(presentities: readonly string[], event: string, now: number): Promise<Publication[]>;
  /** Live publications ordered by (presentity, etag). */
  publications(f: PublicationFilter): Promise<Publication[]>;
  /** Subscriptions (every state) ordered by id. */
  subscriptions(f: SubscriptionFilter): Promise<Subscription[]>;
  /** Watcher records ordered by (presentity, event, subscriptionId). */
  watchers(f: WatcherFilter): Promise<WatcherRecord[]>;
}
