// A growable byte buffer that, unlike std::vector, does not zero what it
// grows into: replies and payloads are overwritten at once by recv() or a
// plugin's pread(), so zeroing would only cost time on the hot path.
#pragma once

#include <algorithm>
#include <cstddef>
#include <cstring>
#include <memory>

namespace nbdkit::server {

class ByteBuffer {
 public:
  unsigned char* data() { return data_.get(); }
  const unsigned char* data() const { return data_.get(); }
  size_t size() const { return size_; }
  bool empty() const { return size_ == 0; }

  // Appends `n` uninitialized bytes and returns their offset (pointers into
  // the buffer do not survive a later append).
  size_t append(size_t n) {
    reserve(size_ + n);
    const size_t offset = size_;
    size_ += n;
    return offset;
  }
  void truncate(size_t n) { size_ = std::min(size_, n); }
  void clear() { size_ = 0; }

  void reserve(size_t n) {
    if (n <= capacity_) return;
    const size_t capacity = std::max(n, capacity_ * 2);
    auto bigger = std::make_unique_for_overwrite<unsigned char[]>(capacity);
    if (size_ > 0) std::memcpy(bigger.get(), data_.get(), size_);
    data_ = std::move(bigger);
    capacity_ = capacity;
  }

  // Gives back memory after an unusually large request.
  void shrink_to(size_t limit) {
    if (capacity_ <= limit || size_ > limit) return;
    auto smaller = std::make_unique_for_overwrite<unsigned char[]>(limit);
    if (size_ > 0) std::memcpy(smaller.get(), data_.get(), size_);
    data_ = std::move(smaller);
    capacity_ = limit;
  }

 private:
  std::unique_ptr<unsigned char[]> data_;
  size_t size_ = 0;
  size_t capacity_ = 0;
};

}  // namespace nbdkit::server
