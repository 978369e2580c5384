// A one-shot event: a request's thread waits on it, and the thread of the
// library that completes the request (libnbd's dispatcher, librbd's
// callback threads) sets it.  std::binary_semaphore would do, but
// libstdc++'s spins and calls sched_yield before it sleeps, which on a
// small machine takes the core the completing thread needs: this sleeps
// on a futex at once.
#pragma once

#include <linux/futex.h>
#include <sys/syscall.h>
#include <unistd.h>

#include <atomic>

namespace plugins_common {

class CompletionEvent {
 public:
  void set() {
    if (state_.exchange(kSet, std::memory_order_acq_rel) == kWaiting) futex(FUTEX_WAKE_PRIVATE, 1);
  }

  void wait() {
    int state = kUnset;
    if (state_.compare_exchange_strong(state, kWaiting, std::memory_order_acq_rel))
      state = kWaiting;
    while (state != kSet) {
      futex(FUTEX_WAIT_PRIVATE, kWaiting);  // returns at once unless still kWaiting
      state = state_.load(std::memory_order_acquire);
    }
  }

 private:
  static constexpr int kUnset = 0, kWaiting = 1, kSet = 2;
  void futex(int op, int value) {
    ::syscall(SYS_futex, reinterpret_cast<int*>(&state_), op, value, nullptr, nullptr, 0);
  }
  std::atomic<int> state_{kUnset};
  static_assert(sizeof(std::atomic<int>) == sizeof(int));
};

}  // namespace plugins_common
