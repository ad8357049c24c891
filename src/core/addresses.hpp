// The addresses of a contact: an immutable list in one heap block, shared by
// every copy. Contacts are copied all the time (routing table -> lookup
// candidates -> Nodes and StoreAck replies -> the receiver's routing table);
// sharing makes a copy one reference count instead of a vector and a heap
// string per URL, and one block (reference count, offsets, characters) holds
// a list in about a third of the memory of a vector of strings. A list is
// never changed in place: assigning a new one replaces it for this copy only.
#pragma once
#include <atomic>
#include <cstddef>
#include <cstdint>
#include <initializer_list>
#include <iterator>
#include <span>
#include <string>
#include <string_view>
#include <vector>

namespace yz {

class Addresses {
 public:
  Addresses() = default;
  Addresses(const std::vector<std::string>& list);  // NOLINT(google-explicit-constructor): a list of URLs
  Addresses(std::initializer_list<std::string_view> list);
  explicit Addresses(std::span<const std::string_view> list);
  Addresses(const Addresses& other) noexcept : rep_(other.rep_) {
    if (rep_) rep_->refs.fetch_add(1, std::memory_order_relaxed);
  }
  Addresses(Addresses&& other) noexcept : rep_(other.rep_) { other.rep_ = nullptr; }
  Addresses& operator=(Addresses other) noexcept {
    std::swap(rep_, other.rep_);
    return *this;
  }
  ~Addresses() { release(); }

  std::size_t size() const { return rep_ ? rep_->count : 0; }
  bool empty() const { return rep_ == nullptr; }
  std::string_view operator[](std::size_t i) const;
  std::string_view front() const { return (*this)[0]; }
  std::vector<std::string> list() const;  // a copy, for JSON and tests

  class Iterator {
   public:
    using iterator_category = std::forward_iterator_tag;
    using value_type = std::string_view;
    using difference_type = std::ptrdiff_t;
    using pointer = void;
    using reference = std::string_view;
    Iterator() = default;
    Iterator(const Addresses* list, std::size_t i) : list_(list), i_(i) {}
    std::string_view operator*() const { return (*list_)[i_]; }
    Iterator& operator++() {
      ++i_;
      return *this;
    }
    Iterator operator++(int) {
      Iterator before = *this;
      ++i_;
      return before;
    }
    bool operator==(const Iterator& other) const { return i_ == other.i_; }

   private:
    const Addresses* list_ = nullptr;
    std::size_t i_ = 0;
  };
  Iterator begin() const { return {this, 0}; }
  Iterator end() const { return {this, size()}; }

  friend bool operator==(const Addresses& a, const Addresses& b);
  friend bool operator==(const Addresses& a, const std::vector<std::string>& b);

 private:
  // Followed in the same block by count + 1 u32 offsets and the characters.
  struct Rep {
    std::atomic<std::uint32_t> refs;
    std::uint32_t count;
  };
  template <typename Range>
  void build(const Range& list);
  void release() noexcept;
  Rep* rep_ = nullptr;  // null: no addresses (browsers and clients)
};

}  // namespace yz
