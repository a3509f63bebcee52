// Test support: a small strict XML 1.0 parser, enough to prove junit.xml is
// well-formed and to read it back. It accepts only what the reporter emits
// (declaration, elements, attributes, text, references) and throws on anything
// else, including characters XML 1.0 forbids.

export interface XmlElement {
  readonly name: string;
  readonly attrs: Readonly<Record<string, string>>;
  readonly children: readonly XmlNode[];
}
export type XmlNode = XmlElement | string;

const NAME = /[A-Za-z_:][-A-Za-z0-9_:.]*/y;
const SPACE = /[ \t\r\n]*/y;
const INVALID_CHAR = /[^\t\n\r\u0020-\uD7FF\uE000-\uFFFD\u{10000}-\u{10FFFF}]/u;
const PREDEFINED: Readonly<Record<string, string>> = {
  lt: '<',
  gt: '>',
  amp: '&',
  quot: '"',
  apos: "'",
};

class Parser {
  private pos = 0;
  constructor(private readonly src: string) {}

  fail(what: string): never {
    throw new Error(`not well-formed XML at offset ${this.pos}: ${what}`);
  }

  private match(re: RegExp): string | undefined {
    re.lastIndex = this.pos;
    const m = re.exec(this.src);
    if (m === null) return undefined;
    this.pos += m[0].length;
    return m[0];
  }

  private space(): void {
    this.match(SPACE);
  }

  private expect(literal: string): void {
    if (!this.src.startsWith(literal, this.pos)) this.fail(`expected ${JSON.stringify(literal)}`);
    this.pos += literal.length;
  }

  private name(): string {
    return this.match(NAME) ?? this.fail('expected a name');
  }

  /** Decodes references in text or attribute values; a bare & is an error. */
  private decode(raw: string): string {
    return raw.replace(/&([^;]*);?/g, (whole, ref: string) => {
      if (!whole.endsWith(';')) this.fail(`bare & in ${JSON.stringify(raw)}`);
      const named = PREDEFINED[ref];
      if (named !== undefined) return named;
      const num = /^#(\d+)$/.exec(ref)?.[1];
      const hex = /^#x([0-9a-fA-F]+)$/.exec(ref)?.[1];
      const code = num !== undefined ? Number(num) : hex !== undefined ? parseInt(hex, 16) : NaN;
      if (!Number.isInteger(code) || code > 0x10ffff) this.fail(`unknown reference &${ref};`);
      const ch = String.fromCodePoint(code);
      if (INVALID_CHAR.test(ch)) this.fail(`reference to a forbidden character &${ref};`);
      return ch;
    });
  }

  document(): XmlElement {
    if (INVALID_CHAR.test(this.src)) this.fail('forbidden character in the document');
    if (this.src.startsWith('<?xml')) {
      const end = this.src.indexOf('?>');
      if (end < 0) this.fail('unterminated declaration');
      this.pos = end + 2;
    }
    this.misc();
    const root = this.element();
    this.misc();
    if (this.pos !== this.src.length) this.fail('content after the root element');
    return root;
  }

  private misc(): void {
    for (;;) {
      this.space();
      if (!this.src.startsWith('<!--', this.pos)) return;
      const end = this.src.indexOf('-->', this.pos);
      if (end < 0) this.fail('unterminated comment');
      this.pos = end + 3;
    }
  }

  private element(): XmlElement {
    this.expect('<');
    const name = this.name();
    const attrs: Record<string, string> = {};
    for (;;) {
      const before = this.pos;
      this.space();
      if (this.src.startsWith('/>', this.pos)) {
        this.pos += 2;
        return { name, attrs, children: [] };
      }
      if (this.src.startsWith('>', this.pos)) {
        this.pos += 1;
        break;
      }
      if (this.pos === before) this.fail('expected whitespace before an attribute');
      const attr = this.name();
      if (attr in attrs) this.fail(`duplicate attribute ${attr}`);
      this.space();
      this.expect('=');
      this.space();
      const quote = this.src[this.pos];
      if (quote !== '"' && quote !== "'") this.fail('expected a quoted attribute value');
      const end = this.src.indexOf(quote, this.pos + 1);
      if (end < 0) this.fail('unterminated attribute value');
      const raw = this.src.slice(this.pos + 1, end);
      if (raw.includes('<')) this.fail(`< in the value of ${attr}`);
      // Attribute-value normalisation: literal whitespace characters become spaces.
      attrs[attr] = this.decode(raw.replace(/[\t\n\r]/g, ' '));
      this.pos = end + 1;
    }
    const children: XmlNode[] = [];
    for (;;) {
      const lt = this.src.indexOf('<', this.pos);
      if (lt < 0) this.fail(`unclosed element ${name}`);
      const raw = this.src.slice(this.pos, lt);
      if (raw.includes(']]>')) this.fail(']]> in text');
      if (raw !== '') children.push(this.decode(raw));
      this.pos = lt;
      if (this.src.startsWith('</', this.pos)) {
        this.pos += 2;
        const closing = this.name();
        if (closing !== name) this.fail(`</${closing}> closes <${name}>`);
        this.space();
        this.expect('>');
        return { name, attrs, children };
      }
      if (this.src.startsWith('<!--', this.pos)) {
        this.misc();
        continue;
      }
      if (this.src.startsWith('<!', this.pos) || this.src.startsWith('<?', this.pos)) {
        this.fail('CDATA, DOCTYPE and processing instructions are not expected here');
      }
      children.push(this.element());
    }
  }
}

export function parseXml(text: string): XmlElement {
  return new Parser(text).document();
}

export function elements(node: XmlElement, name?: string): XmlElement[] {
  return node.children.filter(
    (c): c is XmlElement => typeof c !== 'string' && (name === undefined || c.name === name),
  );
}

/** Every descendant element with the given name, in document order. */
export function descendants(node: XmlElement, name: string): XmlElement[] {
  return elements(node).flatMap((c) => [...(c.name === name ? [c] : []), ...descendants(c, name)]);
}

export function textOf(node: XmlElement): string {
  return node.children.map((c) => (typeof c === 'string' ? c : textOf(c))).join('');
}

/** The <property> values of a testcase or testsuite, by name. */
export function properties(node: XmlElement): Record<string, string> {
  const props = elements(node, 'properties').flatMap((p) => elements(p, 'property'));
  return Object.fromEntries(props.map((p) => [p.attrs.name ?? '', p.attrs.value ?? '']));
}
