#!/usr/bin/env bash
# `make demo`: a local yz network (yz cluster up --demo: bootstrap, genesis,
# bridges, DHT nodes on 127.0.0.1:7400..) plus the browser demo page on
# http://127.0.0.1:8080/. Open the printed URL in two tabs: each tab runs a
# browser peer that joins over WebSocket, finds the other through the DHT and
# links to it directly over a WebRTC DataChannel. Ctrl-C stops everything.
# Environment: YZ_BIN_DIR (the yz binaries, default build/), DEMO_PORT (8080),
# DEMO_BASE_PORT (7400), DEMO_NODES (5).
set -euo pipefail
web="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
root="$(cd "$web/.." && pwd)"
bin="${YZ_BIN_DIR:-$root/build}"
port="${DEMO_PORT:-8080}"
base="${DEMO_BASE_PORT:-7400}"
nodes="${DEMO_NODES:-5}"

[[ -x "$bin/yz" ]] || { echo "demo: no yz binary in $bin: run make build (or set YZ_BIN_DIR)" >&2; exit 1; }
command -v node >/dev/null || { echo "demo: Node.js 20+ is needed for the page server (apt-get install nodejs npm)" >&2; exit 1; }

# The web package: npm dependencies, the wasm core and the TypeScript, when missing or stale.
cd "$web"
if [[ ! -f node_modules/.package-lock.json || package-lock.json -nt node_modules/.package-lock.json ]]; then
  npm ci --no-audit --no-fund --loglevel=error
fi
newest_src="$(find src ../src/core -type f -newer dist/yz_core.wasm 2>/dev/null | head -1 || true)"
if [[ ! -f dist/yz_core.wasm || -n "$newest_src" ]]; then
  dpkg -s emscripten >/dev/null 2>&1 || { echo "demo: the wasm build needs Debian's emscripten and node-acorn (web/scripts/test-all.sh installs them)" >&2; exit 1; }
  bash scripts/build-wasm.sh
fi
npx --no-install tsc -p tsconfig.json

server_pid=""
cluster_pid=""
# Ctrl-C reaches every process of the terminal; a TERM to this script alone
# (a supervisor, `timeout`) is passed on, so the cluster stops either way.
cleanup() {
  [[ -n "$cluster_pid" ]] && kill -INT "$cluster_pid" 2>/dev/null && wait "$cluster_pid" 2>/dev/null
  [[ -n "$server_pid" ]] && kill "$server_pid" 2>/dev/null
  true
}
trap cleanup EXIT
trap 'exit 130' INT
trap 'exit 143' TERM
node scripts/serve.mjs --port "$port" &
server_pid=$!
sleep 0.3
kill -0 "$server_pid" 2>/dev/null || { echo "demo: the page server could not start on port $port (set DEMO_PORT)" >&2; exit 1; }
cat <<MSG

  Browser demo: http://127.0.0.1:$port/?seed=ws://127.0.0.1:$base/&autostart=1
  Open it in two tabs (or two browsers): each tab joins, finds the other
  through the DHT and links to it over WebRTC (the links table says
  "webrtc" and the DataChannel state). See web/README.md if the tabs do not
  link directly (WebRTC on one machine needs a usable host candidate).

MSG
cd "$root"  # the cluster keeps its logs and keys in .yz-cluster/ here
"$bin/yz" cluster up --demo --nodes "$nodes" --base-port "$base" &
cluster_pid=$!
wait "$cluster_pid"
cluster_pid=""
