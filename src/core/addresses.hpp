// The addresses of a contact: an immutable list shared by every copy.
// Contacts are copied all the time (routing table -> lookup candidates ->
// Nodes and StoreAck replies -> the routing table of the receiver); sharing the
// list makes a copy one reference count instead of a vector and a heap string
// per address. A list is never changed in place: assigning a new list replaces
// it for this copy only.
#pragma once
#include <cstddef>
#include <initializer_list>
#include <memory>
#include <string>
#include <vector>

namespace yz {

class Addresses {
 public:
  using List = std::vector<std::string>;

  Addresses() = default;
  Addresses(List list)  // NOLINT(google-explicit-constructor): a contact's addresses are a list of URLs
      : list_(list.empty() ? nullptr : std::make_shared<const List>(std::move(list))) {}
  Addresses(std::initializer_list<std::string> list) : Addresses(List(list)) {}

  const List& list() const { return list_ ? *list_ : empty_list(); }
  operator const List&() const { return list(); }  // NOLINT(google-explicit-constructor)

  List::const_iterator begin() const { return list().begin(); }
  List::const_iterator end() const { return list().end(); }
  std::size_t size() const { return list_ ? list_->size() : 0; }
  bool empty() const { return size() == 0; }
  const std::string& front() const { return list_->front(); }
  const std::string& operator[](std::size_t i) const { return (*list_)[i]; }

  friend bool operator==(const Addresses& a, const Addresses& b) {
    return a.list_ == b.list_ || a.list() == b.list();
  }
  friend bool operator==(const Addresses& a, const List& b) { return a.list() == b; }

 private:
  static const List& empty_list() {
    static const List none;
    return none;
  }
  std::shared_ptr<const List> list_;  // null: no addresses (browsers and clients)
};

}  // namespace yz
