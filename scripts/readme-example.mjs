#!/usr/bin/env node
/**
 * Prints the code block a README marks as its test example: the fenced block right after the line
 * `<!-- readme-test -->` (blank lines between them allowed). scripts/check-package.sh runs what this prints in
 * its scratch app, so the example users copy cannot rot. Fails, naming the README, when there is no marker,
 * more than one, no fenced block right after it, or the block is never closed.
 *
 *   node scripts/readme-example.mjs libs/ldap-auth/README.md > example.test.ts
 */
/* global console, process */
import { readFileSync } from 'node:fs';

const MARKER = '<!-- readme-test -->';
const file = process.argv[2];
if (!file) fail('usage: node scripts/readme-example.mjs <README.md>');

const lines = readFileSync(file, 'utf8').split('\n');
const markers = lines.flatMap((line, index) => (line.trim() === MARKER ? [index] : []));
if (markers.length !== 1) fail(`${file}: expected one "${MARKER}" line, found ${markers.length}`);

let start = markers[0] + 1;
while (start < lines.length && lines[start].trim() === '') start++;
const fence = /^(`{3,}|~{3,})\s*(ts|typescript)\s*$/.exec(lines[start] ?? '');
if (!fence) fail(`${file}:${start + 1}: "${MARKER}" must be followed by a \`\`\`ts code block`);

const end = lines.findIndex((line, index) => index > start && line.trim() === fence[1]);
if (end === -1) fail(`${file}:${start + 1}: the test example's code block is never closed`);
const code = lines.slice(start + 1, end).join('\n');
if (!code.trim()) fail(`${file}:${start + 1}: the test example's code block is empty`);
process.stdout.write(`// Extracted from ${file} (the block after ${MARKER}); do not edit here.\n${code}\n`);

function fail(message) {
  console.error(message);
  process.exit(1);
}
