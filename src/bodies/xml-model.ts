/**
 * The element model the codecs share: namespace-resolved, immutable by convention, no mixed content
 * (presence formats have none: an element holds child elements or text; if a foreign extension
 * mixes both, the text is kept but its position among the children is not).
 */
export const XML_NS = 'http://www.w3.org/XML/1998/namespace';

export interface XmlAttr {
  /** Namespace URI; null for an unprefixed attribute (Namespaces in XML §6.2: no namespace). */
  readonly ns: string | null;
  readonly local: string;
  /** The prefix as written, a hint for serialization only (never used for matching). */
  readonly prefix?: string | null;
  readonly value: string;
}

export interface XmlElement {
  /** Namespace URI, or null for no namespace. */
  readonly ns: string | null;
  readonly local: string;
  /** The prefix as written, a hint for serialization only (never used for matching). */
  readonly prefix?: string | null;
  readonly attrs: readonly XmlAttr[];
  readonly children: readonly XmlElement[];
  /** Character data directly inside this element (entities decoded, CDATA unwrapped). */
  readonly text: string;
}

/** Build an element. */
export function el(
  ns: string | null,
  local: string,
  init: { attrs?: readonly XmlAttr[]; children?: readonly XmlElement[]; text?: string; prefix?: string | null } = {},
): XmlElement {
  return { ns, local, prefix: init.prefix ?? null, attrs: init.attrs ?? [], children: init.children ?? [], text: init.text ?? '' };
}

/** An unprefixed (no-namespace) attribute. */
export function attr(local: string, value: string): XmlAttr {
  return { ns: null, local, value };
}

export function isElement(e: XmlElement, ns: string | null, local: string): boolean {
  return e.local === local && e.ns === ns;
}

export function attrValue(e: XmlElement, local: string, ns: string | null = null): string | undefined {
  for (const a of e.attrs) if (a.local === local && a.ns === ns) return a.value;
  return undefined;
}

export function childrenNamed(e: XmlElement, ns: string | null, local: string): XmlElement[] {
  return e.children.filter((c) => c.local === local && c.ns === ns);
}

export function firstChild(e: XmlElement, ns: string | null, local: string): XmlElement | undefined {
  return e.children.find((c) => c.local === local && c.ns === ns);
}

/** Every descendant (not `e` itself) named ns:local, in document order. */
export function descendantsNamed(e: XmlElement, ns: string | null, local: string): XmlElement[] {
  const out: XmlElement[] = [];
  const walk = (x: XmlElement): void => {
    for (const c of x.children) {
      if (c.local === local && c.ns === ns) out.push(c);
      walk(c);
    }
  };
  walk(e);
  return out;
}

/** A copy of `e` with some fields replaced. */
export function withChanges(e: XmlElement, changes: Partial<Omit<XmlElement, 'ns' | 'local'>>): XmlElement {
  return { ...e, ...changes };
}

/** Structural equality (namespaces, names, attributes in order, text, children); prefixes ignored. */
export function sameElement(a: XmlElement, b: XmlElement): boolean {
  if (a.ns !== b.ns || a.local !== b.local || a.text !== b.text) return false;
  if (a.attrs.length !== b.attrs.length || a.children.length !== b.children.length) return false;
  for (let i = 0; i < a.attrs.length; i++) {
    const x = a.attrs[i] as XmlAttr;
    const y = b.attrs[i] as XmlAttr;
    if (x.ns !== y.ns || x.local !== y.local || x.value !== y.value) return false;
  }
  for (let i = 0; i < a.children.length; i++) if (!sameElement(a.children[i] as XmlElement, b.children[i] as XmlElement)) return false;
  return true;
}
