#include "allocator.hpp"

#include <cstring>

namespace memory {

bool is_all_zero(const void* data, uint64_t length) {
  // If the first block is zero and the buffer equals itself shifted by one
  // block, every block is zero; memcmp is vectorised, a byte loop is not.
  constexpr uint64_t block = 16;
  static constexpr char zeroes[block] = {};
  const char* bytes = static_cast<const char*>(data);
  if (length <= block) return std::memcmp(bytes, zeroes, length) == 0;
  return std::memcmp(bytes, zeroes, block) == 0 &&
         std::memcmp(bytes, bytes + block, length - block) == 0;
}

}  // namespace memory
