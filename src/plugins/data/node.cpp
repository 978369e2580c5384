#include "node.hpp"

#include <cstdio>

namespace data {

namespace {

const char* kind_name(Node::Kind kind) {
  switch (kind) {
    case Node::Kind::bytes: return "bytes";
    case Node::Kind::move_to: return "@";
    case Node::Kind::move_up: return "@+";
    case Node::Kind::move_down: return "@-";
    case Node::Kind::align: return "@^";
    case Node::Kind::group: return "group";
    case Node::Kind::file: return "file";
    case Node::Kind::script: return "script";
    case Node::Kind::reference: return "ref";
    case Node::Kind::repeat: return "repeat";
    case Node::Kind::slice: return "slice";
    case Node::Kind::assign: return "assign";
  }
  return "?";
}

std::string hex(const std::string& bytes) {
  std::string out;
  char buffer[4];
  for (const char c : bytes) {
    std::snprintf(buffer, sizeof buffer, "%02x", static_cast<unsigned char>(c));
    if (!out.empty()) out += ' ';
    out += buffer;
  }
  return out;
}

}  // namespace

std::string describe(const Node& node, int depth) {
  std::string line(static_cast<std::size_t>(depth) * 2, ' ');
  line += kind_name(node.kind);
  switch (node.kind) {
    case Node::Kind::bytes: line += " " + hex(node.text); break;
    case Node::Kind::move_to:
    case Node::Kind::move_up:
    case Node::Kind::move_down:
    case Node::Kind::align:
    case Node::Kind::repeat: line += " " + std::to_string(node.number); break;
    case Node::Kind::slice:
      line += " " + (node.start ? std::to_string(*node.start) : std::string()) + ":" +
              (node.end ? std::to_string(*node.end) : std::string());
      break;
    case Node::Kind::group: break;
    default: line += " " + node.text; break;
  }
  line += '\n';
  for (const NodePtr& child : node.children) line += describe(*child, depth + 1);
  return line;
}

}  // namespace data
