#!/usr/bin/env bash
# Runs a command inside a fresh network namespace that has only a loopback
# interface, then removes the namespace (and anything left running in it),
# whatever happens. Chromium opens WebRTC DataChannels between two pages on
# 127.0.0.1 only there (see web/README.md, "WebRTC on loopback").
# Needs root (ip netns). Usage: web/scripts/netns-run.sh [--if-root] <command> [args...]
# --if-root: when not root, say so loudly and run the command as it is (the
# Chromium WebRTC tests then skip themselves).
set -euo pipefail
if_root=0
[[ "${1:-}" == "--if-root" ]] && { if_root=1; shift; }
if [[ $(id -u) -ne 0 ]]; then
  if ((if_root)); then
    echo "*** netns-run: not root, so no network namespace: the Chromium WebRTC tests will be SKIPPED ***" >&2
    exec "$@"
  fi
  echo "netns-run: creating a network namespace needs root (ip netns add)" >&2
  exit 1
fi
(($#)) || { echo "usage: netns-run.sh <command> [args...]" >&2; exit 2; }
name="yz-web-$$"
cleanup() {
  # Whatever the command left behind in the namespace (a cluster, a browser).
  local pids
  pids="$(ip netns pids "$name" 2>/dev/null || true)"
  [[ -n "$pids" ]] && kill -9 $pids 2>/dev/null || true
  ip netns delete "$name" 2>/dev/null || true
}
trap cleanup EXIT
trap 'exit 130' INT
trap 'exit 143' TERM
ip netns add "$name"
ip netns exec "$name" ip link set lo up
set +e
ip netns exec "$name" "$@"
status=$?
set -e
exit "$status"
