#!/usr/bin/env bash
# Everything the web package needs, then every web test, in one command (the
# lead calls it from `make test`):
#   1. missing Debian packages: emscripten, node-acorn, chromium (and nodejs/npm
#      when absent); never a downloaded browser or toolchain
#   2. the native yz binaries for the test network: $YZ_BIN_DIR, else build/
#      when it has them, else a Release build in build-web/
#   3. npm ci from the committed package-lock.json (skipped when up to date)
#   4. the wasm core and the TypeScript (npm run build)
#   5. node --test over the golden vectors, the loopback transport, WebRTC
#      between Node.js peers, the Node.js client against a real cluster, and
#      the browser in headless Chromium (WebSocket, and WebRTC between pages);
#      as root, all inside a network namespace with only `lo`, which Chromium's
#      loopback WebRTC needs (scripts/netns-run.sh removes it afterwards)
# Usage: web/scripts/test-all.sh [--no-browser]
set -euo pipefail
web="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
root="$(cd "$web/.." && pwd)"
jobs="${JOBS:-2}"

sudo_cmd=()
[[ $(id -u) -ne 0 ]] && sudo_cmd=(sudo)
apt_install() {
  echo "test-all: installing missing packages: $*"
  "${sudo_cmd[@]}" apt-get update -qq
  DEBIAN_FRONTEND=noninteractive "${sudo_cmd[@]}" apt-get install -y -qq --no-install-recommends "$@" >/dev/null
}

# 1. Debian packages.
missing=()
for p in emscripten node-acorn chromium; do dpkg -s "$p" >/dev/null 2>&1 || missing+=("$p"); done
command -v node >/dev/null || missing+=(nodejs)
command -v npm >/dev/null || missing+=(npm)
((${#missing[@]})) && apt_install "${missing[@]}"
node_major="$(node -p 'process.versions.node.split(".")[0]')"
if ((node_major < 20)); then
  echo "test-all: Node.js 20 or newer is needed (found $(node --version))" >&2
  exit 1
fi

# 2. Native binaries for the local test network.
have_bins() { [[ -x "$1/yz" && -x "$1/yz-node" && -x "$1/yz-bootstrap" ]]; }
if [[ -n "${YZ_BIN_DIR:-}" ]] && have_bins "$YZ_BIN_DIR"; then
  :
elif have_bins "$root/build"; then
  export YZ_BIN_DIR="$root/build"
else
  "$root/scripts/deps"
  [[ -f "$root/build-web/Makefile" ]] || cmake -S "$root" -B "$root/build-web" -DCMAKE_BUILD_TYPE=Release >/dev/null
  cmake --build "$root/build-web" -j"$jobs" --target yz yz-node yz-bootstrap
  export YZ_BIN_DIR="$root/build-web"
fi
echo "test-all: native binaries from $YZ_BIN_DIR"

# 3. npm dependencies (the lock file is committed).
cd "$web"
if [[ ! -f node_modules/.package-lock.json || package-lock.json -nt node_modules/.package-lock.json ]]; then
  npm ci --no-audit --no-fund --loglevel=error
fi

# 4. Build.
bash scripts/build-wasm.sh
npx --no-install tsc -p tsconfig.json

# 5. Tests (one node --test run, one summary).
tests=(test/vectors.test.mjs test/loopback.test.mjs test/webrtc.test.mjs test/node-client.test.mjs)
[[ "${1:-}" == "--no-browser" ]] || tests+=(test/browser.test.mjs test/webrtc-browser.test.mjs)
bash scripts/netns-run.sh --if-root node --test --test-concurrency=1 "${tests[@]}"
