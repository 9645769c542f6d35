#!/usr/bin/env node
/**
 * Checks every relative link of the repository's Markdown files: the file must exist and a `#anchor` must be a
 * heading of that file, by GitHub's slug rules (lower case; punctuation other than `-` and `_` dropped; each
 * space a hyphen; a repeated heading gets `-1`, `-2`…). Links to this repository's GitHub address (the
 * library's README uses them, as it is read on the registry too) are checked against the checkout the same way.
 *
 *   node scripts/check-doc-links.mjs          checks, exit 1 naming every broken link
 *   node scripts/check-doc-links.mjs --toc    first rewrites each `<!-- toc -->…<!-- /toc -->` block from the
 *                                             file's ## and ### headings
 */
/* global console, process, URL */
import { existsSync, readFileSync, readdirSync, writeFileSync } from 'node:fs';
import { dirname, join, relative, resolve } from 'node:path';

const root = resolve(dirname(new URL(import.meta.url).pathname), '..');
// The library's repository field, git+https://github.com/owner/name.git → https://github.com/owner/name
const REPOSITORY_URL = /"url":\s*"git\+(https:\/\/github\.com\/[^"]+?)\.git"/.exec(
  readFileSync(join(root, 'libs/ldap-auth/package.json'), 'utf8'),
)?.[1];
const SKIP = new Set(['node_modules', 'dist', '.git', '.ci', 'coverage', 'data', 'test']);

/** @param {string} dir @returns {string[]} */
function markdownFiles(dir) {
  return readdirSync(dir, { withFileTypes: true }).flatMap((entry) => {
    if (SKIP.has(entry.name)) return [];
    const path = join(dir, entry.name);
    if (entry.isDirectory()) return markdownFiles(path);
    return entry.name.endsWith('.md') ? [path] : [];
  });
}

/**
 * The lines outside fenced code blocks, with their numbers.
 * @param {string} text
 * @returns {{ line: string, number: number }[]}
 */
function proseLines(text) {
  /** @type {string | null} */
  let fence = null;
  /** @type {{ line: string, number: number }[]} */
  const lines = [];
  text.split('\n').forEach((line, index) => {
    const marker = /^\s*(```+|~~~+)/.exec(line)?.[1];
    if (marker && (fence === null || marker.startsWith(fence))) fence = fence === null ? marker : null;
    else if (fence === null) lines.push({ line, number: index + 1 });
  });
  return lines;
}

/** @param {string} heading */
function slug(heading) {
  return heading
    .trim()
    .toLowerCase()
    .replace(/<[^>]+>/g, '')
    .replace(/[^\p{L}\p{N}\s_-]/gu, '')
    .replace(/\s/g, '-');
}

/**
 * @param {string} text
 * @returns {{ level: number, text: string, anchor: string }[]}
 */
function headings(text) {
  /** @type {Map<string, number>} */
  const seen = new Map();
  return proseLines(text).flatMap(({ line }) => {
    const match = /^(#{1,6})\s+(.*?)\s*#*\s*$/.exec(line);
    if (!match) return [];
    const base = slug(match[2]);
    const count = seen.get(base) ?? 0;
    seen.set(base, count + 1);
    return [{ level: match[1].length, text: match[2], anchor: count ? `${base}-${count}` : base }];
  });
}

/** @param {string} text */
function tableOfContents(text) {
  const entries = headings(text).filter((h) => h.level === 2 || h.level === 3);
  const items = entries.map((h) => `${h.level === 3 ? '  ' : ''}- [${h.text}](#${h.anchor})`);
  return text.replace(/<!-- toc -->[\s\S]*?<!-- \/toc -->/, `<!-- toc -->\n\n${items.join('\n')}\n\n<!-- /toc -->`);
}

const files = markdownFiles(root);
if (process.argv.includes('--toc')) {
  for (const file of files) {
    const text = readFileSync(file, 'utf8');
    if (text.includes('<!-- toc -->')) writeFileSync(file, tableOfContents(text));
  }
}

/** @type {Map<string, Set<string>>} */
const anchorsOf = new Map();
/** @param {string} file @returns {Set<string>} */
const anchors = (file) => {
  if (!anchorsOf.has(file)) anchorsOf.set(file, new Set(headings(readFileSync(file, 'utf8')).map((h) => h.anchor)));
  return /** @type {Set<string>} */ (anchorsOf.get(file));
};
const problems = [];
for (const file of files) {
  for (const { line, number } of proseLines(readFileSync(file, 'utf8'))) {
    for (const [, target] of line.replace(/`[^`]*`/g, '').matchAll(/\]\(([^)\s]+)\)/g)) {
      let link = target;
      if (REPOSITORY_URL && link.startsWith(`${REPOSITORY_URL}/blob/main/`))
        link = relative(dirname(file), join(root, link.slice(`${REPOSITORY_URL}/blob/main/`.length))) || '.';
      else if (REPOSITORY_URL && link.startsWith(`${REPOSITORY_URL}/tree/main/`))
        link = relative(dirname(file), join(root, link.slice(`${REPOSITORY_URL}/tree/main/`.length))) || '.';
      if (/^[a-z]+:/i.test(link)) continue;
      const [path, anchor] = link.split('#');
      const targetFile = path ? resolve(dirname(file), decodeURIComponent(path)) : file;
      const where = `${relative(root, file)}:${number}: ${target}`;
      if (!existsSync(targetFile)) problems.push(`${where}: no such file`);
      else if (anchor !== undefined && targetFile.endsWith('.md') && !anchors(targetFile).has(anchor))
        problems.push(`${where}: no heading "#${anchor}" in ${relative(root, targetFile)}`);
    }
  }
}
if (problems.length) {
  console.error(`Broken Markdown links (${problems.length}):\n${problems.join('\n')}`);
  process.exit(1);
}
console.log(`Markdown links: ${files.length} files checked, every relative link and anchor resolves`);
