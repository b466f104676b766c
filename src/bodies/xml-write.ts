/**
 * Deterministic XML writing for the element model: every namespace declared once on the root,
 * `defaultNs` unprefixed, preferred prefixes for well-known namespaces, original prefixes reused
 * for the rest when free, generated ones (`ns1`, `ns2`…) otherwise. Same tree → same bytes.
 */
import { XML_NS, type XmlElement } from './xml-model';

export interface SerializeOptions {
  /** Namespace written without prefix (e.g. PIDF: baresip matches `<basic>open</basic>` literally). */
  readonly defaultNs: string | null;
  /** Stable prefixes by namespace URI (e.g. data-model → dm, rpid → rpid). */
  readonly prefixes?: Readonly<Record<string, string>>;
  /** Two-space indentation between element-only children (insignificant whitespace). Default true. */
  readonly indent?: boolean;
}

export const XML_DECLARATION = '<?xml version="1.0" encoding="UTF-8"?>';

/** Character data: `&`, `<`, `>` (for `]]>`) and CR (which a reader would normalize away) escaped. */
export function escapeText(s: string): string {
  return escape(s, false);
}

/** Attribute values (double-quoted): also `"` and the whitespace that attribute normalization would fold. */
export function escapeAttr(s: string): string {
  return escape(s, true);
}

/**
 * One pass, no allocation when nothing needs escaping (the common case on the NOTIFY hot path).
 * XML 1.0 §2.2: characters outside Char ("#x9 | #xA | #xD | [#x20-#xD7FF] | [#xE000-#xFFFD] |
 * [#x10000-#x10FFFF]") cannot be written at all, not even as references: they are dropped.
 */
function escape(s: string, attr: boolean): string {
  let out = '';
  let last = 0;
  for (let i = 0; i < s.length; i++) {
    const c = s.charCodeAt(i);
    if ((c > 0x3e && c < 0xd800) || (c >= 0xe000 && c < 0xfffe)) continue;
    let rep: string | null;
    if (c >= 0xd800 && c <= 0xdbff && isLowSurrogate(s.charCodeAt(i + 1))) {
      i++;
      continue;
    } else if (c >= 0xd800) rep = ''; // lone surrogate, U+FFFE, U+FFFF
    else rep = asciiEscape(c, attr);
    if (rep === null) continue;
    out += s.slice(last, i) + rep;
    last = i + 1;
  }
  return last === 0 ? s : out + s.slice(last);
}

function isLowSurrogate(c: number): boolean {
  return c >= 0xdc00 && c <= 0xdfff;
}

/** Replacement for a code unit below 0x3F: an escape, '' to drop it, or null to keep it. */
function asciiEscape(c: number, attr: boolean): string | null {
  switch (c) {
    case 0x26: return '&amp;';
    case 0x3c: return '&lt;';
    case 0x3e: return '&gt;';
    case 0x0d: return '&#13;';
    case 0x22: return attr ? '&quot;' : null;
    case 0x09: return attr ? '&#9;' : null;
    case 0x0a: return attr ? '&#10;' : null;
    default: return c < 0x20 ? '' : null;
  }
}

/** Serialize `root` with the XML declaration. */
export function serializeXml(root: XmlElement, opts: SerializeOptions): string {
  const prefixes = assignPrefixes(collectNamespaces(root, opts.defaultNs), opts.prefixes ?? {});
  const w = new Writer(opts.defaultNs, prefixes, opts.indent ?? true);
  w.element(root, 0, null, true);
  return XML_DECLARATION + '\n' + w.out;
}

/** Namespaces needing a prefix, in document order, with the first prefix each was written with. */
function collectNamespaces(root: XmlElement, defaultNs: string | null): Map<string, string | null> {
  const found = new Map<string, string | null>();
  const walk = (e: XmlElement): void => {
    if (e.ns !== null && e.ns !== defaultNs && !found.has(e.ns)) found.set(e.ns, e.prefix ?? null);
    for (const a of e.attrs) {
      // Namespaces in XML §6.2: default namespace declarations do not apply to attributes.
      if (a.ns !== null && a.ns !== XML_NS && !found.has(a.ns)) found.set(a.ns, a.prefix ?? null);
    }
    for (const c of e.children) walk(c);
  };
  walk(root);
  return found;
}

function assignPrefixes(found: Map<string, string | null>, preferred: Readonly<Record<string, string>>): Map<string, string> {
  const byNs = new Map<string, string>();
  const used = new Set<string>(['xml', 'xmlns']);
  for (const ns of found.keys()) {
    const p = preferred[ns];
    if (p !== undefined && !used.has(p)) {
      byNs.set(ns, p);
      used.add(p);
    }
  }
  let n = 0;
  for (const [ns, hint] of found) {
    if (byNs.has(ns)) continue;
    let p = hint !== null && !used.has(hint) && !/^xml/i.test(hint) && !Object.values(preferred).includes(hint) ? hint : '';
    while (p === '' || used.has(p)) p = `ns${++n}`;
    byNs.set(ns, p);
    used.add(p);
  }
  return byNs;
}

class Writer {
  out = '';

  constructor(
    private readonly defaultNs: string | null,
    private readonly prefixes: ReadonlyMap<string, string>,
    private readonly indent: boolean,
  ) {}

  element(e: XmlElement, level: number, inScopeDefault: string | null, isRoot = false): void {
    const { name, defaultDecl, childDefault } = this.nameOf(e, inScopeDefault, isRoot);
    let tag = '<' + name + defaultDecl;
    if (isRoot) for (const [ns, p] of this.prefixes) tag += ` xmlns:${p}="${escapeAttr(ns)}"`;
    for (const a of e.attrs) tag += ` ${this.attrName(a.ns, a.local)}="${escapeAttr(a.value)}"`;
    if (e.children.length === 0 && e.text === '') {
      this.out += tag + '/>';
      return;
    }
    this.out += tag + '>' + escapeText(e.text);
    const pretty = this.indent && e.text === '';
    for (const c of e.children) {
      if (pretty) this.out += '\n' + '  '.repeat(level + 1);
      this.element(c, level + 1, childDefault);
    }
    if (pretty && e.children.length > 0) this.out += '\n' + '  '.repeat(level);
    this.out += '</' + name + '>';
  }

  /** Unprefixed when in the default namespace (or none), re-declaring `xmlns` when the scope differs. */
  private nameOf(e: XmlElement, inScope: string | null, isRoot: boolean): { name: string; defaultDecl: string; childDefault: string | null } {
    if (e.ns !== null && e.ns !== this.defaultNs) {
      return { name: `${this.prefixes.get(e.ns) as string}:${e.local}`, defaultDecl: '', childDefault: inScope };
    }
    const needsDecl = isRoot ? e.ns !== null : e.ns !== inScope;
    return { name: e.local, defaultDecl: needsDecl ? ` xmlns="${escapeAttr(e.ns ?? '')}"` : '', childDefault: e.ns };
  }

  private attrName(ns: string | null, local: string): string {
    if (ns === null) return local;
    if (ns === XML_NS) return `xml:${local}`;
    return `${this.prefixes.get(ns) as string}:${local}`;
  }
}
