// Raising RLIMIT_NOFILE (see open_files.hpp).
#include "net/open_files.hpp"

#include <sys/resource.h>

#include <cerrno>
#include <cstring>

namespace yz::net {

OpenFileLimit raise_open_file_limit() {
  constexpr rlim_t kUnlimitedAs = 1 << 20;
  OpenFileLimit out;
  rlimit limit{};
  if (getrlimit(RLIMIT_NOFILE, &limit) != 0) {
    out.error = std::string("cannot read the open-file limit: ") + std::strerror(errno);
    return out;
  }
  rlim_t hard = limit.rlim_max == RLIM_INFINITY ? kUnlimitedAs : limit.rlim_max;
  rlim_t soft = limit.rlim_cur == RLIM_INFINITY ? kUnlimitedAs : limit.rlim_cur;
  if (soft < hard) {
    rlimit raised{hard, limit.rlim_max};
    if (setrlimit(RLIMIT_NOFILE, &raised) == 0) {
      soft = hard;
    } else {
      out.error = "cannot raise the open-file limit from " + std::to_string(soft) + " to " + std::to_string(hard) +
                  ": " + std::strerror(errno);
    }
  }
  out.soft = soft;
  out.hard = hard;
  return out;
}

}  // namespace yz::net
