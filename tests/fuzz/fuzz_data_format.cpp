// The data plugin's format: any text must parse and evaluate, or throw
// nbdkit::Error; nothing else, no crash, no runaway memory or time.
// Files and scripts are turned off (the fuzzer must not run what it
// writes), and the evaluation's work is bounded.
#include <cstdint>
#include <cstdlib>
#include <optional>
#include <string>
#include <string_view>

#include <nbdkit/plugin.hpp>

#include "blob.hpp"
#include "evaluator.hpp"
#include "parser.hpp"

namespace {

std::optional<std::string> variables(const std::string& name) {
  if (name == "a") return "1 2 (3)*2";
  if (name == "b") return "$a $a";
  if (name == "self") return "$self";
  return std::nullopt;
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  const std::string_view text(reinterpret_cast<const char*>(data), size);
  try {
    const data::NodePtr tree = data::parse(text, variables);
    (void)data::describe(*tree);
    data::Blob blob;
    data::EvaluationLimits limits;
    limits.max_work = 1 << 22;
    limits.external = false;
    blob.size = data::evaluate(*tree, blob, limits);
    // Written runs stay inside the value and in order.
    uint64_t previous_end = 0;
    for (const data::Blob::Run& run : blob.runs()) {
      if (run.offset < previous_end || run.end() > blob.size || run.bytes.empty()) std::abort();
      previous_end = run.end();
    }
  } catch (const nbdkit::Error&) {
  }
  return 0;
}
