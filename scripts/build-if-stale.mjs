// `npm start` / `npm run sync` / `npm run ldap:check` build first, but only when a source is newer than the
// build: a second start goes straight to node (the full build takes about 10 s).
import { execFileSync } from 'node:child_process';
import { existsSync, readdirSync, statSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');
const outputs = [
  'dist/main.js',
  'dist/sync.js',
  'dist/users-link.js',
  'dist/ldap-check.js',
  'libs/ldap-auth/dist/index.js',
];
const inputs = [
  'src',
  'libs/ldap-auth/src',
  'tsconfig.json',
  'tsconfig.build.json',
  'libs/ldap-auth/tsconfig.lib.json',
  'package-lock.json',
];

/** @param {string} entry @returns {number} */
function newest(entry) {
  const full = path.join(root, entry);
  if (!existsSync(full)) return 0;
  const stat = statSync(full);
  if (!stat.isDirectory()) return stat.mtimeMs;
  let latest = stat.mtimeMs;
  for (const name of readdirSync(full)) latest = Math.max(latest, newest(path.join(entry, name)));
  return latest;
}

const built = Math.min(
  ...outputs.map((f) => (existsSync(path.join(root, f)) ? statSync(path.join(root, f)).mtimeMs : 0)),
);
if (built === 0 || Math.max(...inputs.map(newest)) > built) {
  execFileSync('npm', ['run', '-s', 'build'], { cwd: root, stdio: 'inherit' });
}
