#include "parser.hpp"

#include <nbdkit/plugin.hpp>

#include "lexer.hpp"

namespace data {

namespace {

using Kind = Token::Kind;

class Parser {
 public:
  Parser(std::string_view text, const VariableLookup& variables, int depth)
      : lexer_(text), variables_(variables), depth_(depth) {}

  // A sequence of items up to the end of the text, or up to the ')' of an
  // enclosing group.
  NodePtr sequence(bool nested, std::size_t at) {
    auto group = std::make_unique<Node>(Node::Kind::group, at);
    while (true) {
      const Token& token = lexer_.peek();
      if (token.kind == Kind::end) {
        if (nested) syntax_error(at, "unmatched '('");
        return group;
      }
      if (token.kind == Kind::close) {
        if (!nested) syntax_error(token.position, "unmatched ')'");
        lexer_.next();
        return group;
      }
      add_item(*group, item());
    }
  }

 private:
  // Literal bytes next to each other become one node, so that long lists
  // of bytes cost one node and one write.
  static void add_item(Node& group, NodePtr item) {
    if (item->kind == Node::Kind::bytes && !group.children.empty() &&
        group.children.back()->kind == Node::Kind::bytes) {
      group.children.back()->text += item->text;
      return;
    }
    group.children.push_back(std::move(item));
  }

  NodePtr item() {
    NodePtr node = primary();
    int postfixes = 0;
    while (true) {
      const Token& token = lexer_.peek();
      if (token.kind != Kind::repeat && token.kind != Kind::slice && token.kind != Kind::assign) {
        return node;
      }
      if (is_move(*node)) syntax_error(token.position, "this operator cannot follow an @ offset");
      if (++postfixes > max_nesting) syntax_error(token.position, "too many operators in a row");
      Token op = lexer_.next();
      auto outer = std::make_unique<Node>(
          op.kind == Kind::repeat ? Node::Kind::repeat
          : op.kind == Kind::slice ? Node::Kind::slice
                                   : Node::Kind::assign,
          op.position);
      outer->number = op.number;
      outer->start = op.start;
      outer->end = op.end;
      outer->text = std::move(op.text);
      outer->children.push_back(std::move(node));
      node = std::move(outer);
    }
  }

  static bool is_move(const Node& node) {
    return node.kind == Node::Kind::move_to || node.kind == Node::Kind::move_up ||
           node.kind == Node::Kind::move_down || node.kind == Node::Kind::align;
  }

  NodePtr primary() {
    Token token = lexer_.next();
    auto node = [&](Node::Kind kind) {
      auto made = std::make_unique<Node>(kind, token.position);
      made->number = token.number;
      made->text = std::move(token.text);
      return made;
    };
    switch (token.kind) {
      case Kind::byte:
        if (token.number > 255) syntax_error(token.position, "a byte must be in the range 0..255");
        token.text = std::string(1, static_cast<char>(token.number));
        return node(Node::Kind::bytes);
      case Kind::word:
      case Kind::string: return node(Node::Kind::bytes);
      case Kind::move_to: return node(Node::Kind::move_to);
      case Kind::move_up: return node(Node::Kind::move_up);
      case Kind::move_down: return node(Node::Kind::move_down);
      case Kind::align:
        if (token.number == 0 || (token.number & (token.number - 1)) != 0) {
          syntax_error(token.position, "@^ALIGNMENT must be a power of 2");
        }
        return node(Node::Kind::align);
      case Kind::file: return node(Node::Kind::file);
      case Kind::script: return node(Node::Kind::script);
      case Kind::reference: return node(Node::Kind::reference);
      case Kind::open: {
        nest(token.position);
        NodePtr group = sequence(true, token.position);
        --depth_;
        return group;
      }
      case Kind::variable: return variable(token);
      case Kind::close: syntax_error(token.position, "unmatched ')'");
      case Kind::end: syntax_error(token.position, "unexpected end");
      default: break;
    }
    syntax_error(token.position, "an operator must follow an expression");
  }

  void nest(std::size_t at) {
    if (++depth_ > max_nesting) syntax_error(at, "expressions nested too deeply");
  }

  // $NAME is its value parsed as a group of its own.
  NodePtr variable(const Token& token) {
    const std::optional<std::string> value = variables_ ? variables_(token.text) : std::nullopt;
    if (!value) throw nbdkit::Error("data: $" + token.text + ": variable not found");
    nest(token.position);
    Parser inner(*value, variables_, depth_);
    try {
      NodePtr group = inner.sequence(false, token.position);
      group->position = token.position;
      --depth_;
      return group;
    } catch (const nbdkit::Error& e) {
      throw nbdkit::Error(std::string(e.what()) + " (in $" + token.text + ")");
    }
  }

  Lexer lexer_;
  const VariableLookup& variables_;
  int depth_;
};

}  // namespace

NodePtr parse(std::string_view text, const VariableLookup& variables) {
  Parser parser(text, variables, 0);
  return parser.sequence(false, 0);
}

}  // namespace data
