#!/usr/bin/env node
// The library's import graph, checked: no cycle, and no file importing a folder above its own layer.
// Usage: node scripts/check-imports.mjs   (exit 1 with the offending imports listed)
/* global console, process */
import { readdirSync, readFileSync, statSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

const ROOT = path.join(path.dirname(fileURLToPath(import.meta.url)), '..', 'libs', 'ldap-auth', 'src');

/**
 * Folders (and root files) from the bottom up: a file may import its own folder and those listed before it,
 * never one listed after it. The module and the index sit on top.
 */
const LAYERS = [
  'logging',
  'metrics',
  'errors',
  'ldap-auth.constants.ts',
  'interfaces',
  'model',
  'entities',
  'config',
  'formatting',
  'events',
  'group-mirroring',
  'directory',
  'sync-reader',
  'persistence',
  'migrations',
  'database',
  'sync',
  'link',
  'login',
  'check',
  'diagnostics',
  'health',
  'strategy',
  'admin',
  'testing',
  'ldap-auth.module-definition.ts',
  'ldap-auth.module.ts',
  'index.ts',
];
const rankOf = new Map(LAYERS.map((name, rank) => [name, rank]));

/**
 * @param {string} dir
 * @returns {string[]}
 */
function sourceFiles(dir) {
  return readdirSync(dir).flatMap((name) => {
    const full = path.join(dir, name);
    if (statSync(full).isDirectory()) return sourceFiles(full);
    return name.endsWith('.ts') && !name.endsWith('.spec.ts') && !name.endsWith('.d.ts') ? [full] : [];
  });
}

const IMPORT = /(?:^|\n)\s*(?:import|export)\s[^;]*?from\s+['"](\.[^'"]+)['"]|import\(\s*['"](\.[^'"]+)['"]\s*\)/g;
const files = sourceFiles(ROOT);
/** @type {Map<string, string[]>} */
const edges = new Map();
for (const file of files) {
  const text = readFileSync(file, 'utf8');
  /** @type {Set<string>} */
  const targets = new Set();
  for (const match of text.matchAll(IMPORT)) {
    const spec = match[1] ?? match[2] ?? '';
    targets.add(path.resolve(path.dirname(file), spec.replace(/\.js$/, '.ts')));
  }
  edges.set(
    file,
    [...targets].filter((t) => edges.has(t) || files.includes(t)),
  );
}

/** @param {string} file */
const unit = (file) => path.relative(ROOT, file).split(path.sep)[0];
/** @param {string} file */
const rel = (file) => path.relative(ROOT, file);
/** @type {string[]} */
const problems = [];

for (const [file, targets] of edges) {
  const from = unit(file);
  for (const target of targets) {
    const to = unit(target);
    if (from === to) continue;
    const [a, b] = [rankOf.get(from), rankOf.get(to)];
    if (a === undefined || b === undefined) problems.push(`${rel(file)} → ${rel(target)}: folder not in LAYERS`);
    else if (b >= a) problems.push(`${rel(file)} → ${rel(target)}: ${from} may not import ${to} (a layer above)`);
  }
}

// Tarjan's strongly connected components: any with more than one file (or a self-import) is a cycle.
let index = 0;
/** @type {string[]} */
const stack = [];
/** @type {Map<string, { index: number, low: number, onStack: boolean }>} */
const state = new Map();
/** @param {string} file */
function visit(file) {
  const s = { index, low: index, onStack: true };
  index++;
  state.set(file, s);
  stack.push(file);
  for (const target of edges.get(file) ?? []) {
    const t = state.get(target);
    if (!t) {
      visit(target);
      s.low = Math.min(s.low, state.get(target)?.low ?? s.low);
    } else if (t.onStack) s.low = Math.min(s.low, t.index);
  }
  if (s.low === s.index) {
    /** @type {string[]} */
    const component = [];
    let member;
    do {
      member = stack.pop() ?? file;
      const entry = state.get(member);
      if (entry) entry.onStack = false;
      component.push(member);
    } while (member !== file);
    if (component.length > 1 || (edges.get(file) ?? []).includes(file)) {
      problems.push(`import cycle: ${component.map(rel).sort().join(', ')}`);
    }
  }
}
for (const file of files) if (!state.has(file)) visit(file);

if (problems.length) {
  console.error(`${problems.length} import problem(s) in libs/ldap-auth/src:\n  ${problems.join('\n  ')}`);
  process.exit(1);
}
console.log(`imports: ${files.length} files, no cycle, no import from a higher layer`);
