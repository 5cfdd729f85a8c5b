#!/usr/bin/env bash
# The benchmarks drive load with wrk, from Debian's packages.
set -euo pipefail
if ! command -v wrk >/dev/null; then
  if [ "$(id -u)" = 0 ]; then
    apt-get install -y wrk >/dev/null 2>&1 || { apt-get update >/dev/null && apt-get install -y wrk >/dev/null; }
  else
    echo "bench needs wrk: sudo apt-get install wrk" >&2
    exit 1
  fi
fi
