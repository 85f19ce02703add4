#!/usr/bin/env bash
# Runs every test of doithoai on this machine: unit, integration (real server
# on port 0), PostgreSQL (real server on 127.0.0.1:5432) and browser tests
# (real headless Chromium). Installs and starts what they need first, and
# fails loudly if it cannot: no test is ever skipped silently.
set -euo pipefail
cd "$(dirname "$0")/.."

need_root() {
  if [ "$(id -u)" != 0 ]; then
    echo "error: $1 is missing and installing it needs root (apt-get install $2)" >&2
    exit 1
  fi
}

# Chromium and its driver for the browser tests (Debian packages).
if ! command -v chromium >/dev/null || ! command -v chromedriver >/dev/null; then
  need_root "chromium/chromedriver" "chromium chromium-driver"
  apt-get update -qq
  DEBIAN_FRONTEND=noninteractive apt-get install -y -qq chromium chromium-driver >/dev/null
fi

# axe-core for the browser tests' accessibility check (tests/axe, pinned by
# its package-lock.json). npm ci prefers its cache, so a machine that has
# installed it once needs no network; without npm or the package the
# browser tests cannot check accessibility, so stop here and say why.
if ! command -v npm >/dev/null; then
  need_root "npm (for axe-core)" "npm"
  apt-get update -qq
  DEBIAN_FRONTEND=noninteractive apt-get install -y -qq npm >/dev/null
fi
npm ci --prefix tests/axe --prefer-offline --no-audit --no-fund >/dev/null \
  || { echo "error: npm ci in tests/axe failed: the browser tests need axe-core (no network and no npm cache?)" >&2; exit 1; }
[ -f tests/axe/node_modules/axe-core/axe.min.js ] \
  || { echo "error: tests/axe/node_modules/axe-core/axe.min.js is missing after npm ci" >&2; exit 1; }

# HAProxy for the test of the deploy recipe (deploy/haproxy.cfg, Debian package).
if ! command -v haproxy >/dev/null; then
  need_root "haproxy" "haproxy"
  apt-get update -qq
  DEBIAN_FRONTEND=noninteractive apt-get install -y -qq haproxy >/dev/null
fi
haproxy -c -f deploy/haproxy.cfg >/dev/null || { echo "error: deploy/haproxy.cfg is not valid (haproxy -c)" >&2; exit 1; }

# PostgreSQL on 127.0.0.1:5432 for the PostgreSQL store and two-node tests.
if ! pg_isready -h 127.0.0.1 -p 5432 -q 2>/dev/null; then
  if command -v pg_ctlcluster >/dev/null && [ -d /etc/postgresql ]; then
    pg_ctlcluster --skip-systemctl-redirect "$(ls /etc/postgresql | head -n1)" main start || true
  else
    need_root "PostgreSQL" "postgresql"
    apt-get update -qq
    DEBIAN_FRONTEND=noninteractive apt-get install -y -qq postgresql >/dev/null
    pg_ctlcluster --skip-systemctl-redirect "$(ls /etc/postgresql | head -n1)" main start
  fi
  for _ in $(seq 1 30); do pg_isready -h 127.0.0.1 -p 5432 -q && break; sleep 1; done
fi
pg_isready -h 127.0.0.1 -p 5432 || { echo "error: PostgreSQL is not answering on 127.0.0.1:5432" >&2; exit 1; }
export DOITHOAI_TEST_PG_URL="${DOITHOAI_TEST_PG_URL:-postgres://postgres@127.0.0.1:5432/postgres}"

# Many sockets in the load-generator and backpressure tests.
ulimit -n 65536 2>/dev/null || ulimit -n "$(ulimit -Hn)" || true

log=$(mktemp)
trap 'rm -f "$log"' EXIT
set +e
cargo test --locked "$@" 2>&1 | tee "$log"
status=${PIPESTATUS[0]}
set -e
# One closing line for the whole run, summed over every test binary.
awk '/^test result:/ { for (i = 1; i <= NF; i++) { if ($(i+1) ~ /^passed/) p += $i; if ($(i+1) ~ /^failed/) f += $i } }
     END { printf "tests: %d passed, %d failed\n", p, f }' "$log"
exit "$status"
