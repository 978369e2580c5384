// allocator=TYPE[,key[=value]]... as the memory and data plugins take it,
// and the Context that serves an Allocator to clients: both plugins serve
// a RAM disk the same way and differ only in how it is filled.
#pragma once

#include <cstdint>
#include <memory>
#include <string>
#include <string_view>

#include <nbdkit/plugin.hpp>

#include "allocator.hpp"

namespace memory {

struct AllocatorChoice {
  std::string type = "sparse";
  bool lock_in_ram = false;
};

// Throws nbdkit::Error for an unknown type or parameter.
AllocatorChoice parse_allocator(std::string_view text);

// Throws nbdkit::Error when the memory cannot be reserved or locked.
std::unique_ptr<Allocator> make_allocator(const AllocatorChoice& choice, uint64_t size);

// One client's view of a shared, writable disk held by `disk`; `name`
// prefixes the messages of failed data calls.
std::unique_ptr<nbdkit::Context> open_allocator_disk(Allocator& disk, uint64_t size,
                                                      const char* name);

}  // namespace memory
