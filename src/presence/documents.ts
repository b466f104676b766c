/**
 * Presence documents: parsing a publication's body (validated, bounded) and composing the one
 * document a presentity's watchers get. Parsed bodies are cached by entity-tag (a body never changes
 * under one entity-tag), so a change re-parses only the publication that changed.
 */
import { PresenceError } from '../errors';
import { closedPidf, composePidf, withBasic } from '../bodies/compose';
import { isBodyError } from '../bodies/errors';
import { parsePidf, serializePidf, type PidfDocument } from '../bodies/pidf';
import type { Publication } from './model';

export const PIDF_TYPE = 'application/pidf+xml';

export interface ComposedDocument {
  /** The composed PIDF, serialized once for every watcher. */
  content: string;
  /** The same with every tuple closed (RFC 5025 polite-block watchers). */
  politeContent: () => string;
  /** True when no live publication is left (the document says closed). */
  empty: boolean;
  doc: PidfDocument;
}

export class PresenceDocuments {
  private readonly cache = new Map<string, PidfDocument>();

  constructor(
    private readonly maxBodyBytes: number,
    private readonly cacheSize = 10_000,
  ) {}

  /** Validate a PIDF body (RFC 3863); a bad one is 400 with the reason, a too large one 413. */
  parse(body: Buffer | string): PidfDocument {
    try {
      return parsePidf(body, { maxBytes: this.maxBodyBytes });
    } catch (err) {
      if (isBodyError(err)) throw new PresenceError(err.code, err.reason);
      throw err;
    }
  }

  private parsed(p: Publication): PidfDocument {
    const key = `${p.presentity}\n${p.etag}`;
    let doc = this.cache.get(key);
    if (!doc) {
      doc = this.parse(p.body);
      this.put(key, doc);
    }
    return doc;
  }

  /** Remember a document just parsed for a new entity-tag (saves parsing it again to compose). */
  remember(presentity: string, etag: string, doc: PidfDocument): void {
    this.put(`${presentity}\n${etag}`, doc);
  }

  /**
   * Bounded insert, oldest entry out first. Every path in goes through here: publications that expire
   * (rather than being removed) are never forgotten, so an unbounded `remember` would grow forever.
   */
  private put(key: string, doc: PidfDocument): void {
    this.cache.delete(key);
    while (this.cache.size >= this.cacheSize) {
      const oldest = this.cache.keys().next().value;
      if (oldest === undefined) break;
      this.cache.delete(oldest);
    }
    this.cache.set(key, doc);
  }

  /** A refresh gives the same body a new entity-tag: keep its parsed document under the new one. */
  rename(presentity: string, oldEtag: string, newEtag: string): void {
    const doc = this.cache.get(`${presentity}\n${oldEtag}`);
    if (!doc) return;
    this.cache.delete(`${presentity}\n${oldEtag}`);
    this.remember(presentity, newEtag, doc);
  }

  forget(presentity: string, etag: string): void {
    this.cache.delete(`${presentity}\n${etag}`);
  }

  /**
   * RFC 4479 composition of every live publication. With none left, a `closed` document built from
   * the last one known (`last`), so watchers see the presentity go offline.
   */
  compose(presentity: string, live: readonly Publication[], last?: Publication): ComposedDocument {
    if (live.length === 0) {
      const doc = closedPidf(presentity, last ? this.tryParsed(last) : undefined);
      const content = serializePidf(doc);
      return { content, politeContent: () => content, empty: true, doc };
    }
    // A stored body that no longer parses (e.g. max_body_size lowered since) is left out of the
    // composition instead of silencing every watcher of the presentity until it expires.
    const parts = live.flatMap((p) => {
      const body = this.tryParsed(p);
      return body ? [{ body, receivedAt: p.receivedAt }] : [];
    });
    if (parts.length === 0) return this.compose(presentity, [], last);
    const doc = composePidf(presentity, parts);
    let polite: string | undefined;
    return {
      content: serializePidf(doc),
      politeContent: () => (polite ??= serializePidf(withBasic(doc, 'closed'))),
      empty: false,
      doc,
    };
  }

  private tryParsed(p: Publication): PidfDocument | undefined {
    try {
      return this.parsed(p);
    } catch {
      return undefined;
    }
  }
}
