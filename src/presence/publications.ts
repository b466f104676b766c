/**
 * The event state compositor's PUBLISH procedure (RFC 3903 §6, seed 001 handle_publish()).
 * Decides the request kind, checks the entity-tag, commits the change, and only then hands
 * the presentity to the fan-out. Requests of one presentity run in arrival order (KeyedLocks).
 */
import type { Clock, Random } from '../clock';
import { isPresenceError, PresenceError } from '../errors';
import { isEntityTag, newEntityTag } from './entity-tag';
import { eventPackage, publishableEvents, type EventPackage } from './event-packages/registry';
import { grantExpires, type ExpiresLimits } from './expires';
import type { KeyedLocks } from './locks';
import type { PresenceDocuments } from './documents';
import type { Publication } from './model';
import type { PidfDocument } from '../bodies/pidf';
import type { Store } from './ports';

export type PublishKind = 'initial' | 'refresh' | 'modify' | 'remove';

type Verdict = { ok: true; expires: number; doc: PidfDocument | undefined } | { ok: false; error: PresenceError };

export interface PublishRequest {
  presentity: string;
  /** Event package, lower-cased; undefined when the Event header is missing. */
  event: string | undefined;
  ifMatch: string | null;
  /** Requested Expires in seconds, undefined when absent. */
  expires: number | undefined;
  body: Buffer | null;
  contentType: string | null;
  source: 'sip' | 'http';
  client: string | null;
}

export interface PublishResult {
  kind: PublishKind;
  /** The new entity-tag (absent after a remove). */
  etag: string | null;
  /** Granted seconds (0 after a remove). */
  expires: number;
  /** Work after the reply: telling the watchers when the document changed (not for a refresh). */
  notify: () => Promise<void>;
}

export interface PublicationServiceOptions {
  store: Store;
  clock: Clock;
  random: Random;
  locks: KeyedLocks;
  documents: PresenceDocuments;
  limits: ExpiresLimits;
  /** Told after the commit, when the presentity's document changed. */
  onChange: (presentity: string, last?: Publication) => Promise<void>;
}

/** RFC 3903 §4, Table 1: the kind of a PUBLISH follows from SIP-If-Match, body and Expires. */
export function classify(r: Pick<PublishRequest, 'ifMatch' | 'body' | 'expires'>): PublishKind {
  const hasBody = r.body !== null && r.body.length > 0;
  if (r.ifMatch === null) {
    // RFC 3903 §6 step 5: an initial PUBLISH without a body is "400 Invalid Request".
    if (!hasBody) throw new PresenceError('MISSING_BODY', 'Initial PUBLISH without body');
    return 'initial';
  }
  if (r.expires === 0) return 'remove';
  // RFC 3903 §4: a refresh has SIP-If-Match and no body (baresip sends Content-Type with an empty body).
  return hasBody ? 'modify' : 'refresh';
}

export class PublicationService {
  constructor(private readonly o: PublicationServiceOptions) {}

  async publish(r: PublishRequest): Promise<PublishResult> {
    // RFC 3903 §6 step 2: Event missing or not a package the ESC supports → 489 Bad Event with Allow-Events.
    const pkg = r.event ? eventPackage(r.event) : undefined;
    if (!pkg || !pkg.publishable) {
      throw new PresenceError('BAD_EVENT', 'Bad Event', { 'Allow-Events': publishableEvents().join(', ') });
    }
    // RFC 3903 §6 step 3: "if the request has a SIP-If-Match header field, the ESC checks whether the header
    // field contains a single entity-tag. If not, the request is invalid, and the ESC MUST return with a 400".
    if (r.ifMatch !== null && !isEntityTag(r.ifMatch)) throw new PresenceError('BAD_REQUEST', 'SIP-If-Match must hold one entity-tag');
    const kind = classify(r);
    // RFC 3903 §6: a conditional request whose entity-tag matches nothing is 412 (step 3) before its Expires
    // (step 4: 423) or its body (step 5: 415, 400, 413) are judged; such a refusal waits for the match below.
    const verdict = this.judge(r, kind, pkg);
    if (!verdict.ok && kind === 'initial') throw verdict.error;
    const expires = verdict.ok ? verdict.expires : 0;
    const doc = verdict.ok ? verdict.doc : undefined;
    return this.o.locks.run(r.presentity, async () => {
      const now = this.o.clock.now();
      const etag = kind === 'remove' ? null : newEntityTag(this.o.random);
      const outcome = await this.o.store.transaction(async (tx) => {
        if (kind === 'initial') {
          await tx.publications.insert(this.record(r, pkg.name, etag as string, r.body as Buffer, now, expires));
          return { last: undefined };
        }
        const failed = (): PresenceError => new PresenceError('CONDITIONAL_REQUEST_FAILED', 'Conditional Request Failed');
        if (!verdict.ok) {
          // RFC 3903 §6 step 3 comes first: a stale entity-tag is 412 even when the request is also refused for 423/415/400.
          if (!(await tx.publications.byEtag(r.presentity, pkg.name, r.ifMatch as string, now))) throw failed();
          throw verdict.error;
        }
        // One conditional statement each (no read first): it matches only a LIVE publication with this
        // entity-tag of this presentity, so "no row" is RFC 3903 §6 step 3's "412 (Conditional Request
        // Failed)" — also when another node replaced or removed it first.
        if (kind === 'remove') {
          const last = await tx.publications.removeLive(r.presentity, pkg.name, r.ifMatch as string, now);
          if (!last) throw failed();
          return { last };
        }
        const patch = kind === 'refresh'
          ? { etag: etag as string, expiresAt: now + expires * 1000 }
          : { etag: etag as string, expiresAt: now + expires * 1000, body: (r.body as Buffer).toString('utf8'), contentType: r.contentType ?? '', receivedAt: now, source: r.source, client: r.client };
        if (!(await tx.publications.updateLive(r.presentity, pkg.name, r.ifMatch as string, now, patch))) throw failed();
        return { last: undefined };
      });
      if (kind === 'refresh' && etag) this.o.documents.rename(r.presentity, r.ifMatch as string, etag);
      else if (r.ifMatch) this.o.documents.forget(r.presentity, r.ifMatch);
      if (doc && etag) this.o.documents.remember(r.presentity, etag, doc);
      // The fan-out runs under the presentity's lock: its document is read and its CSeqs taken before the
      // next change of that presentity commits, so a watcher never gets an older document with a higher CSeq.
      const notify = kind === 'refresh' ? () => Promise.resolve() : () => this.o.locks.run(r.presentity, () => this.o.onChange(r.presentity, outcome.last));
      return { kind, etag, expires, notify };
    });
  }

  /** RFC 3903 §6 steps 4-5: the granted Expires and the parsed body, or the refusal (423, 415, 400, 413). */
  private judge(r: PublishRequest, kind: PublishKind, pkg: EventPackage): Verdict {
    try {
      const expires = grantExpires(r.expires, this.o.limits);
      if (kind === 'initial' && expires === 0) throw new PresenceError('BAD_REQUEST', 'Initial PUBLISH with Expires 0');
      if (kind !== 'initial' && kind !== 'modify') return { ok: true, expires, doc: undefined };
      // RFC 3903 §6 step 5: the ESC checks the body type it supports ("415 Unsupported Media Type").
      if ((r.contentType ?? '').toLowerCase() !== pkg.contentTypes[0]) {
        throw new PresenceError('UNSUPPORTED_MEDIA_TYPE', 'Unsupported Media Type', { Accept: pkg.contentTypes.join(', ') });
      }
      return { ok: true, expires, doc: this.o.documents.parse(r.body as Buffer) };
    } catch (error) {
      if (!isPresenceError(error)) throw error;
      return { ok: false, error };
    }
  }

  private record(r: PublishRequest, event: string, etag: string, body: Buffer, now: number, expires: number): Publication {
    return {
      presentity: r.presentity,
      event,
      etag,
      body: body.toString('utf8'),
      contentType: r.contentType ?? '',
      source: r.source,
      client: r.client,
      receivedAt: now,
      expiresAt: now + expires * 1000,
    };
  }
}
