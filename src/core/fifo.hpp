// A first-in first-out queue that owns no memory while empty: a vector with a
// read index. std::deque allocates ~600 bytes up front for every instance,
// which every link (transport send queues) and every engine (routed-message
// expiry order) would pay while idle.
#pragma once
#include <cstddef>
#include <utility>
#include <vector>

namespace yz {

template <class T>
class Fifo {
 public:
  bool empty() const { return head_ == items_.size(); }
  std::size_t size() const { return items_.size() - head_; }
  T& front() { return items_[head_]; }
  const T& front() const { return items_[head_]; }
  T& at(std::size_t i) { return items_[head_ + i]; }
  void push_back(T item) { items_.push_back(std::move(item)); }
  void pop_front() {
    items_[head_++] = T{};
    if (empty()) {
      clear();
    } else if (head_ >= 64 && head_ * 2 >= items_.size()) {  // drop the consumed half
      items_.erase(items_.begin(), items_.begin() + static_cast<std::ptrdiff_t>(head_));
      head_ = 0;
    }
  }
  void clear() {
    items_ = {};
    head_ = 0;
  }

 private:
  std::vector<T> items_;
  std::size_t head_ = 0;
};

}  // namespace yz
