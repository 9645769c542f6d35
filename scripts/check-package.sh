#!/usr/bin/env bash
# The library as another app gets it: packs libs/ldap-auth (npm pack builds it first), installs the tarball and
# its peers from the registry into a scratch app in a temporary folder OUTSIDE this checkout, compiles the app
# (test/package/*.ts) against the package's type declarations, and runs it:
#   1. importing the root does not load ldapjs, importing ./testing does;
#   2. the app boots LdapAuthModule against the embedded directory (./testing) and PostgreSQL, logs alice in
#      over HTTP and refuses a wrong password;
#   3. the shipped README's test example (the code block after `<!-- readme-test -->`), extracted from the
#      installed package, compiles and passes with Node's test runner, on a throwaway database of its own;
#   4. with ldapjs uninstalled (it is an optional peer), the root still loads and ./testing fails naming ldapjs.
# The database driver is pg (plain JavaScript, nothing to compile) on the PostgreSQL the e2e suites use, in a
# throwaway database. Needs PostgreSQL on E2E_POSTGRES_URL (default postgres://postgres@127.0.0.1:5432/test).
set -euo pipefail
cd "$(dirname "$0")/.."
repo=$PWD
admin_url=${E2E_POSTGRES_URL:-postgres://postgres@127.0.0.1:5432/test}
database=ldap_auth_package_$$
work=$(mktemp -d "${TMPDIR:-/tmp}/ldap-auth-package.XXXXXX")
app=$work/app

pg_admin() { # pg_admin <sql>: runs with the scratch app's pg, on the admin URL
  (cd "$app" && node -e 'const c=new (require("pg").Client)({connectionString:process.argv[1]});
    c.connect().then(()=>c.query(process.argv[2])).finally(()=>c.end())' "$admin_url" "$1")
}
cleanup() {
  if [ -d "$app/node_modules/pg" ]; then
    pg_admin "DROP DATABASE IF EXISTS $database" || true
    pg_admin "DROP DATABASE IF EXISTS ${database}_readme" || true
  fi
  rm -rf "$work"
}
trap cleanup EXIT

echo "-- npm pack (builds the library)"
npm pack -s -w libs/ldap-auth --pack-destination "$work" >/dev/null
tarball=$(cd "$work" && ls ./*.tgz)
echo "   $tarball: $(tar tzf "$work/$tarball" | wc -l) files"

mkdir -p "$app/src"
cp test/package/*.ts "$app/src/"
cp dev/directory.ldif "$app/"
# The package and what its README says to install beside it, at the versions this repository tests.
node - "$repo" "file:../$tarball" >"$app/package.json" <<'EOF'
const [repo, tarball] = process.argv.slice(2);
const root = require(`${repo}/package.json`);
const lib = require(`${repo}/libs/ldap-auth/package.json`);
const versions = { ...root.dependencies, ...root.devDependencies };
const pick = (names) => Object.fromEntries(names.map((name) => [name, versions[name]]));
// The required peers, and ldapjs: optional, but ./testing needs it.
const optional = (name) => lib.peerDependenciesMeta?.[name]?.optional && name !== 'ldapjs';
const peers = Object.keys(lib.peerDependencies).filter((name) => !optional(name));
console.log(JSON.stringify({
  name: 'ldap-auth-scratch-app', private: true, type: 'module',
  dependencies: { [lib.name]: tarball, ...pick([...peers, '@nestjs/platform-express', 'pg']) },
  devDependencies: pick(['typescript', '@types/node', '@types/express', '@types/passport']),
}, null, 2));
EOF
cat >"$app/tsconfig.json" <<'EOF'
{
  "compilerOptions": {
    "module": "nodenext",
    "target": "es2022",
    "strict": true,
    "experimentalDecorators": true,
    "emitDecoratorMetadata": true,
    "skipLibCheck": true,
    "types": ["node"],
    "rootDir": "src",
    "outDir": "dist"
  },
  "include": ["src"]
}
EOF

echo "-- npm install (the tarball and its peers, outside the workspace)"
(cd "$app" && npm install --prefer-offline --no-audit --no-fund 2>&1) | tee "$work/install.log" | grep -v '^$' | tail -n 3
node_major=$(node -p 'process.versions.node.split(".")[0]')
if grep -q EBADENGINE "$work/install.log"; then
  case $node_major in
    22 | 24 | 26) echo "npm install printed EBADENGINE on Node $node_major, a supported version" >&2; exit 1 ;;
    *) echo "   (EBADENGINE expected: Node $node_major is not a supported version)" ;;
  esac
fi

echo "-- the README's test example, from the installed package"
node scripts/readme-example.mjs "$app/node_modules/@nest-ldap-auth/ldap-auth/README.md" >"$app/src/readme-example.test.ts"
echo "   $(wc -l <"$app/src/readme-example.test.ts") lines"

echo "-- tsc (the app and the README's example against the package's type declarations)"
(cd "$app" && npx tsc -p .)

echo "-- the root entry does not load ldapjs"
(cd "$app" && node dist/root-without-ldapjs.js)

echo "-- the app: LdapAuthModule, the embedded directory, PostgreSQL ($database), alice's login"
pg_admin "CREATE DATABASE $database"
db_url() { node -e 'const u=new URL(process.argv[1]); u.pathname="/"+process.argv[2]; console.log(u.href)' "$admin_url" "$1"; }
(cd "$app" && node dist/app.js directory.ldif "$(db_url "$database")")

echo "-- the README's test example (node --test), PostgreSQL (${database}_readme)"
pg_admin "CREATE DATABASE ${database}_readme"
(cd "$app" && TEST_DATABASE_URL=$(db_url "${database}_readme") node --test dist/readme-example.test.js)

echo "-- without ldapjs installed"
(cd "$app" && npm uninstall -s --prefer-offline --no-audit --no-fund ldapjs)
(cd "$app" && node dist/root-without-ldapjs.js --absent)

echo "-- package check passed"
