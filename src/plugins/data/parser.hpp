// Parses a data string into an expression tree.
#pragma once

#include <functional>
#include <optional>
#include <string>
#include <string_view>

#include "node.hpp"

namespace data {

// The value of $NAME (a key=value parameter or an environment variable),
// or nothing when it is not set.
using VariableLookup = std::function<std::optional<std::string>(const std::string& name)>;

// The whole string as one group.  Throws nbdkit::Error naming the offset
// of the first error (and the variable, for an error inside $NAME).
NodePtr parse(std::string_view text, const VariableLookup& variables);

// Groups, variables and postfix operators nest at most this deep, so that
// the parser, the evaluator and their recursion stay within the stack.
inline constexpr int max_nesting = 200;

}  // namespace data
