import { describe, expect, test } from 'vitest';
import { cleanText, escapeAttr, escapeText } from './text.ts';

describe('cleanText', () => {
  test('keeps tab, LF, CR, non-ASCII and astral characters', () => {
    const text = 'a\tb\nc\rd é ∀ 😀 \uE000 \uFFFD';
    expect(cleanText(text)).toBe(text);
  });

  test('makes characters XML 1.0 forbids visible instead of writing them', () => {
    expect(cleanText('a\u0000b\u0007c\u001bd\u007f')).toBe('a\\u0000b\\u0007c\\u001bd\u007f');
    expect(cleanText('\uFFFE\uFFFF')).toBe('\\ufffe\\uffff');
    // Lone surrogates are not characters at all.
    expect(cleanText('x\uD800y\uDC00')).toBe('x\\ud800y\\udc00');
  });
});

describe('escaping', () => {
  test('content escapes &, < and >, so ]]> cannot appear', () => {
    expect(escapeText(`<a href="x">'&'</a> ]]>\n`)).toBe(
      `&lt;a href="x"&gt;'&amp;'&lt;/a&gt; ]]&gt;\n`,
    );
  });

  test('attributes also escape both quotes and keep tab, LF and CR as references', () => {
    expect(escapeAttr(`a\tb\nc\rd<"'&\u0001`)).toBe(
      'a&#9;b&#10;c&#13;d&lt;&quot;&#39;&amp;\\u0001',
    );
  });
});
