#!/usr/bin/env bash
# Starts and stops the real third-party identity servers fedconn is tested
# against, offline and on loopback, from the fixtures in ../shared/real-servers
# (next to the repository; override with FEDCONN_REAL_SERVERS). See the
# README.md there for how each was built and how it is provisioned.
#
#   scripts/real-servers.sh start sydent DIR   sydent a37d60bd (plain identity server v2)
#   scripts/real-servers.sh start tom DIR      ToM 7876131c federated identity service (MSC4004)
#   scripts/real-servers.sh start synapse DIR  two Synapse 1.67.0 homeservers (DIR/hs1, DIR/hs2)
#   scripts/real-servers.sh rotate-pepper DIR  sydent only: restart it with a new lookup pepper
#   scripts/real-servers.sh stop DIR           stop what `start` recorded in DIR/pids
#   scripts/real-servers.sh install-deps       apt-get install the Debian packages sydent and Synapse need
#
# `start` writes DIR/target.json (a fedconn target config, absolute paths) and
# DIR/pids (one PID a line: every process it started); logs go into DIR
# (DIR/sydent.log; DIR/fis/stdout.log, DIR/tom-build.log). Ports are free
# loopback ports picked at start, never fixed ones. Any failure prints one line
# naming what went wrong (then, for a server that never answered, the tail of
# its log), leaves nothing running and exits 1; bad usage exits 2.
#
# sydent runs on Debian's /usr/bin/python3 and needs these Debian packages
# (`install-deps` installs them; CI calls it):
#   python3-twisted python3-signedjson python3-unpaddedbase64
#   python3-canonicaljson python3-phonenumbers python3-matrix-common
#   python3-nacl python3-netaddr python3-prometheus-client python3-openssl
#   python3-yaml python3-service-identity python3-sortedcontainers
#   python3-typing-extensions python3-zope.interface python3-attr python3-jinja2
# Synapse runs in a venv over Debian's packages (SYNAPSE_DEBS below), with the
# wheel from the fixtures installed into ${FEDCONN_CACHE}/synapse-1.67.0/venv.
# Each instance is named localhost:<its TLS port> (no DNS: an explicit port), has
# a plain-HTTP listener for the client and federation APIs (base_url) and a TLS
# federation listener with a self-signed certificate, which is where the other
# instance reaches it. Users come from shared-secret registration.
# ToM needs node and npm (its first start runs `npm ci`, which compiles sqlite3
# from source against /usr/include/node: a C++ toolchain, make and python3),
# and is built once into ${FEDCONN_CACHE:-$HOME/.cache/fedconn}/tom-7876131c.
#
# Environment:
#   FEDCONN_REAL_SERVERS  the fixtures folder (default: ../shared/real-servers
#                         relative to the repository root)
#   FEDCONN_CACHE         where sydent is unpacked and ToM built
#                         (default: $HOME/.cache/fedconn)
set -Eeuo pipefail

PY=/usr/bin/python3
SELF="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)/$(basename "${BASH_SOURCE[0]}")"
REAL="${FEDCONN_REAL_SERVERS:-$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)/shared/real-servers}"
CACHE="${FEDCONN_CACHE:-${HOME:-/tmp}/.cache/fedconn}"
SYDENT_TARBALL="$REAL/sydent/sydent-a37d60bd.tar.gz"
SYDENT_CONF_EXAMPLE="$REAL/sydent/sydent.conf.example"
SYDENT_SRC="$CACHE/sydent-a37d60bd"
TOM_TARBALL="$REAL/tom/tom-server-7876131c.tar.gz"
TOM_DIR="$CACHE/tom-7876131c"
SYNAPSE_WHEEL="$REAL/synapse/matrix_synapse-1.67.0-py3-none-any.whl"
SYNAPSE_TEMPLATE="$REAL/synapse/homeserver.template.yaml"
SYNAPSE_VENV="$CACHE/synapse-1.67.0/venv"
SYNAPSE_SECRET="fedconn-shared-secret" # registration_shared_secret of the template
SYNAPSE_DEBS=(python3-venv python3-pip python3-twisted python3-treq python3-signedjson
  python3-canonicaljson python3-unpaddedbase64 python3-nacl python3-pymacaroons python3-jsonschema
  python3-frozendict python3-msgpack python3-phonenumbers python3-prometheus-client python3-attr
  python3-netaddr python3-jinja2 python3-bleach python3-typing-extensions python3-cryptography
  python3-service-identity python3-yaml python3-ijson python3-matrix-common python3-packaging
  python3-pydantic python3-sortedcontainers python3-openssl python3-pyasn1 python3-pyasn1-modules
  python3-bcrypt python3-pil python3-idna python3-psutil openssl)
TOM_PACKAGES=(config-parser crypto logger utils matrix-resolve matrix-identity-server federated-identity-service)
READY_TIMEOUT=60  # seconds for a server to answer after its launch
STOP_TIMEOUT=10   # seconds between SIGTERM and SIGKILL
TRUSTED_ADDRESS=127.0.0.2
DEBS=(python3-twisted python3-signedjson python3-unpaddedbase64
  python3-canonicaljson python3-phonenumbers python3-matrix-common
  python3-nacl python3-netaddr python3-prometheus-client python3-openssl
  python3-yaml python3-service-identity python3-sortedcontainers
  python3-typing-extensions python3-zope.interface python3-attr python3-jinja2)

ACTION="" # for messages: "start sydent", "rotate-pepper", ...
DIR=""    # absolute run directory
STARTED=() # PIDs this invocation launched and has not yet handed over
FAILING=0

usage() {
  cat >&2 <<EOF
usage: $(basename "$0") start sydent|tom|synapse DIR
       $(basename "$0") rotate-pepper DIR
       $(basename "$0") stop DIR
       $(basename "$0") install-deps
EOF
  exit 2
}

# ---------------------------------------------------------------- failures

# Kills what this invocation started, prints one line (plus an optional log
# tail), exits 1.
die() {
  local msg="$1" log="${2:-}"
  FAILING=1
  trap - ERR
  if [ -n "$log" ] && [ ! -s "$log" ]; then
    msg="$msg; its log $log is empty"
  fi
  echo "real-servers: ${ACTION:+$ACTION: }$msg" >&2
  if [ -n "$log" ] && [ -s "$log" ]; then
    echo "  last lines of $log:" >&2
    tail -n 20 "$log" | sed 's/^/  | /' >&2
  fi
  cleanup_started
  exit 1
}

# shellcheck disable=SC2317  # called from the ERR trap
on_err() {
  [ "$FAILING" = 1 ] && return
  # In a subshell or command substitution: leave the report to the caller,
  # which checks the status.
  [ "$BASH_SUBSHELL" -gt 0 ] && exit "$1"
  die "command failed (exit $1, line $2): $3"
}
trap 'on_err $? $LINENO "$BASH_COMMAND"' ERR
trap 'die "interrupted"' INT TERM HUP

cleanup_started() {
  if [ "${#STARTED[@]}" -gt 0 ]; then
    stop_pids -c "${STARTED[@]}" || true
    STARTED=()
    [ -n "$DIR" ] && rm -f "$DIR/pids"
  fi
}

# ---------------------------------------------------------------- processes

# alive PID: the process exists and is not a zombie.
alive() {
  local pid="$1" state
  if [ -r "/proc/$pid/stat" ]; then
    state="$(sed 's/^.*) \(.\).*$/\1/' "/proc/$pid/stat" 2>/dev/null || true)"
    [ -n "$state" ] && [ "$state" != Z ] && [ "$state" != X ]
  else
    kill -0 "$pid" 2>/dev/null
  fi
}

# ours PID: the process was launched by this script for DIR (every server gets
# FEDCONN_RUN_DIR=DIR in its environment), so a PID reused since is left alone.
ours() {
  local pid="$1"
  [ -r "/proc/$pid/environ" ] || return 0  # no /proc to tell: trust DIR/pids
  grep -qzxF -- "FEDCONN_RUN_DIR=$DIR" "/proc/$pid/environ" 2>/dev/null
}

# stop_pids [-c] PID...: SIGTERM, up to STOP_TIMEOUT s, then SIGKILL. Fails if
# one survives. -c: the PIDs are our own children (maybe not yet exec'd into
# the server, so without the mark): no check.
stop_pids() {
  local pid live=() left=() i children=0
  if [ "${1:-}" = -c ]; then children=1; shift; fi
  for pid in "$@"; do
    alive "$pid" || continue
    if [ "$children" = 0 ] && ! ours "$pid"; then
      echo "real-servers: pid $pid is no longer a server of $DIR; left alone" >&2
      continue
    fi
    kill -TERM "$pid" 2>/dev/null || true
    live+=("$pid")
  done
  [ "${#live[@]}" -eq 0 ] && return 0
  for ((i = 0; i < STOP_TIMEOUT * 10; i++)); do
    left=()
    for pid in "${live[@]}"; do alive "$pid" && left+=("$pid"); done
    [ "${#left[@]}" -eq 0 ] && break
    sleep 0.1
  done
  if [ "${#left[@]}" -gt 0 ]; then
    for pid in "${left[@]}"; do kill -KILL "$pid" 2>/dev/null || true; done
    for ((i = 0; i < 50; i++)); do
      live=("${left[@]}"); left=()
      for pid in "${live[@]}"; do alive "$pid" && left+=("$pid"); done
      [ "${#left[@]}" -eq 0 ] && break
      sleep 0.1
    done
  fi
  for pid in "$@"; do wait "$pid" 2>/dev/null || true; done  # reap our own children
  if [ "${#left[@]}" -gt 0 ]; then
    echo "real-servers: could not stop pid(s) ${left[*]}" >&2
    return 1
  fi
}

read_pids() { # prints the numeric lines of DIR/pids
  [ -f "$DIR/pids" ] || return 0
  grep -E '^[0-9]+$' "$DIR/pids" || true
}

# launch LOG APPEND(0|1) CWD VAR=VALUE... -- CMD...: starts CMD detached from
# our stdio, with a clean environment (PATH, HOME, the given variables and the
# FEDCONN_RUN_DIR mark), records its PID in DIR/pids at once; sets LAUNCHED.
launch() {
  local log="$1" append="$2" cwd="$3"; shift 3
  local envs=()
  while [ "$1" != -- ]; do envs+=("$1"); shift; done
  shift
  [ "$append" = 1 ] || : >"$log"
  (cd "$cwd" && exec env -i PATH="$PATH" HOME="${HOME:-/tmp}" LANG=C.UTF-8 \
    FEDCONN_RUN_DIR="$DIR" "${envs[@]}" "$@") </dev/null >>"$log" 2>&1 &
  LAUNCHED=$!
  STARTED+=("$LAUNCHED")
  echo "$LAUNCHED" >>"$DIR/pids"
}

# wait_http NAME PID URL LOG DEADLINE: until URL answers 2xx; fails if PID exits
# or DEADLINE (in $SECONDS) passes.
wait_http() {
  local name="$1" pid="$2" url="$3" log="$4" deadline="$5" code status
  while :; do
    code="$(curl -s -o /dev/null -w '%{http_code}' --max-time 2 "$url" 2>/dev/null || true)"
    case "$code" in 2??) return 0 ;; esac
    if ! alive "$pid"; then
      status=0; wait "$pid" 2>/dev/null || status=$?
      die "$name (pid $pid) exited with status $status before answering GET $url" "$log"
    fi
    [ "$SECONDS" -lt "$deadline" ] || die "$name did not answer GET $url within ${READY_TIMEOUT} s (last answer: ${code:-none})" "$log"
    sleep 0.2
  done
}

free_ports() { # free_ports N: N distinct free loopback TCP ports
  "$PY" - "$1" <<'EOF'
import socket, sys
socks = []
for _ in range(int(sys.argv[1])):
    s = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    s.bind(("127.0.0.1", 0))
    socks.append(s)
print(" ".join(str(s.getsockname()[1]) for s in socks))
EOF
}

# set_dir PATH: makes DIR absolute (creating it when asked).
set_dir() {
  local d="$1" create="$2"
  [ -n "$d" ] || usage
  if [ "$create" = 1 ]; then
    mkdir -p -- "$d" || die "cannot create $d"
  fi
  DIR="$(cd -- "$d" && pwd -P)" || die "no such directory: $d"
  case "$DIR" in *$'\n'* | *%*) die "unsupported characters in $DIR" ;; esac
}

# refuse_running: start must not clobber servers that still run in DIR.
refuse_running() {
  local pid
  for pid in $(read_pids); do
    if alive "$pid" && ours "$pid"; then
      die "$DIR already has running servers (pid $pid in $DIR/pids); stop it first"
    fi
  done
  rm -f "$DIR/pids"
}

need() { command -v "$1" >/dev/null 2>&1 || die "$1 is not installed ($2)"; }

# lock NAME: serialises cache writers (concurrent CI jobs) on fd 9.
lock() {
  mkdir -p "$CACHE" || die "cannot create the cache $CACHE"
  if command -v flock >/dev/null 2>&1; then
    exec 9>"$CACHE/$1.lock"
    flock -w 900 9 || die "timed out waiting for the lock $CACHE/$1.lock"
  fi
}
unlock() { exec 9>&- || true; }

tarball_id() { sha256sum "$1" | cut -d' ' -f1; }

# ---------------------------------------------------------------- sydent

sydent_unpack() {
  [ -f "$SYDENT_TARBALL" ] || die "missing $SYDENT_TARBALL (set FEDCONN_REAL_SERVERS?)"
  local id stamp tmp
  id="$(tarball_id "$SYDENT_TARBALL")"
  stamp="$SYDENT_SRC/.fedconn-unpacked"
  [ -f "$stamp" ] && [ "$(cat "$stamp")" = "$id" ] && return 0
  lock sydent-a37d60bd
  if ! { [ -f "$stamp" ] && [ "$(cat "$stamp")" = "$id" ]; }; then
    tmp="$(mktemp -d "$CACHE/sydent-a37d60bd.tmp.XXXXXX")"
    tar -xzf "$SYDENT_TARBALL" -C "$tmp" || { rm -rf "$tmp"; die "cannot unpack $SYDENT_TARBALL"; }
    [ -f "$tmp/sydent/sydent/sydent.py" ] || { rm -rf "$tmp"; die "$SYDENT_TARBALL holds no sydent/sydent/sydent.py"; }
    echo "$id" >"$tmp/sydent/.fedconn-unpacked"
    rm -rf "$SYDENT_SRC"
    mv "$tmp/sydent" "$SYDENT_SRC"
    rm -rf "$tmp"
  fi
  unlock
}

sydent_check_deps() {
  local missing
  missing="$("$PY" - <<'EOF' 2>/dev/null
import importlib
mods = ["twisted", "signedjson", "unpaddedbase64", "canonicaljson", "phonenumbers",
        "matrix_common", "nacl", "netaddr", "prometheus_client", "OpenSSL", "yaml",
        "service_identity", "sortedcontainers", "typing_extensions", "zope.interface",
        "attr", "jinja2", "sqlite3"]
bad = []
for m in mods:
    try:
        importlib.import_module(m)
    except Exception:
        bad.append(m)
print(" ".join(bad))
EOF
)" || die "$PY does not run"
  [ -z "$missing" ] || die "$PY lacks the Python modules: $missing (run: $SELF install-deps)"
}

# sydent_config CLIENTPORT INTERNALPORT REPLICATIONPORT: DIR/sydent.conf from the example.
sydent_config() {
  [ -f "$SYDENT_CONF_EXAMPLE" ] || die "missing $SYDENT_CONF_EXAMPLE"
  "$PY" - "$SYDENT_CONF_EXAMPLE" "$DIR/sydent.conf" "$DIR" "$SYDENT_SRC" "$1" "$2" "$3" <<'EOF' || die "cannot write $DIR/sydent.conf from $SYDENT_CONF_EXAMPLE"
import configparser, re, sys
example, out, run_dir, src, cport, iport, rport = sys.argv[1:]
text = open(example).read().replace("$RUN_DIR", run_dir).replace("$SYDENT_SRC", src)
values = {
    "log.path": "",  # log to stderr, which goes to DIR/sydent.log
    "pidfile.path": run_dir + "/sydent.pid",
    "db.file": run_dir + "/sydent.db",
    "templates.path": src + "/res",
    "clientapi.http.bind_address": "127.0.0.1",
    "clientapi.http.port": cport,
    "internalapi.http.bind_address": "127.0.0.1",
    "internalapi.http.port": iport,
    "replication.https.bind_address": "127.0.0.1",
    "replication.https.port": rport,
}
for key, value in values.items():
    text, n = re.subn(r"(?m)^%s[ \t]*=.*$" % re.escape(key), lambda m: "%s = %s" % (key, value), text)
    if n != 1:
        sys.exit("sydent.conf.example has %d lines for %s" % (n, key))
cfg = configparser.ConfigParser()
cfg.read_string(text)
assert cfg.get("http", "clientapi.http.port") == cport
assert cfg.get("http", "internalapi.http.port") == iport
open(out, "w").write(text)
EOF
}

# sydent_ports: prints "CLIENTPORT INTERNALPORT" from DIR/sydent.conf.
sydent_ports() {
  "$PY" - "$DIR/sydent.conf" <<'EOF'
import configparser, sys
cfg = configparser.ConfigParser(interpolation=None)
cfg.read(sys.argv[1])
print(cfg.get("http", "clientapi.http.port"), cfg.get("http", "internalapi.http.port"))
EOF
}

sydent_pepper() { # prints the stored lookup pepper (empty when none)
  "$PY" - "$DIR/sydent.db" <<'EOF'
import sqlite3, sys
db = sqlite3.connect("file:%s?mode=ro" % sys.argv[1], uri=True, timeout=10)
try:
    row = db.execute("SELECT lookup_pepper FROM hashing_metadata").fetchone()
except sqlite3.OperationalError:
    row = None
print(row[0] if row and row[0] else "")
EOF
}

# sydent_launch APPEND CLIENTPORT INTERNALPORT SRC: launches sydent and waits for it.
sydent_launch() {
  local append="$1" cport="$2" iport="$3" src="$4" deadline code pepper
  launch "$DIR/sydent.log" "$append" "$DIR" \
    SYDENT_CONF="$DIR/sydent.conf" PYTHONPATH="$src" -- \
    "$PY" -m sydent.sydent
  deadline=$((SECONDS + READY_TIMEOUT))
  wait_http sydent "$LAUNCHED" "http://127.0.0.1:$cport/_matrix/identity/v2" "$DIR/sydent.log" "$deadline"
  # The internal API listens before the reactor runs, so it answers by now
  # (405: bind takes POST only).
  code="$(curl -s -o /dev/null -w '%{http_code}' --max-time 5 "http://127.0.0.1:$iport/_matrix/identity/internal/bind" || true)"
  case "$code" in 000 | "") die "sydent's internal API on 127.0.0.1:$iport does not answer" "$DIR/sydent.log" ;; esac
  pepper="$(sydent_pepper)" || die "cannot read the pepper from $DIR/sydent.db" "$DIR/sydent.log"
  [ -n "$pepper" ] || die "sydent answers but has no lookup pepper in $DIR/sydent.db" "$DIR/sydent.log"
}

start_sydent() {
  need curl "needed to see when sydent answers"
  [ -x "$PY" ] || die "$PY is missing (sydent runs on Debian's python3)"
  sydent_check_deps
  sydent_unpack
  refuse_running
  local ports cport iport rport
  ports="$(free_ports 3)" || die "cannot pick free loopback ports"
  read -r cport iport rport <<<"$ports"
  # A fresh server: no database, config, pidfile or target of an earlier run.
  rm -f "$DIR/sydent.db" "$DIR/sydent.db-journal" "$DIR/sydent.db-wal" "$DIR/sydent.db-shm" \
    "$DIR/sydent.conf" "$DIR/sydent.pid" "$DIR/sydent.src" "$DIR/target.json"
  sydent_config "$cport" "$iport" "$rport"
  # rotate-pepper restarts it from the same source, whatever its environment.
  printf '%s\n' "$SYDENT_SRC" >"$DIR/sydent.src"
  sydent_launch 0 "$cport" "$iport" "$SYDENT_SRC"
  write_target sydent "$cport" "$iport"
  STARTED=()
  echo "sydent listening on http://127.0.0.1:$cport (internal API http://127.0.0.1:$iport), pid $(read_pids | tr '\n' ' ')"
}

rotate_pepper() {
  if [ ! -f "$DIR/sydent.conf" ] || [ ! -f "$DIR/sydent.db" ]; then
    die "$DIR holds no sydent (no sydent.conf or sydent.db)"
  fi
  need curl "needed to see when sydent answers"
  local pid running=() ports cport iport old new src
  src="$(cat "$DIR/sydent.src" 2>/dev/null || true)"
  [ -f "$src/sydent/sydent.py" ] || die "the sydent source that $DIR was started from (${src:-unrecorded}) is gone"
  for pid in $(read_pids); do alive "$pid" && ours "$pid" && running+=("$pid"); done
  [ "${#running[@]}" -gt 0 ] || die "the sydent in $DIR is not running (no live pid in $DIR/pids)"
  ports="$(sydent_ports)" || die "cannot read the ports from $DIR/sydent.conf"
  read -r cport iport <<<"$ports"
  old="$(sydent_pepper)" || die "cannot read the pepper from $DIR/sydent.db"
  stop_pids "${running[@]}" || die "cannot stop the sydent in $DIR"
  rm -f "$DIR/pids"
  "$PY" - "$DIR/sydent.db" <<'EOF' || die "cannot clear hashing_metadata in $DIR/sydent.db"
import sqlite3, sys
db = sqlite3.connect(sys.argv[1], timeout=10)
db.execute("DELETE FROM hashing_metadata")
db.commit()
EOF
  sydent_launch 1 "$cport" "$iport" "$src"
  new="$(sydent_pepper)" || die "cannot read the pepper from $DIR/sydent.db"
  [ "$new" != "$old" ] || die "sydent kept its pepper $old after the restart"
  STARTED=()
  echo "sydent restarted with a new lookup pepper, pid $(read_pids | tr '\n' ' ')"
}

# ---------------------------------------------------------------- ToM

tom_build() {
  [ -f "$TOM_TARBALL" ] || die "missing $TOM_TARBALL (set FEDCONN_REAL_SERVERS?)"
  local id stamp log="$DIR/tom-build.log" p
  id="$(tarball_id "$TOM_TARBALL")"
  stamp="$TOM_DIR/.fedconn-built"
  [ -f "$stamp" ] && [ "$(cat "$stamp")" = "$id" ] && return 0
  need npm "ToM is built with npm ci"
  lock tom-7876131c
  if ! { [ -f "$stamp" ] && [ "$(cat "$stamp")" = "$id" ]; }; then
    echo "building ToM into $TOM_DIR (a few minutes; log $log)" >&2
    : >"$log"
    rm -rf "$TOM_DIR"  # an unfinished build has no stamp and is redone from scratch
    mkdir -p "$TOM_DIR"
    tar -xzf "$TOM_TARBALL" -C "$TOM_DIR" || die "cannot unpack $TOM_TARBALL"
    [ -f "$TOM_DIR/run-fis.mjs" ] || die "$TOM_TARBALL holds no run-fis.mjs"
    (cd "$TOM_DIR" && npm ci --no-audit --no-fund --nodedir=/usr) </dev/null >>"$log" 2>&1 ||
      die "npm ci failed in $TOM_DIR" "$log"
    for p in "${TOM_PACKAGES[@]}"; do
      (cd "$TOM_DIR/packages/$p" && npx rollup -c) </dev/null >>"$log" 2>&1 ||
        die "rollup failed for packages/$p in $TOM_DIR" "$log"
    done
    echo "$id" >"$stamp"
  fi
  unlock
}

# tom_wait_db PID DEADLINE: until tokens.db has its tables and a pepper.
tom_wait_db() {
  local pid="$1" deadline="$2" rc=0 status missing
  missing="$("$PY" - "$DIR/fis/tokens.db" "$pid" "$((deadline - SECONDS))" <<'EOF'
import os, sqlite3, sys, time
path, pid, budget = sys.argv[1], int(sys.argv[2]), float(sys.argv[3])
end = time.monotonic() + max(budget, 1)
missing = "tokens.db"
while True:
    try:
        if os.path.exists(path):
            db = sqlite3.connect("file:%s?mode=ro" % path, uri=True, timeout=2)
            try:
                tables = {r[0] for r in db.execute("SELECT name FROM sqlite_master WHERE type='table'")}
                need = [t for t in ("accessTokens", "hashes", "keys") if t not in tables]
                if need:
                    missing = "tables " + ", ".join(need)
                elif not db.execute("SELECT data FROM keys WHERE name='pepper' AND data IS NOT NULL AND data != ''").fetchone():
                    missing = "a pepper in keys"
                else:
                    sys.exit(0)
            finally:
                db.close()
    except sqlite3.Error as e:
        missing = "a readable tokens.db (%s)" % e
    try:
        os.kill(pid, 0)
        with open("/proc/%d/stat" % pid) as f:
            if f.read().rsplit(")", 1)[1].split()[0] == "Z":
                raise ProcessLookupError
    except FileNotFoundError:
        pass
    except ProcessLookupError:
        print(missing); sys.exit(3)
    if time.monotonic() > end:
        print(missing); sys.exit(4)
    time.sleep(0.1)
EOF
)" || rc=$?
  case "$rc" in
    0) return 0 ;;
    3) status=0; wait "$pid" 2>/dev/null || status=$?
       die "ToM FIS (pid $pid) exited with status $status before its tokens.db was ready (missing: $missing)" "$DIR/fis/stdout.log" ;;
    *) die "ToM FIS's $DIR/fis/tokens.db was not ready within ${READY_TIMEOUT} s (missing: ${missing:-?})" "$DIR/fis/stdout.log" ;;
  esac
}

start_tom() {
  need curl "needed to see when ToM answers"
  need node "ToM runs on node"
  [ -x "$PY" ] || die "$PY is missing (it creates ToM's users.db)"
  refuse_running
  tom_build
  local port deadline code url
  port="$(free_ports 1)" || die "cannot pick a free loopback port"
  # A fresh server: no databases of an earlier run.
  rm -f "$DIR/target.json"
  mkdir -p "$DIR/fis"
  rm -f "$DIR/fis/tokens.db" "$DIR/fis/users.db" "$DIR/fis/"*.db-journal "$DIR/fis/"*.db-wal "$DIR/fis/"*.db-shm
  "$PY" - "$DIR/fis/users.db" <<'EOF' || die "cannot create $DIR/fis/users.db"
import sqlite3, sys
db = sqlite3.connect(sys.argv[1])
db.execute("CREATE TABLE users (uid varchar(255), mobile text, mail text)")
db.commit()
EOF
  # A clean environment: ToM's config parser takes any variable named like one
  # of its config keys (DATABASE_HOST, BASE_URL, ...) as an override.
  # TRUSTED_SERVERS_ADDRESSES is such an override: a string, split on commas
  # and blanks into the list of client addresses treated as trusted servers.
  launch "$DIR/fis/stdout.log" 0 "$TOM_DIR" \
    RUN_DIR="$DIR/fis" PORT="$port" SERVER_NAME=fis.test \
    TRUSTED_SERVERS_ADDRESSES="$TRUSTED_ADDRESS" NODE_TLS_REJECT_UNAUTHORIZED=0 -- \
    node run-fis.mjs
  deadline=$((SECONDS + READY_TIMEOUT))
  url="http://127.0.0.1:$port"
  wait_http "ToM FIS" "$LAUNCHED" "$url/_matrix/identity/v2" "$DIR/fis/stdout.log" "$deadline"
  tom_wait_db "$LAUNCHED" "$deadline"
  # The trusted address must really be trusted, and only it.
  code="$(curl -s -o /dev/null -w '%{http_code}' --max-time 5 --interface "$TRUSTED_ADDRESS" "$url/_matrix/identity/v2/hash_details" || true)"
  [ "$code" = 200 ] || die "ToM FIS does not trust $TRUSTED_ADDRESS: GET hash_details from it answered ${code:-nothing} (curl --interface $TRUSTED_ADDRESS)" "$DIR/fis/stdout.log"
  code="$(curl -s -o /dev/null -w '%{http_code}' --max-time 5 "$url/_matrix/identity/v2/hash_details" || true)"
  [ "$code" = 401 ] || die "ToM FIS trusts 127.0.0.1 too: GET hash_details without a token answered ${code:-nothing}" "$DIR/fis/stdout.log"
  write_target tom "$port"
  STARTED=()
  echo "ToM FIS listening on $url, pid $(read_pids | tr '\n' ' ')"
}

# ---------------------------------------------------------------- synapse

synapse_venv() {
  [ -f "$SYNAPSE_WHEEL" ] || die "missing $SYNAPSE_WHEEL (set FEDCONN_REAL_SERVERS?)"
  local id stamp="$SYNAPSE_VENV/.fedconn-wheel"
  id="$(tarball_id "$SYNAPSE_WHEEL")"
  [ -f "$stamp" ] && [ "$(cat "$stamp")" = "$id" ] && return 0
  lock synapse-1.67.0
  if ! { [ -f "$stamp" ] && [ "$(cat "$stamp")" = "$id" ]; }; then
    rm -rf "$SYNAPSE_VENV"
    "$PY" -m venv --system-site-packages "$SYNAPSE_VENV" >"$CACHE/synapse-venv.log" 2>&1 ||
      die "cannot create the venv $SYNAPSE_VENV (python3-venv missing? run: $SELF install-deps)" "$CACHE/synapse-venv.log"
    # The wheel matters: Synapse checks its dependencies through the installed metadata.
    "$SYNAPSE_VENV/bin/pip" install -q --no-index --no-deps "$SYNAPSE_WHEEL" >>"$CACHE/synapse-venv.log" 2>&1 ||
      die "cannot install $SYNAPSE_WHEEL into $SYNAPSE_VENV" "$CACHE/synapse-venv.log"
    "$SYNAPSE_VENV/bin/python" -c 'import synapse.app.homeserver' >>"$CACHE/synapse-venv.log" 2>&1 ||
      die "Synapse does not import: a Debian package is missing (run: $SELF install-deps)" "$CACHE/synapse-venv.log"
    echo "$id" >"$stamp"
  fi
  unlock
}

# synapse_config HSDIR NAME HTTPPORT TLSPORT: keys, certificate, log config and
# homeserver.yaml from the fixtures' template.
synapse_config() {
  local d="$1" name="$2" port="$3" tls="$4"
  mkdir -p "$d"
  rm -f "$d/homeserver.db" "$d/homeserver.db-journal" "$d/homeserver.db-wal" "$d/homeserver.db-shm" "$d/homeserver.pid"
  "$SYNAPSE_VENV/bin/python" -m synapse._scripts.generate_signing_key -o "$d/signing.key" >/dev/null 2>&1 ||
    die "cannot generate a Synapse signing key in $d"
  openssl req -x509 -newkey rsa:2048 -nodes -keyout "$d/tls.key" -out "$d/tls.crt" -days 30 \
    -subj "/CN=localhost" -addext "subjectAltName=DNS:localhost,IP:127.0.0.1" >/dev/null 2>&1 ||
    die "openssl cannot make a certificate for $name"
  cat >"$d/log.yaml" <<EOL
version: 1
formatters: {precise: {format: '%(asctime)s - %(name)s - %(lineno)d - %(levelname)s - %(request)s - %(message)s'}}
handlers: {file: {class: logging.FileHandler, formatter: precise, filename: $d/homeserver.log}}
root: {level: INFO, handlers: [file]}
disable_existing_loggers: false
EOL
  [ -f "$SYNAPSE_TEMPLATE" ] || die "missing $SYNAPSE_TEMPLATE"
  # The template's placeholders: $HS_DIR, hs1.test, 18008 (HTTP) and 18448 (TLS).
  sed -e "s|\$HS_DIR/hs1.test.signing.key|$d/signing.key|; s|\$HS_DIR/hs1.test.log.config|$d/log.yaml|" \
    -e "s|\$HS_DIR|$d|g; s|\"hs1.test\"|\"$name\"|; s|18008|$port|g; s|18448|$tls|g" \
    -e "s|^serve_server_wellknown: true.*|serve_server_wellknown: false|" \
    "$SYNAPSE_TEMPLATE" >"$d/homeserver.yaml" || die "cannot write $d/homeserver.yaml"
  grep -q "server_name: \"$name\"" "$d/homeserver.yaml" || die "$SYNAPSE_TEMPLATE changed: no server_name to set"
}

start_synapse() {
  need curl "needed to see when Synapse answers"
  need openssl "Synapse's TLS federation listener needs a certificate"
  [ -x "$PY" ] || die "$PY is missing (Synapse runs on Debian's python3)"
  synapse_venv
  refuse_running
  local ports p1 t1 p2 t2 deadline
  ports="$(free_ports 4)" || die "cannot pick free loopback ports"
  read -r p1 t1 p2 t2 <<<"$ports"
  rm -f "$DIR/target.json"
  synapse_config "$DIR/hs1" "localhost:$t1" "$p1" "$t1"
  synapse_config "$DIR/hs2" "localhost:$t2" "$p2" "$t2"
  local pid1 pid2
  launch "$DIR/hs1/stdout.log" 0 "$DIR/hs1" -- \
    "$SYNAPSE_VENV/bin/python" -m synapse.app.homeserver --config-path "$DIR/hs1/homeserver.yaml"
  pid1=$LAUNCHED
  launch "$DIR/hs2/stdout.log" 0 "$DIR/hs2" -- \
    "$SYNAPSE_VENV/bin/python" -m synapse.app.homeserver --config-path "$DIR/hs2/homeserver.yaml"
  pid2=$LAUNCHED
  deadline=$((SECONDS + READY_TIMEOUT))
  wait_http "Synapse localhost:$t1" "$pid1" "http://127.0.0.1:$p1/_matrix/federation/v1/version" "$DIR/hs1/homeserver.log" "$deadline"
  wait_http "Synapse localhost:$t2" "$pid2" "http://127.0.0.1:$p2/_matrix/federation/v1/version" "$DIR/hs2/homeserver.log" "$deadline"
  # The TLS listener is the one the other instance federates with.
  curl -sk -o /dev/null --max-time 5 "https://127.0.0.1:$t1/_matrix/federation/v1/version" ||
    die "Synapse localhost:$t1 does not answer on its TLS federation port $t1" "$DIR/hs1/homeserver.log"
  write_target synapse "$p1" "$t1" "$p2" "$t2"
  STARTED=()
  echo "Synapse localhost:$t1 on http://127.0.0.1:$p1 and localhost:$t2 on http://127.0.0.1:$p2, pids $(read_pids | tr '\n' ' ')"
}

# ---------------------------------------------------------------- target

write_target() { # write_target sydent CLIENTPORT INTERNALPORT | tom PORT | synapse P1 T1 P2 T2
  "$PY" - "$DIR" "$SELF" "$TRUSTED_ADDRESS" "$SYNAPSE_SECRET" "$@" <<'EOF' || die "cannot write $DIR/target.json"
import json, os, sys
run_dir, script, trusted, secret, kind = sys.argv[1:6]
sys.argv[5:] = sys.argv[6:]
if kind == "synapse":
    p1, t1, p2, t2 = sys.argv[5:9]
    servers = [
        {
            "server_name": "localhost:%s" % tls,
            "base_url": "http://127.0.0.1:%s" % port,
            "roles": {"federation": {"profiles": ["matrix-current"], "room_versions": ["10"]}},
            "driver": {"kind": "matrix-cs", "registration_shared_secret": secret},
        }
        for port, tls in ((p1, t1), (p2, t2))
    ]
    path = os.path.join(run_dir, "target.json")
    with open(path + ".tmp", "w") as f:
        json.dump({"fedconn": 2, "servers": servers}, f, indent=2)
        f.write("\n")
    os.replace(path + ".tmp", path)
    sys.exit(0)
if kind == "sydent":
    cport, iport = sys.argv[5:7]
    server = {
        "server_name": "sydent.test",
        "base_url": "http://127.0.0.1:%s" % cport,
        "roles": {"identity": {"msc4004": False}},
        "driver": {
            "kind": "sydent",
            "internal_url": "http://127.0.0.1:%s" % iport,
            "database": os.path.join(run_dir, "sydent.db"),
            "rotate_pepper": ["bash", script, "rotate-pepper", run_dir],
        },
    }
else:
    (port,) = sys.argv[5:6]
    server = {
        "server_name": "fis.test",
        "base_url": "http://127.0.0.1:%s" % port,
        "roles": {"identity": {"msc4004": True, "trusted_addresses": [trusted]}},
        "driver": {"kind": "tom", "database": os.path.join(run_dir, "fis", "tokens.db")},
    }
path = os.path.join(run_dir, "target.json")
with open(path + ".tmp", "w") as f:
    json.dump({"fedconn": 2, "servers": [server]}, f, indent=2)
    f.write("\n")
os.replace(path + ".tmp", path)
EOF
}

# ---------------------------------------------------------------- commands

stop_dir() {
  [ -d "$DIR" ] || return 0
  local pids
  mapfile -t pids < <(read_pids)
  if [ "${#pids[@]}" -gt 0 ]; then
    stop_pids "${pids[@]}" || die "some servers of $DIR would not stop"
  fi
  rm -f "$DIR/pids"
}

install_deps() {
  local installed
  local all=("${DEBS[@]}" "${SYNAPSE_DEBS[@]}")
  installed="$(dpkg-query -W -f='${Status}\n' "${all[@]}" 2>/dev/null | grep -c '^install ok installed$' || true)"
  if [ "$installed" = "${#all[@]}" ]; then
    echo "real-servers: the Debian packages sydent and Synapse need are installed"
    return 0
  fi
  local sudo=()
  if [ "$(id -u)" -ne 0 ]; then
    need sudo "installing Debian packages needs root"
    sudo=(sudo)
  fi
  local install=("${sudo[@]}" env DEBIAN_FRONTEND=noninteractive apt-get install -y --no-install-recommends "${all[@]}")
  if ! "${install[@]}"; then
    # Stale package lists are the usual cause: refresh them once and retry.
    "${sudo[@]}" apt-get update || die "apt-get update failed"
    "${install[@]}" || die "apt-get install of the packages sydent and Synapse need failed"
  fi
}

main() {
  [ $# -ge 1 ] || usage
  case "$1" in
    start)
      [ $# -eq 3 ] || usage
      case "$2" in sydent | tom | synapse) ;; *) usage ;; esac
      ACTION="start $2"
      set_dir "$3" 1
      case "$2" in
        sydent) start_sydent ;;
        tom) start_tom ;;
        synapse) start_synapse ;;
      esac
      ;;
    rotate-pepper)
      [ $# -eq 2 ] || usage
      ACTION="rotate-pepper"
      set_dir "$2" 0
      rotate_pepper
      ;;
    stop)
      [ $# -eq 2 ] || usage
      ACTION="stop"
      [ -n "$2" ] || usage
      if [ -d "$2" ]; then set_dir "$2" 0; stop_dir; fi
      ;;
    install-deps)
      [ $# -eq 1 ] || usage
      ACTION="install-deps"
      install_deps
      ;;
    *) usage ;;
  esac
}

main "$@"; exit $?
