// A strict little XML parser, so the reporter tests can check that junit.xml is well-formed, and
// conformance and soak runs can read it back (read-junit.ts), without a new dependency. It covers what JUnit files use: the XML
// declaration, comments, processing instructions, elements, attributes, character and the five
// predefined entity references, and CDATA sections. DTDs are rejected. Anything it does not
// accept throws an XmlSyntaxError naming the offset.

export interface XmlElement {
  name: string;
  attributes: Record<string, string>;
  children: XmlNode[];
}

export type XmlNode = XmlElement | string;

export class XmlSyntaxError extends Error {
  constructor(message: string, offset: number) {
    super(`${message} at offset ${offset}`);
    this.name = 'XmlSyntaxError';
  }
}

const NAME = /[A-Za-z_:][-A-Za-z0-9_:.]*/y;
const NON_XML_CHAR = /[\u0000-\u0008\u000B\u000C\u000E-\u001F\uFFFE\uFFFF]/;
const ENTITIES: Record<string, string> = { lt: '<', gt: '>', amp: '&', quot: '"', apos: "'" };

export function parseXml(text: string): XmlElement {
  const bad = NON_XML_CHAR.exec(text);
  if (bad) throw new XmlSyntaxError(`character U+${bad[0].charCodeAt(0).toString(16)} not allowed`, bad.index);
  let pos = text.startsWith('\uFEFF') ? 1 : 0;

  const fail = (message: string): never => {
    throw new XmlSyntaxError(message, pos);
  };
  const expect = (literal: string) => {
    if (!text.startsWith(literal, pos)) fail(`expected ${JSON.stringify(literal)}`);
    pos += literal.length;
  };
  const skipSpace = () => {
    while (pos < text.length && ' \t\r\n'.includes(text[pos]!)) pos++;
  };
  const until = (terminator: string): string => {
    const end = text.indexOf(terminator, pos);
    if (end < 0) fail(`unterminated, expected ${JSON.stringify(terminator)}`);
    const body = text.slice(pos, end);
    pos = end + terminator.length;
    return body;
  };
  const name = (): string => {
    NAME.lastIndex = pos;
    const match = NAME.exec(text);
    if (!match) return fail('expected a name');
    pos += match[0].length;
    return match[0];
  };
  const decode = (raw: string, start: number): string =>
    raw.replace(/&([^;]*);?/g, (whole, ref: string, at: number) => {
      if (!whole.endsWith(';')) throw new XmlSyntaxError('bare "&"', start + at);
      if (ref in ENTITIES) return ENTITIES[ref]!;
      const code = /^#x[0-9a-fA-F]+$/.test(ref)
        ? Number.parseInt(ref.slice(2), 16)
        : /^#[0-9]+$/.test(ref)
          ? Number.parseInt(ref.slice(1), 10)
          : Number.NaN;
      if (Number.isNaN(code)) throw new XmlSyntaxError(`unknown entity &${ref};`, start + at);
      return String.fromCodePoint(code);
    });
  /** Comments and processing instructions, allowed around the root and inside elements. */
  const misc = (): boolean => {
    if (text.startsWith('<!--', pos)) {
      pos += 4;
      if (until('-->').includes('--')) fail('"--" inside a comment');
      return true;
    }
    if (text.startsWith('<?', pos)) {
      pos += 2;
      if (name().toLowerCase() === 'xml') fail('XML declaration not at the start');
      until('?>');
      return true;
    }
    return false;
  };

  const element = (): XmlElement => {
    expect('<');
    const el: XmlElement = { name: name(), attributes: {}, children: [] };
    for (;;) {
      const before = pos;
      skipSpace();
      if (text.startsWith('/>', pos)) {
        pos += 2;
        return el;
      }
      if (text[pos] === '>') {
        pos++;
        break;
      }
      if (pos === before) fail('expected whitespace before an attribute');
      const attr = name();
      if (attr in el.attributes) fail(`duplicate attribute ${attr}`);
      skipSpace();
      expect('=');
      skipSpace();
      const quote = text[pos];
      if (quote !== '"' && quote !== "'") return fail('expected a quoted attribute value');
      pos++;
      const start = pos;
      const raw = until(quote);
      if (raw.includes('<')) fail('"<" in an attribute value');
      el.attributes[attr] = decode(raw, start);
    }
    for (;;) {
      if (pos >= text.length) fail(`unclosed <${el.name}>`);
      if (text.startsWith('</', pos)) {
        pos += 2;
        const closing = name();
        if (closing !== el.name) fail(`</${closing}> closes <${el.name}>`);
        skipSpace();
        expect('>');
        return el;
      }
      if (text.startsWith('<![CDATA[', pos)) {
        pos += 9;
        el.children.push(until(']]>'));
      } else if (misc()) {
        // nothing to keep
      } else if (text[pos] === '<') {
        el.children.push(element());
      } else {
        const start = pos;
        const end = text.indexOf('<', pos);
        const raw = text.slice(pos, end < 0 ? text.length : end);
        if (raw.includes(']]>')) fail('"]]>" in text');
        pos += raw.length;
        el.children.push(decode(raw, start));
      }
    }
  };

  if (text.startsWith('<?xml', pos)) {
    pos += 5;
    until('?>');
  }
  skipSpace();
  while (misc()) skipSpace();
  if (text.startsWith('<!DOCTYPE', pos)) fail('DTDs are not supported');
  const root = element();
  skipSpace();
  while (misc()) skipSpace();
  if (pos < text.length) fail('content after the root element');
  return root;
}

/** Every element named `name` at or below `root`, in document order. */
export function findAll(root: XmlElement, name: string): XmlElement[] {
  const found: XmlElement[] = root.name === name ? [root] : [];
  for (const child of root.children) if (typeof child !== 'string') found.push(...findAll(child, name));
  return found;
}

/** The element's text, CDATA included, concatenated. */
export function textOf(el: XmlElement): string {
  return el.children.map((c) => (typeof c === 'string' ? c : textOf(c))).join('');
}
