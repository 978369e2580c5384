#include "ring_driver.hpp"

#include <unistd.h>

#include <cerrno>

namespace blkio {

namespace {
constexpr int32_t kMaxEntries = 32768;  // the kernel's limit for a ring
}  // namespace

RingDriver::RingDriver(std::string name) : Driver(std::move(name)) {
  PropertyTable& t = table();
  t.add_variable("path", path_, always, in_created);
  t.add_variable("fd", fd_, always, in_created);
  t.add_variable<int32_t>("num-entries", num_entries_, after_connect, in_connected,
                          [](const int32_t& n) {
                            if (n <= 0) throw Error(EINVAL, "num-entries must be greater than 0");
                          });
}

RingDriver::~RingDriver() {
  if (owns_fd_) ::close(fd_);
}

void RingDriver::own(int fd) {
  fd_ = fd;
  owns_fd_ = true;
}

std::vector<std::unique_ptr<Queue>> RingDriver::do_start() {
  if (num_entries_ > kMaxEntries)
    throw Error(EINVAL, "num-entries must be at most " + std::to_string(kMaxEntries));
  std::vector<std::unique_ptr<Queue>> queues;
  for (int i = 0; i < num_queues_; i++) queues.push_back(make_queue(unsigned(num_entries_)));
  return queues;
}

}  // namespace blkio
