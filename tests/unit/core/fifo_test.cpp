// The vector-backed FIFO (core/fifo.hpp): order, compaction, release when empty.
#include "core/fifo.hpp"

#include <gtest/gtest.h>

#include <string>

namespace yz {
namespace {

TEST(Fifo, KeepsOrderAcrossCompactionsAndOwnsNothingOnceDrained) {
  Fifo<std::string> q;
  EXPECT_TRUE(q.empty());
  int next_in = 0;
  int next_out = 0;
  // Interleave pushes and pops so the consumed prefix passes the compaction point many times.
  for (int round = 0; round < 50; ++round) {
    for (int i = 0; i < 7; ++i) q.push_back(std::to_string(next_in++));
    for (int i = 0; i < 5; ++i) {
      ASSERT_EQ(q.front(), std::to_string(next_out++));
      q.pop_front();
    }
  }
  EXPECT_EQ(q.size(), static_cast<std::size_t>(next_in - next_out));
  EXPECT_EQ(q.at(1), std::to_string(next_out + 1));
  while (!q.empty()) {
    ASSERT_EQ(q.front(), std::to_string(next_out++));
    q.pop_front();
  }
  EXPECT_EQ(next_out, next_in);
  EXPECT_EQ(q.size(), 0u);
  q.push_back("again");
  EXPECT_EQ(q.front(), "again");
  q.clear();
  EXPECT_TRUE(q.empty());
}

}  // namespace
}  // namespace yz
