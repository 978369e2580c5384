// Parsing of a `key=word` parameter whose value is one of a fixed set of
// words (zeromode=, fuamode=, cachemode=...), as nbdkit's filters do:
// an unknown word is a configuration error naming the key.
#pragma once

#include <initializer_list>
#include <string>
#include <string_view>
#include <utility>

#include <nbdkit/plugin.hpp>

namespace nbdkit::filters {

template <typename Enum>
using Choices = std::initializer_list<std::pair<std::string_view, Enum>>;

// The value of the word `value` names, or nbdkit::Error("unknown LABEL
// 'VALUE'") where LABEL defaults to the key.
template <typename Enum>
Enum parse_choice(std::string_view key, std::string_view value, Choices<Enum> choices,
                  std::string_view label = {}) {
  for (const auto& [word, result] : choices)
    if (word == value) return result;
  throw Error("unknown " + std::string(label.empty() ? key : label) + " '" + std::string(value) +
              "'");
}

}  // namespace nbdkit::filters
