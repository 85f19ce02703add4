#!/usr/bin/env bash
# The whole benchmark suite in one command (see BENCHMARKS.md):
#   scripts/bench.sh            # everything, results in docs/bench/
#   scripts/bench.sh --small    # a smoke run of every scenario with small numbers
# Builds release binaries, installs the Node.js baseline's one dependency
# (ws, pinned by bench/node/package-lock.json), then runs `loadgen all`,
# which writes docs/bench/results.md, results.json and latency.svg, then
# `loadgen two-node` (two nodes on PostgreSQL vs one on SQLite), whose
# timestamped results go to docs/bench/two-node/, and `loadgen national`
# (--small unless NATIONAL_FULL=1: four nodes behind HAProxy, one killed),
# results in docs/bench/national/. `loadgen all` includes `kill9`.
# Only loopback addresses are used. Takes about 12 minutes on 2 cores.
set -euo pipefail
cd "$(dirname "$0")/.."

# 10,000 phones are 10,000 sockets in the load generator and 10,000 in the
# server (separate processes). Raise the open-files limit as far as allowed.
ulimit -n 65536 2>/dev/null || ulimit -n "$(ulimit -Hn)" || true
echo "open files limit: $(ulimit -n)"
if [ "$(ulimit -n)" -lt 20000 ]; then
  echo "warning: fewer than 20000 open files allowed; the largest runs may fail" >&2
fi

command -v node >/dev/null || { echo "error: node (v20) is needed for the Node.js baseline" >&2; exit 1; }
# The C baseline: nginx with the nchan pub/sub module (Debian packages).
if [ ! -e /usr/lib/nginx/modules/ngx_nchan_module.so ]; then
  if [ "$(id -u)" = 0 ]; then
    apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq nginx libnginx-mod-nchan >/dev/null
  else
    echo "error: nginx + nchan is needed for the C baseline (apt-get install libnginx-mod-nchan), or pass --no-nchan" >&2; exit 1
  fi
fi
npm ci --prefix bench/node --no-audit --no-fund --loglevel=error

cargo build --release --bins
echo "load average before: $(cat /proc/loadavg)"
cargo run --release --bin loadgen -- all "$@"
# Two nodes on the machine's PostgreSQL against one node on SQLite, same run.
if pg_isready -h 127.0.0.1 -p 5432 -q 2>/dev/null; then
  mkdir -p docs/bench/two-node
  cargo run --release --bin loadgen -- two-node --out docs/bench/two-node
  command -v haproxy >/dev/null || { echo "error: haproxy is needed for loadgen national (apt-get install haproxy)" >&2; exit 1; }
  mkdir -p docs/bench/national
  if [ "${NATIONAL_FULL:-0}" = 1 ]; then
    cargo run --release --bin loadgen -- national --out docs/bench/national
  else
    cargo run --release --bin loadgen -- national --small --out docs/bench/national
  fi
else
  echo "warning: PostgreSQL is not answering on 127.0.0.1:5432; the two-node row was NOT measured" >&2
fi
echo "load average after: $(cat /proc/loadavg)"
