#!/usr/bin/env bash
# The benchmarks drive load with wrk, compare sandboxed instances with bubblewrap against unsandboxed ones, and
# count instructions per request with valgrind: all from Debian's packages.
set -euo pipefail
missing=()
command -v wrk >/dev/null || missing+=(wrk)
command -v bwrap >/dev/null || missing+=(bubblewrap)
command -v valgrind >/dev/null || missing+=(valgrind)
if [ ${#missing[@]} -gt 0 ]; then
  if [ "$(id -u)" = 0 ]; then
    apt-get install -y "${missing[@]}" >/dev/null 2>&1 ||
      { apt-get update >/dev/null && apt-get install -y "${missing[@]}" >/dev/null; }
  else
    echo "bench needs ${missing[*]}: sudo apt-get install ${missing[*]}" >&2
    exit 1
  fi
fi

# The `peer` scenario's serverless-offline, apart from Sluice's own dependencies and only when missing. A failed
# install is not fatal: the suite runs on and the peer's row says why it was not measured.
peer="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)/peer"
if [ ! -f "$peer/node_modules/.package-lock.json" ]; then
  echo "installing the benchmark's peer (serverless-offline) into bench/peer/node_modules" >&2
  timeout 600 npm install --prefix "$peer" --no-audit --no-fund --loglevel=error >/dev/null ||
    echo "bench: could not install serverless-offline into bench/peer; the peer scenario will say so" >&2
fi
