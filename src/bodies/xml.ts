/**
 * Safe XML reading for presence bodies: a namespace-resolved element tree built on fast-xml-parser.
 *
 * Defences, in the order they run (each is cheap and bounded before the next, costlier one):
 *   1. size      — over `maxBytes` → ENTITY_TOO_LARGE (413) before any decoding;
 *   2. encoding  — strict UTF-8 (`TextDecoder` fatal), only UTF-8/US-ASCII declarations accepted;
 *   3. DTDs      — any `<!DOCTYPE` / `<!ENTITY` is refused ("DTD not allowed"): no XXE, no billion laughs;
 *   4. depth     — a linear pre-scan stops at `maxDepth` open elements, so a 100k-deep document is
 *                  refused after reading ~maxDepth tags, and nothing below ever recurses deeper;
 *   5. well-formedness — `XMLValidator.validate`, then our own checks the validator skips
 *                  (single root, XML Char range, entity references, `<` in attribute values);
 *   6. namespaces — fast-xml-parser keeps prefixes as written; we resolve `xmlns`/`xmlns:p` with scoping.
 * Pure: no I/O, no environment.
 */
import { XMLParser, XMLValidator } from 'fast-xml-parser';
import { XML_NS, type XmlAttr, type XmlElement } from './xml-model';
import { BodyError } from './errors';

export { BodyError } from './errors';
export type { BodyErrorCode } from './errors';
export * from './xml-model';
export { serializeXml, escapeText, escapeAttr, XML_DECLARATION } from './xml-write';
export type { SerializeOptions } from './xml-write';

export const DEFAULT_MAX_BYTES = 64 * 1024;
export const DEFAULT_MAX_DEPTH = 64;
/** Largest `maxDepth` a caller may ask for. */
export const MAX_DEPTH_LIMIT = 1024;
const DANGER_MARK = '\u0000';

export interface ParseXmlOptions {
  /** Largest body accepted, in bytes (UTF-8). Larger → BodyError ENTITY_TOO_LARGE. */
  readonly maxBytes?: number;
  /** Deepest element nesting accepted (the root is depth 1). */
  readonly maxDepth?: number;
}

const XMLNS_URI = 'http://www.w3.org/2000/xmlns/';
const utf8 = new TextDecoder('utf-8', { fatal: true });
/** XML 1.0 §2.2 Char: "#x9 | #xA | #xD | [#x20-#xD7FF] | [#xE000-#xFFFD] | [#x10000-#x10FFFF]". */
const NON_XML_CHAR = /[^\t\n\r\u0020-\uD7FF\uE000-\uFFFD\u{10000}-\u{10FFFF}]/u;
const LONE_SURROGATE = /[\uD800-\uDBFF](?![\uDC00-\uDFFF])|(?<![\uD800-\uDBFF])[\uDC00-\uDFFF]/;
const DTD = /<!DOCTYPE|<!ENTITY/i;
const DECLARED_ENCODING = /^<\?xml[^>]*?\sencoding\s*=\s*["']([^"']*)["']/;
const NCNAME = /^[A-Za-z_\u00C0-\uFFFF][\w.\-\u00B7\u00C0-\uFFFF]*$/;

const parser = new XMLParser({
  preserveOrder: true,
  ignoreAttributes: false,
  attributeNamePrefix: '',
  processEntities: false, // no DTD entities, ever; the five predefined ones are decoded below
  htmlEntities: false,
  parseTagValue: false,
  parseAttributeValue: false,
  trimValues: false,
  cdataPropName: '#cdata',
  ignoreDeclaration: true,
  ignorePiTags: true,
  maxNestedTags: MAX_DEPTH_LIMIT, // a backstop only: scanDepth enforces the real limit first
  // Names like `toString` are renamed by fast-xml-parser; mark them with a character no XML name can
  // contain so they map back exactly (`__proto__`, `constructor`, `prototype` are refused outright).
  onDangerousProperty: (name: string) => DANGER_MARK + name,
});
const unmark = (name: string): string => (name.charCodeAt(0) === 0 ? name.slice(1) : name);

/** Parse a body into its root element, namespace-resolved. Throws BodyError, never anything else. */
export function parseXml(body: Buffer | string, opts: ParseXmlOptions = {}): XmlElement {
  const maxDepth = Math.min(opts.maxDepth ?? DEFAULT_MAX_DEPTH, MAX_DEPTH_LIMIT);
  // XML 1.0 §2.11: "translating both the two-character sequence #xD #xA and any #xD that is not
  // followed by #xA to a single #xA character" (baresip sends CRLF bodies).
  const xml = decodeBody(body, opts.maxBytes ?? DEFAULT_MAX_BYTES).replace(/\r\n?/g, '\n');
  if (DTD.test(xml)) throw new BodyError('BAD_BODY', 'DTD not allowed');
  checkEncodingDeclaration(xml);
  if (NON_XML_CHAR.test(xml)) throw new BodyError('BAD_BODY', 'character not allowed in XML');
  scanDepth(xml, maxDepth);
  const valid = XMLValidator.validate(xml);
  if (valid !== true) throw new BodyError('BAD_BODY', `not well-formed XML: ${valid.err.msg}`);
  let nodes: RawNode[];
  try {
    nodes = parser.parse(xml) as RawNode[];
  } catch (e) {
    throw new BodyError('BAD_BODY', `not well-formed XML: ${(e as Error).message}`);
  }
  return buildRoot(nodes, maxDepth);
}

/** Size check, then strict UTF-8 decoding (a BOM is dropped). */
export function decodeBody(body: Buffer | string, maxBytes: number): string {
  if (typeof body === 'string') {
    if (body.length > maxBytes || Buffer.byteLength(body, 'utf8') > maxBytes) throw tooLarge(maxBytes);
    if (LONE_SURROGATE.test(body)) throw new BodyError('BAD_BODY', 'invalid UTF-16 text');
    return body.charCodeAt(0) === 0xfeff ? body.slice(1) : body;
  }
  if (body.length > maxBytes) throw tooLarge(maxBytes);
  try {
    return utf8.decode(body);
  } catch {
    throw new BodyError('BAD_BODY', 'invalid UTF-8');
  }
}

function tooLarge(maxBytes: number): BodyError {
  return new BodyError('ENTITY_TOO_LARGE', `body larger than ${maxBytes} bytes`);
}

function checkEncodingDeclaration(xml: string): void {
  const enc = DECLARED_ENCODING.exec(xml)?.[1]?.toLowerCase();
  if (enc !== undefined && enc !== 'utf-8' && enc !== 'utf8' && enc !== 'us-ascii') {
    throw new BodyError('BAD_BODY', `unsupported encoding ${enc}`);
  }
}

/**
 * One linear pass over the markup: counts open elements and stops as soon as the depth passes
 * `maxDepth`, and refuses character data outside the root (which the parser would silently drop).
 * Skips comments, CDATA, PIs and quoted attribute values; anything malformed is left to the validator.
 */
export function scanDepth(xml: string, maxDepth: number): void {
  let depth = 0;
  let i = xml.indexOf('<');
  outsideRoot(xml.slice(0, i === -1 ? undefined : i));
  while (i !== -1) {
    const end = endOfMarkup(xml, i);
    if (end === -1) return;
    const next = xml.charCodeAt(i + 1);
    // Markup declarations (<!ELEMENT, <!ATTLIST, <!NOTATION…) only belong in a DTD.
    if (next === 0x21 && !xml.startsWith('<!--', i) && !xml.startsWith('<![CDATA[', i)) throw new BodyError('BAD_BODY', 'DTD not allowed');
    if (next === 0x2f /* / */) depth--;
    else if (next !== 0x3f /* ? */ && next !== 0x21 /* ! */ && xml.charCodeAt(end - 1) !== 0x2f) {
      if (++depth > maxDepth) throw new BodyError('BAD_BODY', `XML nested deeper than ${maxDepth}`);
    }
    i = xml.indexOf('<', end + 1);
    if (depth <= 0) outsideRoot(xml.slice(end + 1, i === -1 ? undefined : i));
  }
}

/** XML 1.0 §2.1 [1] document ::= prolog element Misc* — only whitespace, comments and PIs around the root. */
function outsideRoot(text: string): void {
  if (/\S/.test(text)) throw new BodyError('BAD_BODY', 'not well-formed XML: text outside the root element');
}

/** Index of the `>` closing the markup that starts at `i`, or -1. */
function endOfMarkup(xml: string, i: number): number {
  const close = (s: string): number => {
    const at = xml.indexOf(s, i);
    return at === -1 ? -1 : at + s.length - 1;
  };
  if (xml.startsWith('<!--', i)) return close('-->');
  if (xml.startsWith('<![CDATA[', i)) return close(']]>');
  if (xml.startsWith('<?', i)) return close('?>');
  let quote = 0;
  for (let j = i + 1; j < xml.length; j++) {
    const c = xml.charCodeAt(j);
    if (quote !== 0) {
      if (c === quote) quote = 0;
    } else if (c === 0x22 || c === 0x27) quote = c;
    else if (c === 0x3e /* > */) return j;
  }
  return -1;
}

// ---- building the namespace-resolved tree from fast-xml-parser's ordered output ----

/** fast-xml-parser preserveOrder node: `{ tag: RawNode[], ':@'?: attrs }`, `{ '#text': s }`, `{ '#cdata': [...] }`. */
type RawNode = Record<string, unknown>;
type Scope = ReadonlyMap<string, string>;

const ROOT_SCOPE: Scope = new Map([['xml', XML_NS]]);

function buildRoot(nodes: RawNode[], maxDepth: number): XmlElement {
  const elements = nodes.filter((n) => tagOf(n) !== undefined);
  // XML 1.0 §2.1: "There is exactly one element, called the root, or document element".
  if (elements.length !== 1) throw new BodyError('BAD_BODY', 'not well-formed XML: expected one root element');
  for (const n of nodes) {
    if ('#text' in n && String(n['#text']).trim() !== '') throw new BodyError('BAD_BODY', 'not well-formed XML: text outside the root element');
  }
  return buildElement(elements[0] as RawNode, ROOT_SCOPE, 1, maxDepth);
}

function tagOf(node: RawNode): string | undefined {
  for (const k of Object.keys(node)) if (k !== ':@' && k !== '#text' && k !== '#cdata') return k;
  return undefined;
}

function buildElement(node: RawNode, parentScope: Scope, depth: number, maxDepth: number): XmlElement {
  if (depth > maxDepth) throw new BodyError('BAD_BODY', `XML nested deeper than ${maxDepth}`);
  const key = tagOf(node) as string;
  const qname = unmark(key);
  const rawAttrs = (node[':@'] ?? {}) as Record<string, unknown>;
  const scope = declareNamespaces(rawAttrs, parentScope);
  const { prefix, local } = splitQName(qname);
  const ns = resolvePrefix(prefix, scope, qname);
  const attrs = resolveAttrs(rawAttrs, scope);
  const children: XmlElement[] = [];
  let text = '';
  for (const child of node[key] as RawNode[]) {
    if ('#text' in child) text += decodeEntities(child['#text'] as string);
    else if ('#cdata' in child) text += (child['#cdata'] as RawNode[]).map((t) => (t['#text'] as string | undefined) ?? '').join('');
    else if (tagOf(child) !== undefined) children.push(buildElement(child, scope, depth + 1, maxDepth));
  }
  // Whitespace between child elements is layout, not content.
  if (children.length > 0 && text.trim() === '') text = '';
  return { ns, local, prefix, attrs, children, text };
}

/** Namespaces in XML §6.1: a declaration applies to the element it is on and to its descendants. */
function declareNamespaces(rawAttrs: Record<string, unknown>, parent: Scope): Scope {
  let scope: Map<string, string> | undefined;
  for (const [name, raw] of Object.entries(rawAttrs)) {
    if (name !== 'xmlns' && !name.startsWith('xmlns:')) continue;
    const prefix = name === 'xmlns' ? '' : name.slice(6);
    const uri = decodeAttrValue(String(raw));
    // Namespaces in XML §3: "The prefix xmlns ... MUST NOT be declared"; xml only to its own URI.
    if (prefix === 'xmlns' || uri === XMLNS_URI) throw new BodyError('BAD_BODY', 'reserved namespace prefix xmlns');
    if ((prefix === 'xml') !== (uri === XML_NS)) throw new BodyError('BAD_BODY', 'reserved namespace prefix xml');
    // Namespaces in XML §4 (XML 1.0): "empty values MUST NOT be used" to undeclare a prefix.
    if (prefix !== '' && (uri === '' || !NCNAME.test(prefix))) throw new BodyError('BAD_BODY', `bad namespace declaration ${name}`);
    scope ??= new Map(parent);
    scope.set(prefix, uri);
  }
  return scope ?? parent;
}

function splitQName(qname: string): { prefix: string | null; local: string } {
  const parts = qname.split(':');
  if (parts.length > 2 || parts.some((p) => !NCNAME.test(p))) throw new BodyError('BAD_BODY', `bad XML name ${qname}`);
  return parts.length === 2 ? { prefix: parts[0] as string, local: parts[1] as string } : { prefix: null, local: qname };
}

function resolvePrefix(prefix: string | null, scope: Scope, qname: string): string | null {
  // Namespaces in XML §6.2: "the default namespace ... applies to the element ... and not to attributes";
  // an empty default (xmlns="") means no namespace.
  if (prefix === null) return scope.get('') || null;
  const uri = scope.get(prefix);
  if (uri === undefined || uri === '') throw new BodyError('BAD_BODY', `unbound namespace prefix in ${qname}`);
  return uri;
}

function resolveAttrs(rawAttrs: Record<string, unknown>, scope: Scope): XmlAttr[] {
  const attrs: XmlAttr[] = [];
  const seen = new Set<string>();
  for (const [marked, raw] of Object.entries(rawAttrs)) {
    const name = unmark(marked);
    if (name === 'xmlns' || name.startsWith('xmlns:')) continue;
    const { prefix, local } = splitQName(name);
    const ns = prefix === null ? null : resolvePrefix(prefix, scope, name);
    // Namespaces in XML §6.3: "No tag may contain two attributes which ... have qualified names
    // with the same local part and with prefixes which have been bound to namespace names that are identical."
    const key = `${ns ?? ''} ${local}`;
    if (seen.has(key)) throw new BodyError('BAD_BODY', `duplicate attribute ${name}`);
    seen.add(key);
    attrs.push({ ns, local, prefix, value: decodeAttrValue(String(raw)) });
  }
  return attrs;
}

/** XML 1.0 §3.3.3 attribute-value normalization for CDATA attributes, then references. */
function decodeAttrValue(raw: string): string {
  // XML 1.0 §3.1 [10] AttValue: "'"' ([^<&"] | Reference)* '"'" — a literal `<` is not allowed.
  if (raw.includes('<')) throw new BodyError('BAD_BODY', "not well-formed XML: '<' in attribute value");
  return decodeEntities(raw.replace(/[\t\n]/g, ' '));
}

const REFERENCE = /&(#x[0-9a-fA-F]{1,6}|#[0-9]{1,7}|lt|gt|amp|quot|apos)?(;)?/g;
const PREDEFINED: Readonly<Record<string, string>> = { lt: '<', gt: '>', amp: '&', quot: '"', apos: "'" };

/** The five predefined entities and character references; any other `&` is an error (no DTD, no entities). */
export function decodeEntities(s: string): string {
  if (!s.includes('&')) return s;
  return s.replace(REFERENCE, (_m, ref: string | undefined, semi: string | undefined) => {
    if (ref === undefined || semi === undefined) throw new BodyError('BAD_BODY', 'not well-formed XML: undeclared entity reference');
    const named = PREDEFINED[ref];
    if (named !== undefined) return named;
    const code = ref.startsWith('#x') ? parseInt(ref.slice(2), 16) : parseInt(ref.slice(1), 10);
    // XML 1.0 §4.1 WFC Legal Character: "Characters referred to using character references MUST match the production for Char."
    const ch = code <= 0x10ffff ? String.fromCodePoint(code) : '\u0000';
    if (NON_XML_CHAR.test(ch) || (code >= 0xd800 && code <= 0xdfff)) throw new BodyError('BAD_BODY', 'not well-formed XML: illegal character reference');
    return ch;
  });
}
