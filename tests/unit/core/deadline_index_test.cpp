// DeadlineIndex: earliest() and take_due() agree with a brute-force scan of the
// owner's truth, deadlines moving later need no call, stale entries are
// dropped, and the heap stays bounded.
#include "core/deadline_index.hpp"

#include <gtest/gtest.h>

#include <algorithm>
#include <map>

#include "core/random.hpp"

namespace yz {
namespace {

using Key = DeadlineIndex::Key;

// The owner's truth: each key's current deadline.
struct Truth {
  std::map<Key, Millis> at;
  Millis operator()(const Key& key) const {
    auto it = at.find(key);
    return it == at.end() ? kNever : it->second;
  }
  Millis earliest() const {
    Millis best = kNever;
    for (const auto& [key, time] : at) best = std::min(best, time);
    return best;
  }
};

TEST(DeadlineIndex, EmptyHasNoDeadline) {
  DeadlineIndex index;
  Truth truth;
  EXPECT_EQ(index.earliest(truth), kNever);
  EXPECT_TRUE(index.take_due(1000, truth).empty());
}

TEST(DeadlineIndex, EarliestOfSeveralKeys) {
  DeadlineIndex index;
  Truth truth;
  truth.at = {{{1, 0}, 500}, {{2, 0}, 300}, {{2, 7}, 400}};
  for (const auto& [key, time] : truth.at) index.schedule(key, time);
  EXPECT_EQ(index.earliest(truth), 300);
  EXPECT_EQ(index.keys(), 3u);
}

TEST(DeadlineIndex, LaterDeadlineNeedsNoCall) {
  DeadlineIndex index;
  Truth truth;
  truth.at[{1, 0}] = 100;
  index.schedule({1, 0}, 100);
  truth.at[{1, 0}] = 250;  // e.g. a frame arrived: the keep-alive moves later
  EXPECT_EQ(index.earliest(truth), 250);
  EXPECT_TRUE(index.take_due(200, truth).empty());
  auto due = index.take_due(250, truth);
  ASSERT_EQ(due.size(), 1u);
  EXPECT_EQ(due[0], (Key{1, 0}));
}

TEST(DeadlineIndex, EarlierDeadlineTakesEffectWhenScheduled) {
  DeadlineIndex index;
  Truth truth;
  truth.at[{1, 0}] = 900;
  index.schedule({1, 0}, 900);
  truth.at[{1, 0}] = 200;
  index.schedule({1, 0}, 200);
  EXPECT_EQ(index.earliest(truth), 200);
  auto due = index.take_due(200, truth);
  ASSERT_EQ(due.size(), 1u);
  truth.at.erase({1, 0});
  // The superseded entry at 900 is dropped silently.
  EXPECT_TRUE(index.take_due(1000, truth).empty());
  EXPECT_EQ(index.earliest(truth), kNever);
}

TEST(DeadlineIndex, GoneKeysAreDropped) {
  DeadlineIndex index;
  Truth truth;
  truth.at = {{{1, 0}, 100}, {{2, 0}, 200}};
  index.schedule({1, 0}, 100);
  index.schedule({2, 0}, 200);
  truth.at.erase({1, 0});
  EXPECT_EQ(index.earliest(truth), 200);
  EXPECT_EQ(index.keys(), 1u);
}

TEST(DeadlineIndex, TakeDueReturnsEachDueKeyOnceInTimeOrder) {
  DeadlineIndex index;
  Truth truth;
  truth.at = {{{3, 0}, 30}, {{1, 0}, 50}, {{2, 0}, 10}, {{4, 0}, 80}};
  for (const auto& [key, time] : truth.at) {
    index.schedule(key, time);
    index.schedule(key, time);  // twice: still one live entry
  }
  auto due = index.take_due(50, truth);
  EXPECT_EQ(due, (std::vector<Key>{{2, 0}, {3, 0}, {1, 0}}));
  // Taken keys are no longer indexed until scheduled again.
  EXPECT_EQ(index.earliest(truth), 80);
  index.schedule({2, 0}, 10);
  EXPECT_EQ(index.earliest(truth), 10);
}

TEST(DeadlineIndex, MatchesBruteForceUnderRandomChanges) {
  DeadlineIndex index;
  Truth truth;
  SeededRandom random(42);
  Millis now = 0;
  for (int step = 0; step < 20'000; ++step) {
    Key key{random.uniform(40), static_cast<std::uint32_t>(random.uniform(3))};
    Millis old = truth(key);
    auto& slot = truth.at[key];
    switch (random.uniform(4)) {
      case 0:  // a deadline moves later (no call)
        if (old != kNever) slot = old + static_cast<Millis>(random.uniform(500));
        else truth.at.erase(key);
        break;
      case 1:  // moves earlier or appears: the owner schedules it
        slot = now + static_cast<Millis>(random.uniform(1000));
        index.schedule(key, slot);
        break;
      case 2:  // gone
        truth.at.erase(key);
        break;
      default: {  // time passes; due keys are acted on and rescheduled or dropped
        now += static_cast<Millis>(random.uniform(50));
        if (old == kNever) truth.at.erase(key);
        for (const auto& due : index.take_due(now, truth)) {
          ASSERT_LE(truth(due), now);
          if (random.uniform(2)) {
            truth.at[due] = now + 1 + static_cast<Millis>(random.uniform(700));
            index.schedule(due, truth.at[due]);
          } else {
            truth.at.erase(due);
          }
        }
        for (const auto& [k, time] : truth.at) ASSERT_GT(time, now) << "a due key was not taken";
        break;
      }
    }
    ASSERT_EQ(index.earliest(truth), truth.earliest()) << "step " << step;
    ASSERT_LE(index.entries(), 2 * 120 + 64 + 1);  // 120 possible keys
  }
}

}  // namespace
}  // namespace yz
