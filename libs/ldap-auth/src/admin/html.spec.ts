import { describe, expect, it } from '@jest/globals';
import { escapeHtml, html } from './html.js';

describe('escapeHtml', () => {
  it('escapes the characters that start markup or end an attribute value', () => {
    expect(escapeHtml(`<img src=x onerror=alert(1)>`)).toBe('&lt;img src=x onerror=alert(1)&gt;');
    expect(escapeHtml(`a & "b" 'c' \`d\``)).toBe('a &amp; &quot;b&quot; &#39;c&#39; &#96;d&#96;');
  });

  it('leaves other text alone, non-ASCII included, and writes nothing for null and undefined', () => {
    expect(escapeHtml('cn=Zoë Çelik-Ødegård,ou=people')).toBe('cn=Zoë Çelik-Ødegård,ou=people');
    expect(escapeHtml(null)).toBe('');
    expect(escapeHtml(undefined)).toBe('');
    expect(escapeHtml(42)).toBe('42');
  });
});

describe('html', () => {
  // Called through another name: Prettier reformats templates tagged `html` as HTML.
  const tag = html;

  it('escapes every value, in text and in attributes', () => {
    const name = '"><script>alert(1)</script>';
    expect(tag`<input value="${name}"><p>${name}</p>`.markup).toBe(
      '<input value="&quot;&gt;&lt;script&gt;alert(1)&lt;/script&gt;"><p>&quot;&gt;&lt;script&gt;alert(1)&lt;/script&gt;</p>',
    );
  });

  it('keeps markup built by html, joins arrays and drops false, null and undefined', () => {
    const items = ['<a>', 'b'].map((x) => tag`<li>${x}</li>`);
    expect(tag`<ul>${items}</ul>${false}${null}${undefined}`.markup).toBe('<ul><li>&lt;a&gt;</li><li>b</li></ul>');
  });
});
