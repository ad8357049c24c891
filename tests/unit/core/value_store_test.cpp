// ValueStore: every put outcome, expiry, quotas, republish scheduling and
// next_deadline() checked against a brute-force model.
#include "core/value_store.hpp"

#include <gtest/gtest.h>

#include <algorithm>
#include <iterator>
#include <map>
#include <vector>

#include "core/protocol.hpp"
#include "core/random.hpp"

namespace yz {
namespace {

NodeId key(std::uint8_t n) {
  NodeId id;
  id.bytes[0] = n;
  id.bytes[31] = static_cast<std::uint8_t>(n * 37);
  return id;
}

constexpr Millis kRepublish = 1000;
constexpr std::size_t kLarge = 1 << 20;

TEST(ValueStore, StoresANewKey) {
  ValueStore store(kLarge, 100, kRepublish);
  const auto bytes = to_bytes("hello");
  EXPECT_EQ(store.put(key(1), 3, bytes, 5000, 100), StoreOutcome::stored);
  const StoredValue* v = store.get(key(1), 100);
  ASSERT_NE(v, nullptr);
  EXPECT_EQ(v->key, key(1));
  EXPECT_EQ(v->seq, 3u);
  EXPECT_EQ(v->value, bytes);
  EXPECT_EQ(v->expires_at, 5000);
  EXPECT_EQ(v->stored_at, 100);
  EXPECT_EQ(v->republish_at, 100 + kRepublish);
  EXPECT_EQ(store.size(), 1u);
  EXPECT_EQ(store.bytes(), 5u);
  EXPECT_EQ(store.get(key(2), 100), nullptr);
}

TEST(ValueStore, HigherSeqReplaces) {
  ValueStore store(kLarge, 100, kRepublish);
  store.put(key(1), 3, to_bytes("old"), 5000, 100);
  EXPECT_EQ(store.put(key(1), 4, to_bytes("newer!"), 3000, 200), StoreOutcome::replaced);
  const StoredValue* v = store.get(key(1), 200);
  ASSERT_NE(v, nullptr);
  EXPECT_EQ(v->seq, 4u);
  EXPECT_EQ(v->value, to_bytes("newer!"));
  EXPECT_EQ(v->expires_at, 3000);  // the new version's lifetime, even if shorter
  EXPECT_EQ(v->stored_at, 200);
  EXPECT_EQ(v->republish_at, 200 + kRepublish);
  EXPECT_EQ(store.size(), 1u);
  EXPECT_EQ(store.bytes(), 6u);
  EXPECT_EQ(store.next_deadline(), 200 + kRepublish);
}

TEST(ValueStore, SameVersionRefreshesWithoutShorteningExpiry) {
  ValueStore store(kLarge, 100, kRepublish);
  store.put(key(1), 3, to_bytes("v"), 5000, 100);
  EXPECT_EQ(store.put(key(1), 3, to_bytes("v"), 8000, 300), StoreOutcome::refreshed);
  const StoredValue* v = store.get(key(1), 300);
  ASSERT_NE(v, nullptr);
  EXPECT_EQ(v->expires_at, 8000);
  EXPECT_EQ(v->stored_at, 100);
  EXPECT_EQ(v->republish_at, 300 + kRepublish);  // someone else just pushed it
  EXPECT_EQ(store.put(key(1), 3, to_bytes("v"), 6000, 400), StoreOutcome::refreshed);
  EXPECT_EQ(store.get(key(1), 400)->expires_at, 8000);
  EXPECT_EQ(store.bytes(), 1u);
  EXPECT_EQ(store.size(), 1u);
}

TEST(ValueStore, LowerSeqOrConflictingSameSeqIsStale) {
  ValueStore store(kLarge, 100, kRepublish);
  store.put(key(1), 3, to_bytes("current"), 5000, 100);
  EXPECT_EQ(store.put(key(1), 2, to_bytes("older"), 9000, 200), StoreOutcome::stale);
  EXPECT_EQ(store.put(key(1), 3, to_bytes("forged"), 9000, 200), StoreOutcome::stale);
  EXPECT_EQ(store.put(key(1), 3, to_bytes("current+"), 9000, 200), StoreOutcome::stale);
  const StoredValue* v = store.get(key(1), 200);
  ASSERT_NE(v, nullptr);
  EXPECT_EQ(v->seq, 3u);
  EXPECT_EQ(v->value, to_bytes("current"));
  EXPECT_EQ(v->expires_at, 5000);
  EXPECT_EQ(v->republish_at, 100 + kRepublish);
}

TEST(ValueStore, RefusesValuesAboveTheSizeLimit) {
  ValueStore store(kLarge, 100, kRepublish);
  EXPECT_EQ(store.put(key(1), 1, Bytes(kMaxValueSize + 1, 7), 5000, 0), StoreOutcome::too_large);
  EXPECT_EQ(store.size(), 0u);
  EXPECT_EQ(store.put(key(1), 1, Bytes(kMaxValueSize, 7), 5000, 0), StoreOutcome::stored);
  EXPECT_EQ(store.put(key(1), 2, Bytes(kMaxValueSize + 1, 7), 5000, 0), StoreOutcome::too_large);
  EXPECT_EQ(store.get(key(1), 0)->seq, 1u);
  EXPECT_EQ(store.bytes(), kMaxValueSize);
  EXPECT_EQ(store.put(key(2), 1, Bytes{}, 5000, 0), StoreOutcome::stored);  // empty is fine
}

TEST(ValueStore, StoreAcceptedMatchesOutcomes) {
  EXPECT_TRUE(store_accepted(StoreOutcome::stored));
  EXPECT_TRUE(store_accepted(StoreOutcome::replaced));
  EXPECT_TRUE(store_accepted(StoreOutcome::refreshed));
  EXPECT_FALSE(store_accepted(StoreOutcome::stale));
  EXPECT_FALSE(store_accepted(StoreOutcome::too_large));
  EXPECT_FALSE(store_accepted(StoreOutcome::full));
}

TEST(ValueStore, CountQuotaRefusesNewKeysButAllowsNewVersions) {
  ValueStore store(kLarge, 2, kRepublish);
  EXPECT_EQ(store.put(key(1), 1, to_bytes("a"), 5000, 0), StoreOutcome::stored);
  EXPECT_EQ(store.put(key(2), 1, to_bytes("b"), 5000, 0), StoreOutcome::stored);
  EXPECT_EQ(store.put(key(3), 1, to_bytes("c"), 5000, 0), StoreOutcome::full);
  EXPECT_EQ(store.get(key(3), 0), nullptr);
  EXPECT_EQ(store.put(key(2), 2, to_bytes("bb"), 5000, 0), StoreOutcome::replaced);
  EXPECT_EQ(store.put(key(1), 1, to_bytes("a"), 6000, 0), StoreOutcome::refreshed);
  EXPECT_EQ(store.size(), 2u);
}

TEST(ValueStore, ByteQuotaCoversNewKeysAndGrowingVersions) {
  ValueStore store(10, 100, kRepublish);
  EXPECT_EQ(store.put(key(1), 1, Bytes(6, 1), 5000, 0), StoreOutcome::stored);
  EXPECT_EQ(store.put(key(2), 1, Bytes(5, 2), 5000, 0), StoreOutcome::full);
  EXPECT_EQ(store.put(key(2), 1, Bytes(4, 2), 5000, 0), StoreOutcome::stored);
  EXPECT_EQ(store.bytes(), 10u);
  EXPECT_EQ(store.put(key(1), 2, Bytes(7, 1), 5000, 0), StoreOutcome::full);
  EXPECT_EQ(store.get(key(1), 0)->seq, 1u);
  EXPECT_EQ(store.put(key(1), 2, Bytes(2, 1), 5000, 0), StoreOutcome::replaced);
  EXPECT_EQ(store.bytes(), 6u);
  EXPECT_EQ(store.put(key(3), 1, Bytes(4, 3), 5000, 0), StoreOutcome::stored);
  EXPECT_EQ(store.bytes(), 10u);
  ValueStore none(kLarge, 0, kRepublish);
  EXPECT_EQ(none.put(key(1), 1, to_bytes("x"), 5000, 0), StoreOutcome::full);
}

TEST(ValueStore, ExpiredValuesAreHiddenThenRemoved) {
  ValueStore store(kLarge, 100, kRepublish);
  store.put(key(1), 1, to_bytes("short"), 500, 0);
  store.put(key(2), 1, to_bytes("long"), 5000, 0);
  EXPECT_NE(store.get(key(1), 499), nullptr);
  EXPECT_EQ(store.get(key(1), 500), nullptr);  // hidden before expire() runs
  EXPECT_EQ(store.size(), 2u);
  EXPECT_EQ(store.expire(499), 0u);
  EXPECT_EQ(store.expire(500), 1u);
  EXPECT_EQ(store.size(), 1u);
  EXPECT_EQ(store.bytes(), 4u);
  EXPECT_EQ(store.expire(500), 0u);
  EXPECT_NE(store.get(key(2), 4999), nullptr);
  EXPECT_EQ(store.expire(10'000), 1u);
  EXPECT_EQ(store.size(), 0u);
  EXPECT_EQ(store.bytes(), 0u);
  EXPECT_EQ(store.next_deadline(), kNever);
}

TEST(ValueStore, ExpiredVersionsDoNotBlockNewOnes) {
  ValueStore store(kLarge, 1, kRepublish);
  store.put(key(1), 5, to_bytes("gone"), 500, 0);
  // Same key, lower seq: the held version expired, so this one is new.
  EXPECT_EQ(store.put(key(1), 4, to_bytes("next"), 2000, 600), StoreOutcome::stored);
  EXPECT_EQ(store.get(key(1), 600)->seq, 4u);
  EXPECT_EQ(store.bytes(), 4u);
  // Another key while the only slot holds an expired value.
  EXPECT_EQ(store.put(key(2), 1, to_bytes("v"), 9000, 2500), StoreOutcome::stored);
  EXPECT_EQ(store.size(), 1u);
  EXPECT_EQ(store.get(key(1), 2500), nullptr);
  EXPECT_EQ(store.bytes(), 1u);
}

TEST(ValueStore, RepublishIsScheduledAndRescheduled) {
  ValueStore store(kLarge, 100, kRepublish);
  store.put(key(1), 1, to_bytes("a"), 100'000, 0);
  store.put(key(2), 1, to_bytes("b"), 100'000, 300);
  EXPECT_TRUE(store.take_due_for_republish(999).empty());
  auto due = store.take_due_for_republish(1000);
  ASSERT_EQ(due.size(), 1u);
  EXPECT_EQ(due[0].key, key(1));
  EXPECT_EQ(due[0].value, to_bytes("a"));
  EXPECT_EQ(due[0].republish_at, 1000);  // the copy shows when it fell due
  EXPECT_EQ(store.get(key(1), 1000)->republish_at, 2000);
  EXPECT_TRUE(store.take_due_for_republish(1000).empty());
  EXPECT_EQ(store.next_deadline(), 1300);

  due = store.take_due_for_republish(2500);  // late tick: both due, rescheduled from now
  ASSERT_EQ(due.size(), 2u);
  EXPECT_EQ(store.get(key(1), 2500)->republish_at, 3500);
  EXPECT_EQ(store.get(key(2), 2500)->republish_at, 3500);
  EXPECT_EQ(store.next_deadline(), 3500);
}

TEST(ValueStore, ExpiredValuesAreNotRepublished) {
  ValueStore store(kLarge, 100, kRepublish);
  store.put(key(1), 1, to_bytes("a"), 1500, 0);
  store.put(key(2), 1, to_bytes("b"), 100'000, 0);
  auto due = store.take_due_for_republish(2000);
  ASSERT_EQ(due.size(), 1u);
  EXPECT_EQ(due[0].key, key(2));
  EXPECT_EQ(store.next_deadline(), 1500);  // expiry still pending: tick must expire it
  EXPECT_EQ(store.expire(2000), 1u);
  EXPECT_EQ(store.next_deadline(), 3000);
}

TEST(ValueStore, NextDeadlineIsTheEarliestExpiryOrRepublish) {
  ValueStore store(kLarge, 100, kRepublish);
  EXPECT_EQ(store.next_deadline(), kNever);
  store.put(key(1), 1, to_bytes("a"), 5000, 0);
  EXPECT_EQ(store.next_deadline(), 1000);
  store.put(key(2), 1, to_bytes("b"), 600, 0);
  EXPECT_EQ(store.next_deadline(), 600);
  store.put(key(2), 1, to_bytes("b"), 1800, 100);  // refreshed
  EXPECT_EQ(store.next_deadline(), 1000);
  store.take_due_for_republish(1000);
  EXPECT_EQ(store.next_deadline(), 1100);
  store.put(key(2), 2, to_bytes("c"), 1050, 1000);
  EXPECT_EQ(store.next_deadline(), 1050);
  store.expire(1050);
  EXPECT_EQ(store.next_deadline(), 2000);
  store.expire(5000);
  EXPECT_EQ(store.next_deadline(), kNever);
}

// Random operations against a plain model: contents, bytes and next_deadline
// must agree after every step.
TEST(ValueStore, MatchesABruteForceModel) {
  struct Model {
    std::uint64_t seq;
    Bytes value;
    Millis expires_at;
    Millis republish_at;
  };
  SeededRandom rng(2024);
  const std::size_t max_bytes = 400;
  const std::size_t max_values = 30;
  ValueStore store(max_bytes, max_values, kRepublish);
  std::map<NodeId, Model> model;
  Millis now = 0;
  for (int step = 0; step < 3000; ++step) {
    now += static_cast<Millis>(rng.uniform(40));
    const NodeId k = key(static_cast<std::uint8_t>(rng.uniform(40)));
    switch (rng.uniform(6)) {
      case 0:
      case 1:
      case 2: {
        const std::uint64_t seq = rng.uniform(4);
        Bytes value(rng.uniform(30), static_cast<std::uint8_t>(rng.uniform(2)));
        const Millis expires_at = now + 1 + static_cast<Millis>(rng.uniform(3000));
        // The model's expected outcome. An expired version of the key counts as
        // absent; expired values of other keys are purged only when a quota
        // would otherwise refuse the put.
        auto it = model.find(k);
        if (it != model.end() && it->second.expires_at <= now) {
          model.erase(it);
          it = model.end();
        }
        auto total_bytes = [&] {
          std::size_t n = 0;
          for (const auto& entry : model) n += entry.second.value.size();
          return n;
        };
        auto purge = [&] {
          for (auto m = model.begin(); m != model.end();) m = m->second.expires_at <= now ? model.erase(m) : std::next(m);
        };
        const auto outcome = store.put(k, seq, value, expires_at, now);
        if (it != model.end()) {
          Model& m = it->second;
          auto fits = [&] { return total_bytes() - m.value.size() + value.size() <= max_bytes; };
          if (seq == m.seq && value == m.value) {
            ASSERT_EQ(outcome, StoreOutcome::refreshed);
            m.expires_at = std::max(m.expires_at, expires_at);
            m.republish_at = now + kRepublish;
          } else if (seq <= m.seq) {
            ASSERT_EQ(outcome, StoreOutcome::stale);
          } else {
            if (!fits()) purge();
            if (!fits()) {
              ASSERT_EQ(outcome, StoreOutcome::full);
            } else {
              ASSERT_EQ(outcome, StoreOutcome::replaced);
              m = Model{seq, value, expires_at, now + kRepublish};
            }
          }
        } else {
          auto fits = [&] { return model.size() < max_values && total_bytes() + value.size() <= max_bytes; };
          if (!fits()) purge();
          if (!fits()) {
            ASSERT_EQ(outcome, StoreOutcome::full);
          } else {
            ASSERT_EQ(outcome, StoreOutcome::stored);
            model[k] = Model{seq, value, expires_at, now + kRepublish};
          }
        }
        break;
      }
      case 3: {
        std::size_t expected = 0;
        for (auto m = model.begin(); m != model.end();) {
          if (m->second.expires_at <= now) {
            m = model.erase(m);
            ++expected;
          } else {
            ++m;
          }
        }
        ASSERT_EQ(store.expire(now), expected);
        break;
      }
      case 4: {
        std::size_t expected = 0;
        for (auto& [mk, mv] : model) {
          if (mv.republish_at <= now) {
            if (mv.expires_at > now) ++expected;
            mv.republish_at = now + kRepublish;
          }
        }
        ASSERT_EQ(store.take_due_for_republish(now).size(), expected);
        break;
      }
      default: {
        auto it = model.find(k);
        const StoredValue* v = store.get(k, now);
        if (it == model.end() || it->second.expires_at <= now) {
          ASSERT_EQ(v, nullptr);
        } else {
          ASSERT_NE(v, nullptr);
          ASSERT_EQ(v->seq, it->second.seq);
          ASSERT_EQ(v->value, it->second.value);
          ASSERT_EQ(v->expires_at, it->second.expires_at);
          ASSERT_EQ(v->republish_at, it->second.republish_at);
        }
      }
    }
    Millis deadline = kNever;
    std::size_t bytes = 0;
    for (const auto& [mk, mv] : model) {
      deadline = std::min({deadline, mv.expires_at, mv.republish_at});
      bytes += mv.value.size();
    }
    ASSERT_EQ(store.next_deadline(), deadline) << "step " << step;
    ASSERT_EQ(store.size(), model.size()) << "step " << step;
    ASSERT_EQ(store.bytes(), bytes) << "step " << step;
  }
}

}  // namespace
}  // namespace yz
