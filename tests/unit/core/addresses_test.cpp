// Contact addresses (core/addresses.hpp): copies share one immutable list.
#include "core/addresses.hpp"

#include <gtest/gtest.h>

#include <algorithm>

#include "core/messages.hpp"

namespace yz {
namespace {

TEST(Addresses, CopiesShareTheListAndAssignmentReplacesItForOneCopyOnly) {
  Contact a{NodeId{}, Role::dht, {"ws://127.0.0.1:9001/", "wss://example.org/n"}};
  Contact b = a;
  ASSERT_EQ(b.addresses.size(), 2u);
  EXPECT_EQ(a.addresses[1].data(), b.addresses[1].data());  // shared, not copied
  EXPECT_EQ(b.addresses[1], "wss://example.org/n");
  EXPECT_EQ(b.addresses.front(), "ws://127.0.0.1:9001/");

  b.addresses = {"ws://moved:9/"};
  EXPECT_EQ(b.addresses.list(), std::vector<std::string>{"ws://moved:9/"});
  EXPECT_EQ(a.addresses.list(), (std::vector<std::string>{"ws://127.0.0.1:9001/", "wss://example.org/n"}));
  EXPECT_FALSE(a == b);
}

TEST(Addresses, EqualityIsByValueAndAnEmptyListIsNone) {
  Addresses built_once = std::vector<std::string>{"ws://a:1/"};
  Addresses built_twice{"ws://a:1/"};
  EXPECT_TRUE(built_once == built_twice);
  EXPECT_TRUE(built_once == std::vector<std::string>{"ws://a:1/"});

  Addresses none;
  Addresses emptied = std::vector<std::string>{};
  EXPECT_TRUE(none.empty());
  EXPECT_EQ(none.size(), 0u);
  EXPECT_TRUE(none == emptied);
  EXPECT_TRUE(none == std::vector<std::string>{});
  EXPECT_FALSE(none == built_once);
  std::size_t visited = 0;
  for ([[maybe_unused]] auto address : none) ++visited;
  EXPECT_EQ(visited, 0u);
  EXPECT_NE(std::find(built_twice.begin(), built_twice.end(), "ws://a:1/"), built_twice.end());
  std::vector<std::string> seen;
  for (auto address : built_twice) seen.emplace_back(address);
  EXPECT_EQ(seen, built_twice.list());
  Addresses with_empty_url{"", "ws://b:2/"};  // the codec refuses empty URLs; the list keeps them apart
  EXPECT_EQ(with_empty_url.size(), 2u);
  EXPECT_EQ(with_empty_url[0], "");
  EXPECT_EQ(with_empty_url[1], "ws://b:2/");
}

}  // namespace
}  // namespace yz
