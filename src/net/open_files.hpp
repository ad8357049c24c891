// The process's open-file limit (RLIMIT_NOFILE): every link, listener and HTTP
// session is a file descriptor, so a node that runs out refuses connections
// (accept fails with "too many open files") and its peers' dials hang until
// they time out. Programs raise the soft limit to the hard one at start.
#pragma once
#include <cstdint>
#include <string>

namespace yz::net {

struct OpenFileLimit {
  std::uint64_t soft = 0;  // what the process may open now (after raising)
  std::uint64_t hard = 0;  // the ceiling only an administrator can lift
  std::string error;       // plain words when the limit could not be read or raised
};

// Raises the soft limit to the hard limit (unlimited counts as 1,048,576) and
// reports both.
OpenFileLimit raise_open_file_limit();

}  // namespace yz::net
