#!/usr/bin/env bash
# Tests of the yz vs OpenDHT bench (bench/compare), from `make test`: installs
# OpenDHT's Debian packages when missing (scripts/deps --bench), then runs
# tests/bench/*_test.py under Debian's /usr/bin/python3 (the only interpreter
# python3-opendht imports under): the report arithmetic, and one small run of
# the whole bench against the yz programs in $YZ_BIN_DIR (default build/).
# Usage: tests/bench/run.sh
set -euo pipefail
root="$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)"
cd "$root"
scripts/deps --bench
export YZ_BIN_DIR="${YZ_BIN_DIR:-$root/build}"
for p in yz yz-node yz-bootstrap; do
  [[ -x "$YZ_BIN_DIR/$p" ]] || { echo "tests/bench: $YZ_BIN_DIR/$p is missing: run 'make build' first" >&2; exit 1; }
done
exec /usr/bin/python3 -m unittest discover -s tests/bench -p '*_test.py' -v
