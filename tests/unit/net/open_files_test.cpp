// raise_open_file_limit: the soft limit ends at the hard one (what yz-node and
// yz-bootstrap do at start), and a second call finds nothing left to raise.
#include "net/open_files.hpp"

#include <gtest/gtest.h>
#include <sys/resource.h>

namespace yz::net {
namespace {

TEST(OpenFiles, SoftLimitIsRaisedToTheHardOne) {
  rlimit before{};
  ASSERT_EQ(getrlimit(RLIMIT_NOFILE, &before), 0);
  if (before.rlim_cur > 64) {  // start below the hard limit, so there is something to raise
    rlimit lowered{64, before.rlim_max};
    ASSERT_EQ(setrlimit(RLIMIT_NOFILE, &lowered), 0);
  }
  OpenFileLimit got = raise_open_file_limit();
  ASSERT_TRUE(got.error.empty()) << got.error;
  rlimit after{};
  ASSERT_EQ(getrlimit(RLIMIT_NOFILE, &after), 0);
  EXPECT_EQ(got.soft, got.hard);
  if (before.rlim_max != RLIM_INFINITY) {
    EXPECT_EQ(got.hard, before.rlim_max);
    EXPECT_EQ(after.rlim_cur, before.rlim_max);
  }
  OpenFileLimit again = raise_open_file_limit();
  EXPECT_TRUE(again.error.empty()) << again.error;
  EXPECT_EQ(again.soft, got.soft);
  ASSERT_EQ(setrlimit(RLIMIT_NOFILE, &before), 0);  // leave the test process as it was
}

}  // namespace
}  // namespace yz::net
