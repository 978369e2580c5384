// What the io_uring and nvme-io_uring drivers share: libblkio's `path`,
// `fd` and `num-entries` properties, the descriptor they own once
// connected, and one ring queue per queue when started.
#pragma once

#include <memory>
#include <string>
#include <vector>

#include "../driver.hpp"

namespace blkio {

class RingDriver : public Driver {
 public:
  ~RingDriver() override;

 protected:
  explicit RingDriver(std::string name);

  std::vector<std::unique_ptr<Queue>> do_start() final;
  // One queue whose ring has `entries` entries (read_only_ is final by
  // now).  Throws Error.
  virtual std::unique_ptr<Queue> make_queue(unsigned entries) = 0;
  // Called at the end of a successful connect: the descriptor is ours
  // from then on, even one given by `fd`.
  void own(int fd);

  std::string path_;
  int32_t fd_ = -1;
  int32_t num_entries_ = 128;

 private:
  bool owns_fd_ = false;
};

}  // namespace blkio
