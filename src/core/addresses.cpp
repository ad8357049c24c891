// One heap block per address list (see addresses.hpp).
#include "core/addresses.hpp"

#include <algorithm>
#include <cstring>
#include <new>

namespace yz {

namespace {
using Offset = std::uint32_t;
}

template <typename Range>
void Addresses::build(const Range& list) {
  std::size_t count = 0;
  std::size_t chars = 0;
  for (const auto& address : list) {
    ++count;
    chars += std::string_view(address).size();
  }
  if (count == 0) return;
  void* block = ::operator new(sizeof(Rep) + (count + 1) * sizeof(Offset) + chars);
  rep_ = new (block) Rep{{1}, static_cast<std::uint32_t>(count)};
  auto* offsets = reinterpret_cast<Offset*>(rep_ + 1);
  char* text = reinterpret_cast<char*>(offsets + count + 1);
  Offset at = 0;
  std::size_t i = 0;
  for (const auto& address : list) {
    std::string_view view(address);
    offsets[i++] = at;
    if (!view.empty()) std::memcpy(text + at, view.data(), view.size());
    at += static_cast<Offset>(view.size());
  }
  offsets[count] = at;
}

Addresses::Addresses(const std::vector<std::string>& list) {
  build(list);
}
Addresses::Addresses(std::initializer_list<std::string_view> list) {
  build(list);
}
Addresses::Addresses(std::span<const std::string_view> list) {
  build(list);
}

void Addresses::release() noexcept {
  if (rep_ && rep_->refs.fetch_sub(1, std::memory_order_acq_rel) == 1) {
    rep_->~Rep();
    ::operator delete(rep_);
  }
  rep_ = nullptr;
}

std::string_view Addresses::operator[](std::size_t i) const {
  const auto* offsets = reinterpret_cast<const Offset*>(rep_ + 1);
  const char* text = reinterpret_cast<const char*>(offsets + rep_->count + 1);
  return {text + offsets[i], offsets[i + 1] - offsets[i]};
}

std::vector<std::string> Addresses::list() const {
  return {begin(), end()};
}

bool operator==(const Addresses& a, const Addresses& b) {
  return a.rep_ == b.rep_ || std::equal(a.begin(), a.end(), b.begin(), b.end());
}

bool operator==(const Addresses& a, const std::vector<std::string>& b) {
  return std::equal(a.begin(), a.end(), b.begin(), b.end());
}

}  // namespace yz
