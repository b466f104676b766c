/**
 * The JSON view of a presentity (issue 8, Model): the composed document summarised by the RPID
 * status model (bodies/rpid.ts statusOf) and one device per live publication. The PIDF form is the
 * composed document exactly as a SIP watcher gets it (PresenceDocuments.compose).
 */
import type { Clock } from '../clock';
import { statusOf, type PresenceStatus } from '../bodies/rpid';
import { pidfTuples } from '../bodies/pidf';
import type { PresenceDocuments } from '../presence/documents';
import type { InspectionRepository } from '../presence/inspection';
import type { Publication } from '../presence/model';
import type { Store } from '../presence/ports';

export interface DeviceView {
  /** HTTP client id; for a SIP publication its sender (when known), else its first tuple id. */
  client: string;
  status: PresenceStatus;
  source: 'sip' | 'http';
  /** When this publication was last written (ISO 8601). */
  lastActive: string;
  /** Seconds left before it expires. */
  ttlSeconds: number;
  expiresAt: string;
}

export interface PresenceView {
  /** The canonical AOR, e.g. `sip:alice@example.com`. */
  uri: string;
  status: PresenceStatus;
  note: string | null;
  /** The newest write among the live publications; null when nothing is published. */
  lastModified: string | null;
  devices: DeviceView[];
}

const EVENT = 'presence';

interface DeviceSummary {
  status: PresenceStatus;
  firstTuple: string | null;
}

export class PresenceViews {
  /** Per-publication summaries by presentity + entity-tag (a body never changes under one entity-tag). */
  private readonly summaries = new Map<string, DeviceSummary>();

  constructor(
    private readonly o: { store: Store; inspection: InspectionRepository; documents: PresenceDocuments; clock: Clock },
    private readonly cacheSize = 10_000,
  ) {}

  async view(presentity: string): Promise<PresenceView> {
    const now = this.o.clock.now();
    return this.build(presentity, await this.o.store.publications.live(presentity, EVENT, now), now);
  }

  /** Views of several presentities, reading their publications in one query; in the order given. */
  async views(presentities: readonly string[]): Promise<PresenceView[]> {
    const now = this.o.clock.now();
    const byPresentity = new Map<string, Publication[]>();
    for (const p of await this.o.inspection.liveOf(presentities, EVENT, now)) {
      const list = byPresentity.get(p.presentity);
      if (list) list.push(p);
      else byPresentity.set(p.presentity, [p]);
    }
    return presentities.map((p) => this.build(p, byPresentity.get(p) ?? [], now));
  }

  /** The composed PIDF, as a SIP watcher's NOTIFY carries it (one closed tuple when nothing is published). */
  async pidf(presentity: string): Promise<string> {
    const live = await this.o.store.publications.live(presentity, EVENT, this.o.clock.now());
    return this.o.documents.compose(presentity, live).content;
  }

  private build(presentity: string, live: readonly Publication[], now: number): PresenceView {
    if (live.length === 0) return { uri: presentity, status: 'offline', note: null, lastModified: null, devices: [] };
    const summary = statusOf(this.o.documents.compose(presentity, live).doc);
    const lastModified = Math.max(...live.map((p) => p.receivedAt));
    return {
      uri: presentity,
      status: summary.status,
      note: summary.note,
      lastModified: new Date(lastModified).toISOString(),
      devices: live.map((p) => this.device(p, now)),
    };
  }

  private device(p: Publication, now: number): DeviceView {
    const s = this.summary(p);
    return {
      client: p.client ?? s.firstTuple ?? p.etag,
      status: s.status,
      source: p.source,
      lastActive: new Date(p.receivedAt).toISOString(),
      ttlSeconds: Math.max(0, Math.ceil((p.expiresAt - now) / 1000)),
      expiresAt: new Date(p.expiresAt).toISOString(),
    };
  }

  private summary(p: Publication): DeviceSummary {
    const key = `${p.presentity}\n${p.etag}`;
    let s = this.summaries.get(key);
    if (!s) {
      const doc = this.o.documents.parse(p.body);
      s = { status: statusOf(doc).status, firstTuple: pidfTuples(doc)[0]?.id ?? null };
      if (this.summaries.size >= this.cacheSize) {
        const oldest = this.summaries.keys().next().value;
        if (oldest !== undefined) this.summaries.delete(oldest);
      }
      this.summaries.set(key, s);
    }
    return s;
  }
}
