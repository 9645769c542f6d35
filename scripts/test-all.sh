#!/usr/bin/env bash
# Every check and every test, on a fresh Debian machine too: installs the directory servers the end-to-end
# tests need (OpenLDAP slapd, Samba AD DC) when they are missing, then type-checks, lints, checks formatting,
# builds, runs the unit suites, installs the packed library into a scratch app and runs it (scripts/check-package.sh),
# and runs the end-to-end suites. The e2e suites start their own servers on 127.0.0.1.
set -euo pipefail
cd "$(dirname "$0")/.."

as_root() { if [ "$(id -u)" -eq 0 ]; then "$@"; else sudo "$@"; fi; }

missing=()
[ -x /usr/sbin/slapd ] || missing+=(slapd)
command -v ldapadd >/dev/null 2>&1 || missing+=(ldap-utils)
command -v samba-tool >/dev/null 2>&1 || missing+=(samba)
[ -x /usr/sbin/samba ] || missing+=(samba-ad-dc)
command -v wbinfo >/dev/null 2>&1 || missing+=(winbind)
command -v kinit >/dev/null 2>&1 || missing+=(krb5-user)
command -v setpriv >/dev/null 2>&1 || missing+=(util-linux)
command -v openssl >/dev/null 2>&1 || missing+=(openssl)
# The admin page's e2e test drives a real headless browser (playwright-core pointed at Debian's chromium).
[ -x /usr/bin/chromium ] || missing+=(chromium)
if [ ${#missing[@]} -gt 0 ]; then
  echo "== Installing ${missing[*]} (Debian packages the end-to-end tests need)"
  as_root apt-get update -qq
  as_root env DEBIAN_FRONTEND=noninteractive apt-get install -y -qq "${missing[@]}" >/dev/null
fi

# The compose file is checked without a Docker engine: Debian's docker-compose (v1) parses and interpolates it with
# no daemon, and scripts/check-compose.py runs on Debian's python3 with PyYAML (which docker-compose brings).
# --no-install-recommends: docker-compose recommends docker.io, the engine, which these checks do not need.
compose_missing=()
command -v docker-compose >/dev/null 2>&1 || compose_missing+=(docker-compose)
/usr/bin/python3 -c 'import yaml' 2>/dev/null || compose_missing+=(python3-yaml)
if [ ${#compose_missing[@]} -gt 0 ]; then
  echo "== Installing ${compose_missing[*]} (to check docker-compose.yml)"
  as_root apt-get update -qq
  as_root env DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends "${compose_missing[@]}" >/dev/null
fi

# PostgreSQL: the persistence suites run on it as well as on SQLite.
if ! pg_isready -q -h 127.0.0.1 -p 5432 2>/dev/null; then
  if command -v pg_ctlcluster >/dev/null 2>&1; then
    echo "== Starting PostgreSQL"
    as_root pg_ctlcluster --skip-systemctl-redirect "$(ls /etc/postgresql | head -n1)" main start
  fi
  pg_isready -q -h 127.0.0.1 -p 5432 || { echo "PostgreSQL is not reachable on 127.0.0.1:5432 (set E2E_POSTGRES_URL)" >&2; exit 1; }
fi

# Redis: the login throttle's shared-counter tests (two app processes, one Redis).
if ! (exec 3<>/dev/tcp/127.0.0.1/6379) 2>/dev/null; then
  if command -v redis-server >/dev/null 2>&1; then
    echo "== Starting Redis"
    redis-server --daemonize yes --bind 127.0.0.1 --port 6379 --save "" --appendonly no >/dev/null
  else
    echo "== Installing redis-server"
    as_root apt-get update -qq
    as_root env DEBIAN_FRONTEND=noninteractive apt-get install -y -qq redis-server >/dev/null
    redis-server --daemonize yes --bind 127.0.0.1 --port 6379 --save "" --appendonly no >/dev/null
  fi
  for _ in $(seq 50); do (exec 3<>/dev/tcp/127.0.0.1/6379) 2>/dev/null && break; sleep 0.1; done
fi

# ---- MariaDB (MySQL support): the persistence suites run on it as well as on SQLite and PostgreSQL. ----
# Started (installed first when missing) if nothing answers on 127.0.0.1:3306; E2E_MYSQL_URL points elsewhere.
# Debian's root@localhost logs in through the Unix socket only: the tests connect over TCP as root@127.0.0.1
# without a password, so that account is created for them (a test machine's server, bound to 127.0.0.1).
if [ -z "${E2E_MYSQL_URL:-}" ] && ! (exec 3<>/dev/tcp/127.0.0.1/3306) 2>/dev/null; then
  if [ ! -x /usr/sbin/mariadbd ]; then
    echo "== Installing mariadb-server"
    as_root apt-get update -qq
    as_root env DEBIAN_FRONTEND=noninteractive apt-get install -y -qq mariadb-server >/dev/null
  fi
  echo "== Starting MariaDB"
  as_root service mariadb start >/dev/null || as_root /etc/init.d/mariadb start >/dev/null
  for _ in $(seq 100); do (exec 3<>/dev/tcp/127.0.0.1/3306) 2>/dev/null && break; sleep 0.1; done
  as_root mariadb -e "CREATE USER IF NOT EXISTS 'root'@'127.0.0.1' IDENTIFIED BY ''; GRANT ALL PRIVILEGES ON *.* TO 'root'@'127.0.0.1' WITH GRANT OPTION;"
  (exec 3<>/dev/tcp/127.0.0.1/3306) 2>/dev/null || { echo "MariaDB is not reachable on 127.0.0.1:3306 (set E2E_MYSQL_URL)" >&2; exit 1; }
fi
# ---- end MariaDB ----

[ -d node_modules ] || npm ci

echo "== Type check";  npm run -s typecheck
echo "== Lint";        npm run -s lint
echo "== Imports (no cycle, no import from a layer above: scripts/check-imports.mjs)"; npm run -s check:imports
echo "== Format";      npm run -s format:check
echo "== Documentation links (scripts/check-doc-links.mjs)"; npm run -s check:docs
echo "== Compose file"; JWT_SECRET=compose-config-check-only docker-compose -f docker-compose.yml config -q; /usr/bin/python3 scripts/check-compose.py
echo "== Build";       npm run -s build
echo "== Unit tests";  npm run -s test:unit
echo "== Package (the packed library installed and run in a scratch app)"; bash scripts/check-package.sh
echo "== End-to-end tests (slapd, Samba AD, SQLite, PostgreSQL, Redis)"
npm run -s test:e2e
