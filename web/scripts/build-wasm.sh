#!/usr/bin/env bash
# Builds the yz core (src/core/*.cpp) and the wasm bridge into web/dist/yz_core.js
# + web/dist/yz_core.wasm with Emscripten (Debian's `emscripten` package), without
# CMake. Objects are cached in web/build/obj and rebuilt when a source or header
# is newer. Usage: web/scripts/build-wasm.sh [--debug]
set -euo pipefail
here="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
root="$(cd "$here/.." && pwd)"
obj="$here/build/obj"
dist="$here/dist"
mkdir -p "$obj" "$dist"

# Debian's emscripten needs Debian's acorn on NODE_PATH for its JS optimiser.
export NODE_PATH="/usr/share/nodejs${NODE_PATH:+:$NODE_PATH}"
# Keep Emscripten's cache inside the build tree when the system one is read-only.
if [[ ! -w /usr/share/emscripten/cache ]]; then export EM_CACHE="$here/build/em-cache"; fi

command -v em++ >/dev/null || { echo "build-wasm: em++ not found: apt-get install emscripten node-acorn" >&2; exit 1; }
[[ -d /usr/share/nodejs/acorn ]] || { echo "build-wasm: acorn missing: apt-get install node-acorn" >&2; exit 1; }

version="$(sed -n 's/^project(yz VERSION \([0-9.]*\).*/\1/p' "$root/CMakeLists.txt")"
version="${version:-dev}"

opt=(-O2)
link_extra=()
if [[ "${1:-}" == "--debug" ]]; then
  opt=(-O0 -g)
  link_extra=(-sASSERTIONS=2)
fi
cxxflags=(-std=c++20 "${opt[@]}" -include "$here/src/cpp/libcxx_compat.hpp" -I"$root/src" -DYZ_BUILD_ID="\"$version\""
  -Wall -Wextra -Wno-missing-field-initializers)

sources=("$root"/src/core/*.cpp "$here"/src/cpp/*.cpp)
headers=("$root"/src/core/*.hpp "$here"/src/cpp/*.hpp)
newest_header=0
for h in "${headers[@]}"; do
  t=$(stat -c %Y "$h"); ((t > newest_header)) && newest_header=$t
done
flags_sig="$(printf '%s ' "${cxxflags[@]}" | md5sum | cut -c1-8)"

objects=()
for src in "${sources[@]}"; do
  o="$obj/$(basename "${src%.cpp}").$flags_sig.o"
  objects+=("$o")
  if [[ -f "$o" ]]; then
    to=$(stat -c %Y "$o"); ts=$(stat -c %Y "$src")
    ((to >= ts && to >= newest_header)) && continue
  fi
  echo "em++ $(realpath --relative-to="$root" "$src")"
  em++ "${cxxflags[@]}" -c "$src" -o "$o"
done

# Objects of other flag sets (e.g. --debug) stay for the next switch; drop
# objects of sources that no longer exist.
for o in "$obj"/*.o; do
  [[ -e "$o" ]] || continue
  base="$(basename "$o")"; base="${base%%.*}"
  [[ -f "$root/src/core/$base.cpp" || -f "$here/src/cpp/$base.cpp" ]] || rm -f "$o"
done

exports='_malloc,_free'
echo "link web/dist/yz_core.js + yz_core.wasm"
em++ "${opt[@]}" "${objects[@]}" -o "$dist/yz_core.js" \
  -sMODULARIZE=1 -sEXPORT_ES6=1 -sEXPORT_NAME=createYzCore \
  -sENVIRONMENT=web,worker \
  -sFILESYSTEM=0 -sALLOW_MEMORY_GROWTH=1 \
  -sINITIAL_MEMORY=4194304 -sTOTAL_STACK=524288 \
  -sEXPORTED_FUNCTIONS="$exports" -sEXPORTED_RUNTIME_METHODS='[]' \
  -sDISABLE_EXCEPTION_CATCHING=1 -sSUPPORT_LONGJMP=0 \
  "${link_extra[@]}"
ls -l "$dist/yz_core.js" "$dist/yz_core.wasm" | awk '{print "  " $5 " bytes  " $9}'
