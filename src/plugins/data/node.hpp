// The expression tree of the data format (nbdkit-data-plugin(1)), as the
// parser builds it and the evaluator walks it.
#pragma once

#include <cstdint>
#include <memory>
#include <optional>
#include <string>
#include <vector>

namespace data {

struct Node;
using NodePtr = std::unique_ptr<Node>;

struct Node {
  enum class Kind {
    bytes,      // `text` written at the offset: bytes, strings, le32: words
    move_to,    // @N
    move_up,    // @+N
    move_down,  // @-N
    align,      // @^N
    group,      // ( ... ) and $VAR: `children` in a scope of their own
    file,       // <FILE, `text` is the file name
    script,     // <(SCRIPT), `text` is the script
    reference,  // \NAME, `text` is the name
    repeat,     // child * number
    slice,      // child[start:end]
    assign,     // child -> \NAME: binds the child, writes nothing
  };

  Kind kind;
  std::string text;
  uint64_t number = 0;
  std::optional<uint64_t> start, end;  // of a slice
  std::vector<NodePtr> children;       // a group's items, or the one operand
  std::size_t position = 0;            // in the data string, for messages

  Node(Kind k, std::size_t at) : kind(k), position(at) {}
  const Node& operand() const { return *children.front(); }
};

// One line per node, indented by depth, for tests and `-D data.tree=1`.
std::string describe(const Node& node, int depth = 0);

}  // namespace data
