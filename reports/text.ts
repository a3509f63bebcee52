// Text safety shared by the XML and HTML reporters. Failure messages and
// counterexamples come from servers under test, so they may hold anything.

/** XML 1.0 Char production: tab, LF, CR, and the ranges below; everything else is invalid. */
function isXmlChar(code: number): boolean {
  return (
    code === 0x9 ||
    code === 0xa ||
    code === 0xd ||
    (code >= 0x20 && code <= 0xd7ff) ||
    (code >= 0xe000 && code <= 0xfffd) ||
    (code >= 0x10000 && code <= 0x10ffff)
  );
}

/**
 * Replaces every character XML 1.0 forbids (C0 controls other than tab, LF and CR,
 * lone surrogates, U+FFFE, U+FFFF) by a visible `\uXXXX`, so the document stays
 * well-formed and a counterexample holding a NUL still shows where it was.
 */
export function cleanText(text: string): string {
  let out = '';
  for (const ch of text) {
    const code = ch.codePointAt(0) ?? 0;
    out += isXmlChar(code) ? ch : `\\u${code.toString(16).padStart(4, '0')}`;
  }
  return out;
}

const ENTITIES: Readonly<Record<string, string>> = {
  '&': '&amp;',
  '<': '&lt;',
  '>': '&gt;',
  '"': '&quot;',
  "'": '&#39;',
  '\t': '&#9;',
  '\n': '&#10;',
  '\r': '&#13;',
};
const entity = (c: string): string => ENTITIES[c] ?? c;

/**
 * Escapes element content in XML or HTML. Escaping `>` as well keeps `]]>` out;
 * quotes stay readable since they mean nothing in content.
 */
export function escapeText(text: string): string {
  return cleanText(text).replace(/[&<>]/g, entity);
}

/**
 * Escapes an attribute value (written between double quotes). Tab, LF and CR
 * become character references because XML attribute-value normalisation would
 * otherwise turn them into spaces.
 */
export function escapeAttr(text: string): string {
  return cleanText(text).replace(/[&<>"'\t\n\r]/g, entity);
}
