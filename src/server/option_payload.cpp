#include "option_payload.hpp"

#include <algorithm>
#include <atomic>

namespace nbdkit::server {

namespace {

// Payloads of at most this size keep their memory between options.
constexpr size_t kKeptCapacity = 4096;

std::atomic<size_t> charged{0};

bool charge(size_t n) {
  size_t used = charged.load();
  do {
    if (n > kNegotiationBudget - used) return false;
  } while (!charged.compare_exchange_weak(used, used + n));
  return true;
}

}  // namespace

unsigned char* OptionPayload::extend(size_t n) {
  const size_t old_size = data_.size();
  const size_t wanted = old_size + n;
  if (wanted > charged_) {
    // Grow geometrically, but charge before allocating.
    const size_t capacity = std::max(wanted, std::min(2 * charged_, wanted + (64u << 10)));
    if (!charge(capacity - charged_)) return nullptr;
    data_.reserve(capacity);
    charged_ = capacity;
  }
  data_.resize(wanted);
  return data_.data() + old_size;
}

void OptionPayload::clear() {
  data_.clear();
  if (charged_ > kKeptCapacity) release();
}

void OptionPayload::release() {
  std::vector<unsigned char>().swap(data_);
  charged.fetch_sub(charged_);
  charged_ = 0;
}

size_t OptionPayload::charged_total() { return charged.load(); }

}  // namespace nbdkit::server
