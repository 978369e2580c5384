// Evaluates an expression tree into a Sink.
#pragma once

#include <cstdint>
#include <limits>

#include "blob.hpp"
#include "node.hpp"

namespace data {

// The largest offset or size nbdkit can serve.
inline constexpr uint64_t max_offset = std::numeric_limits<int64_t>::max();

struct EvaluationLimits {
  // Bytes written plus pieces copied, summed over the evaluation; the
  // fuzzer bounds it, the plugin does not.
  uint64_t max_work = std::numeric_limits<uint64_t>::max();
  // <FILE and <(SCRIPT) allowed; the fuzzer must not run what it makes up.
  bool external = true;
};

// Writes the value of `root` (a group, as parse() returns it) at offset 0
// of `sink` and returns its size: the furthest offset reached.  Throws
// nbdkit::Error for a bad slice, an undefined name, an unreadable file, a
// failed script, or an offset beyond 2^63-1.
uint64_t evaluate(const Node& root, Sink& sink, const EvaluationLimits& limits = {});

}  // namespace data
