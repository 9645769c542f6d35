/**
 * HTML for the admin page, escaped by construction: every value interpolated into `html\`...\`` goes through
 * escapeHtml unless it is already SafeHtml (made by `html` itself). Directory values (names, DNs, attribute
 * values) can hold markup; nothing reaches the page unescaped, so no script can run from the directory.
 */

const ESCAPES: Record<string, string> = {
  '&': '&amp;',
  '<': '&lt;',
  '>': '&gt;',
  '"': '&quot;',
  "'": '&#39;',
  '`': '&#96;',
};

/** The one escape function: text safe in element content and in quoted attribute values. */
export function escapeHtml(value: string | number | boolean | null | undefined): string {
  return String(value ?? '').replace(/[&<>"'`]/g, (c) => ESCAPES[c]);
}

/** Markup that is already safe (built by `html`). */
export class SafeHtml {
  constructor(readonly markup: string) {}
  toString(): string {
    return this.markup;
  }
}

type Interpolated = SafeHtml | string | number | boolean | null | undefined | readonly Interpolated[];

function isList(value: Interpolated): value is readonly Interpolated[] {
  return Array.isArray(value);
}

function render(value: Interpolated): string {
  if (value instanceof SafeHtml) return value.markup;
  if (isList(value)) return value.map((v) => render(v)).join('');
  if (value === null || value === undefined || value === false) return '';
  return escapeHtml(value);
}

/** A template whose values are escaped (arrays joined, null, undefined and false left out). */
export function html(strings: TemplateStringsArray, ...values: Interpolated[]): SafeHtml {
  let markup = strings[0];
  values.forEach((value, i) => (markup += render(value) + strings[i + 1]));
  return new SafeHtml(markup);
}
