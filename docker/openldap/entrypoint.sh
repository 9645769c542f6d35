#!/bin/bash
# Entrypoint of the directory container (docker/openldap/Dockerfile): Debian's slapd configured from
# slapd.conf.template (the configuration the end-to-end tests use too), TLS from mounted files or a self-signed
# CA generated once, and on first start the seed LDIF files loaded over LDAP (so the memberof overlay computes
# memberOf). Every path is a variable, so the script also runs outside a container (against a temp dir).
set -euo pipefail

log() { echo "openldap-entrypoint: $*" >&2; }
die() {
  log "ERROR: $*"
  exit 1
}

: "${LDAP_SUFFIX:=dc=example,dc=com}"
: "${LDAP_ROOT_DN:=cn=admin,${LDAP_SUFFIX}}"
: "${LDAP_SYNC_ACCOUNT_DN:=cn=ldap-sync,ou=services,${LDAP_SUFFIX}}"
: "${LDAP_LISTEN_HOST:=}"     # empty: every interface
: "${LDAP_PORT:=389}"
: "${LDAPS_PORT:=636}"
: "${LDAP_CONF_TEMPLATE:=/etc/ldap/slapd.conf.template}"
: "${LDAP_STATE_DIR:=/var/lib/openldap}"             # data/ (the database) and tls/ (generated certificates)
: "${LDAP_RUN_DIR:=/run/slapd}"                       # slapd.conf, pid, ldapi socket, copies of mounted certificates
: "${LDAP_TLS_MOUNT_DIR:=/etc/ldap/tls}"              # mount ca.pem, server.pem, server.key here to use your own
: "${LDAP_CA_EXPORT_DIR:=/ca-export}"                 # when it exists, ca.pem is copied there (for the clients)
: "${LDAP_SEED_DIR:=/docker-entrypoint-seed.d}"       # *.ldif loaded in name order on first start
: "${LDAP_TLS_SUBJECT_ALT_NAMES:=DNS:openldap,DNS:localhost,IP:127.0.0.1}"
: "${LDAP_DEBUG_LEVEL:=none}"                         # slapd -d: "none" prints start-up errors only; "stats" logs operations
: "${LDAP_USER:=openldap}"
: "${LDAP_GROUP:=openldap}"

data_dir="${LDAP_STATE_DIR}/data"
conf="${LDAP_RUN_DIR}/slapd.conf"
seeded_marker="${LDAP_STATE_DIR}/.seeded"
ldapi_url="ldapi://$(printf %s "${LDAP_RUN_DIR}/ldapi" | sed 's|/|%2F|g')"

# As root, slapd drops to LDAP_USER after reading its configuration and keys; otherwise it runs as the caller.
owner=()
as_user=()
if [ "$(id -u)" -eq 0 ]; then
  owner=("${LDAP_USER}:${LDAP_GROUP}")
  as_user=(-u "${LDAP_USER}" -g "${LDAP_GROUP}")
fi
own() { if [ ${#owner[@]} -gt 0 ]; then chown "${owner[0]}" "$@"; fi; }

umask 077
mkdir -p "${data_dir}" "${LDAP_STATE_DIR}/tls" "${LDAP_RUN_DIR}"
own "${LDAP_STATE_DIR}" "${data_dir}" "${LDAP_STATE_DIR}/tls" "${LDAP_RUN_DIR}"
chmod 0755 "${LDAP_RUN_DIR}"
rm -f "${LDAP_RUN_DIR}/ldapi" "${LDAP_RUN_DIR}/slapd.pid" # left by a previous run of this container

# --- Administrator (rootdn) password: given, or random for this start (only the entrypoint needs it then) ---
if [ -n "${LDAP_ADMIN_PASSWORD_FILE:-}" ]; then
  admin_password="$(cat "${LDAP_ADMIN_PASSWORD_FILE}")"
elif [ -n "${LDAP_ADMIN_PASSWORD:-}" ]; then
  admin_password="${LDAP_ADMIN_PASSWORD}"
else
  admin_password="$(openssl rand -base64 24)"
  log "LDAP_ADMIN_PASSWORD is not set: ${LDAP_ROOT_DN} gets a random password for this start"
fi
unset LDAP_ADMIN_PASSWORD
admin_password_file="${LDAP_RUN_DIR}/.admin-password"
printf %s "${admin_password}" >"${admin_password_file}"
root_pw_hash="$(slappasswd -h '{SSHA}' -T "${admin_password_file}")"

# --- TLS: mounted files, or a CA and server certificate generated once into the state volume ---
if [ -e "${LDAP_TLS_MOUNT_DIR}/server.pem" ] || [ -e "${LDAP_TLS_MOUNT_DIR}/server.key" ]; then
  for f in ca.pem server.pem server.key; do
    [ -r "${LDAP_TLS_MOUNT_DIR}/${f}" ] || die "TLS files mounted in ${LDAP_TLS_MOUNT_DIR}, but ${f} is missing or unreadable (mount ca.pem, server.pem and server.key)"
  done
  # Copies slapd can read after dropping privileges, whatever the mounted files' owner and mode.
  tls_dir="${LDAP_RUN_DIR}/tls"
  mkdir -p "${tls_dir}"
  cp "${LDAP_TLS_MOUNT_DIR}/ca.pem" "${LDAP_TLS_MOUNT_DIR}/server.pem" "${LDAP_TLS_MOUNT_DIR}/server.key" "${tls_dir}/"
  own -R "${tls_dir}"
  log "TLS: using the certificate mounted in ${LDAP_TLS_MOUNT_DIR}"
else
  tls_dir="${LDAP_STATE_DIR}/tls"
  valid() { [ -s "$1" ] && openssl x509 -in "$1" -noout -checkend 86400 >/dev/null 2>&1; }
  if ! valid "${tls_dir}/ca.pem" || [ ! -s "${tls_dir}/ca.key" ]; then
    log "TLS: generating a self-signed CA in ${tls_dir}"
    openssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:prime256v1 -nodes \
      -keyout "${tls_dir}/ca.key" -out "${tls_dir}/ca.pem" -days 3650 \
      -subj "/CN=openldap container CA" \
      -addext "basicConstraints=critical,CA:TRUE" -addext "keyUsage=critical,keyCertSign,cRLSign" 2>/dev/null
    rm -f "${tls_dir}/server.pem"
  fi
  if ! valid "${tls_dir}/server.pem" || [ ! -s "${tls_dir}/server.key" ]; then
    log "TLS: generating the server certificate (${LDAP_TLS_SUBJECT_ALT_NAMES})"
    first_name="${LDAP_TLS_SUBJECT_ALT_NAMES%%,*}"
    openssl req -newkey ec -pkeyopt ec_paramgen_curve:prime256v1 -nodes \
      -keyout "${tls_dir}/server.key" -out "${tls_dir}/server.csr" -subj "/CN=${first_name#*:}" 2>/dev/null
    printf 'subjectAltName=%s\nextendedKeyUsage=serverAuth\nkeyUsage=critical,digitalSignature\n' \
      "${LDAP_TLS_SUBJECT_ALT_NAMES}" >"${tls_dir}/server.ext"
    openssl x509 -req -in "${tls_dir}/server.csr" -CA "${tls_dir}/ca.pem" -CAkey "${tls_dir}/ca.key" \
      -CAcreateserial -days 825 -extfile "${tls_dir}/server.ext" -out "${tls_dir}/server.pem" 2>/dev/null
    rm -f "${tls_dir}/server.csr" "${tls_dir}/server.ext"
  fi
  chmod 0644 "${tls_dir}/ca.pem" "${tls_dir}/server.pem"
  own -R "${tls_dir}"
fi
if [ -d "${LDAP_CA_EXPORT_DIR}" ]; then
  install -m 0644 "${tls_dir}/ca.pem" "${LDAP_CA_EXPORT_DIR}/ca.pem"
  log "TLS: CA certificate copied to ${LDAP_CA_EXPORT_DIR}/ca.pem"
fi

# --- slapd.conf from the template: every {{NAME}} must get a value ---
[ -r "${LDAP_CONF_TEMPLATE}" ] || die "no configuration template at ${LDAP_CONF_TEMPLATE}"
RUN_DIR="${LDAP_RUN_DIR}" \
  TLS_CA_FILE="${tls_dir}/ca.pem" \
  TLS_CERT_FILE="${tls_dir}/server.pem" \
  TLS_KEY_FILE="${tls_dir}/server.key" \
  SUFFIX="${LDAP_SUFFIX}" \
  ROOT_DN="${LDAP_ROOT_DN}" \
  ROOT_PW_HASH="${root_pw_hash}" \
  DATA_DIR="${data_dir}" \
  SYNC_ACCOUNT_DN="${LDAP_SYNC_ACCOUNT_DN}" \
  perl -e '
    my @names = qw(RUN_DIR TLS_CA_FILE TLS_CERT_FILE TLS_KEY_FILE SUFFIX ROOT_DN ROOT_PW_HASH DATA_DIR SYNC_ACCOUNT_DN);
    my %value = map { $_ => $ENV{$_} } @names;
    my %used;
    local $/; my $text = <STDIN>;
    $text =~ s/\{\{(\w+)\}\}/exists $value{$1} ? do { $used{$1} = 1; $value{$1} } : die "no value for {{$1}}\n"/ge;
    my @unused = grep { !$used{$_} } @names;
    die "the template has no {{" . join("}}, {{", @unused) . "}}\n" if @unused;
    print "# Generated by docker/openldap/entrypoint.sh from $ARGV[0]\n", $text;
  ' "${LDAP_CONF_TEMPLATE}" <"${LDAP_CONF_TEMPLATE}" >"${conf}.new" || die "cannot fill ${LDAP_CONF_TEMPLATE}"
mv "${conf}.new" "${conf}"
chmod 0640 "${conf}"
own "${conf}"
slaptest -Q -u -f "${conf}" || die "slaptest refused ${conf}"

slapd_pid=
stop_slapd() {
  if [ -n "${slapd_pid}" ]; then
    kill -INT "${slapd_pid}" 2>/dev/null || true
    wait "${slapd_pid}" 2>/dev/null || true
    slapd_pid=
  fi
}

# --- First start: load the seed over the local socket only (the TCP ports stay closed until it is done) ---
if [ ! -e "${seeded_marker}" ]; then
  shopt -s nullglob
  seeds=("${LDAP_SEED_DIR}"/*.ldif)
  shopt -u nullglob
  # A start that died half-way through seeding left a partial database: start it over.
  find "${data_dir}" -mindepth 1 -delete
  if [ ${#seeds[@]} -eq 0 ]; then
    log "no seed: ${LDAP_SEED_DIR} holds no .ldif file, the directory starts empty"
  else
    trap stop_slapd EXIT
    /usr/sbin/slapd -f "${conf}" -h "${ldapi_url}" "${as_user[@]}" -d none &
    slapd_pid=$!
    for _ in $(seq 100); do
      ldapsearch -x -H "${ldapi_url}" -b '' -s base '(objectClass=*)' namingContexts >/dev/null 2>&1 && break
      kill -0 "${slapd_pid}" 2>/dev/null || die "slapd stopped during start-up (see above)"
      sleep 0.1
    done
    for seed in "${seeds[@]}"; do
      log "seeding from ${seed}"
      ldapadd -x -H "${ldapi_url}" -D "${LDAP_ROOT_DN}" -y "${admin_password_file}" -f "${seed}" >/dev/null ||
        die "loading ${seed} failed"
    done
    stop_slapd
    trap - EXIT
  fi
  touch "${seeded_marker}"
  own "${seeded_marker}"
fi
rm -f "${admin_password_file}"
unset admin_password

host="${LDAP_LISTEN_HOST}"
case "${host}" in *:*) host="[${host}]" ;; esac
urls="ldap://${host}:${LDAP_PORT}/ ldaps://${host}:${LDAPS_PORT}/ ${ldapi_url}"
log "starting slapd on ${urls} (suffix ${LDAP_SUFFIX})"
exec /usr/sbin/slapd -f "${conf}" -h "${urls}" "${as_user[@]}" -d "${LDAP_DEBUG_LEVEL}"
