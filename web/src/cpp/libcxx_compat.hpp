// Force-included (-include) into every translation unit of the wasm build.
// Debian's Emscripten 3.1.6 ships libc++ 13, whose std::array has no
// operator<=>; the core's NodeId defaults its operator<=> over a std::array
// member, so without this the defaulted operator is deleted and NodeId cannot
// be ordered (std::map<NodeId, ...>, "lower id wins"). This supplies the
// C++20 lexicographic comparison for that old library only.
// A core-side fix (NodeId defining operator<=> with memcmp) would make this
// file unnecessary; see web/README.md.
#pragma once
#include <array>
#include <compare>
#include <cstddef>
#include <type_traits>

#if defined(_LIBCPP_VERSION) && _LIBCPP_VERSION < 14000
namespace std {
template <class T, size_t N>
  requires is_integral_v<T>
constexpr strong_ordering operator<=>(const array<T, N>& a, const array<T, N>& b) {
  for (size_t i = 0; i < N; ++i) {
    if (a[i] != b[i]) return a[i] < b[i] ? strong_ordering::less : strong_ordering::greater;
  }
  return strong_ordering::equal;
}
}  // namespace std
#endif
