#include "evaluator.hpp"

#include <algorithm>
#include <map>
#include <memory>
#include <string>

#include <nbdkit/plugin.hpp>

#include "external.hpp"
#include "parser.hpp"

namespace data {

namespace {

[[noreturn]] void fail(const Node& node, const std::string& what) {
  throw nbdkit::Error("data: at offset " + std::to_string(node.position) + " of the data: " + what);
}

// A repeated value is written in pieces of about this size.
constexpr uint64_t repeat_piece_bytes = 1 << 20;

struct Scope;

// `expr -> \NAME`: the expression is evaluated when the name is first
// used, in the scope where it was named (nbdkit is lazy the same way: a
// name that is never used may refer to anything).
struct Binding {
  const Node* node;
  Scope* scope;
  std::shared_ptr<const Blob> value;
  bool busy = false;
};

struct Scope {
  Scope* parent;
  std::map<std::string, Binding, std::less<>> names;

  Binding* find(const std::string& name) {
    for (Scope* scope = this; scope; scope = scope->parent) {
      const auto it = scope->names.find(name);
      if (it != scope->names.end()) return &it->second;
    }
    return nullptr;
  }
};

// Sub-expressions write at an offset of the enclosing sink.
class ShiftedSink final : public Sink {
 public:
  ShiftedSink(Sink& below, uint64_t base) : below_(below), base_(base) {}
  void write(uint64_t offset, std::string_view bytes) override {
    below_.write(base_ + offset, bytes);
  }
  void zero(uint64_t offset, uint64_t length) override { below_.zero(base_ + offset, length); }
  uint64_t written_end() const override {
    const uint64_t end = below_.written_end();
    return end > base_ ? end - base_ : 0;
  }

 private:
  Sink& below_;
  uint64_t base_;
};

// Where one group is being written: its sink, the current offset and the
// furthest offset reached (the group's size).
struct Frame {
  Sink& sink;
  Scope& scope;
  uint64_t offset = 0;
  uint64_t size = 0;
};

class Evaluator {
 public:
  explicit Evaluator(const EvaluationLimits& limits) : limits_(limits) {}

  uint64_t group(const Node& node, Sink& sink, Scope& parent) {
    if (++depth_ > 4 * max_nesting) fail(node, "expressions nested too deeply");
    Scope scope{&parent, {}};
    Frame frame{sink, scope};
    for (const NodePtr& child : node.children) item(*child, frame);
    --depth_;
    return frame.size;
  }

 private:
  void item(const Node& node, Frame& frame) {
    switch (node.kind) {
      case Node::Kind::bytes: put(node, frame, node.text); return;
      case Node::Kind::move_to: move(node, frame, node.number); return;
      case Node::Kind::move_up:
        move(node, frame, node.number > max_offset - frame.offset ? max_offset + 1
                                                                  : frame.offset + node.number);
        return;
      case Node::Kind::move_down:
        if (node.number > frame.offset) {
          fail(node, "@-" + std::to_string(node.number) + " moves before the start (the offset is " +
                         std::to_string(frame.offset) + ")");
        }
        move(node, frame, frame.offset - node.number);
        return;
      case Node::Kind::align: {
        const uint64_t mask = node.number - 1;
        move(node, frame, frame.offset > max_offset - mask ? max_offset + 1
                                                           : (frame.offset + mask) & ~mask);
        return;
      }
      case Node::Kind::file:
      case Node::Kind::script: external(node, frame, max_offset); return;
      case Node::Kind::group: nested_group(node, frame); return;
      case Node::Kind::reference: stamp(node, frame, *named(node, frame.scope), 1); return;
      case Node::Kind::repeat: {
        const Blob value = evaluate_alone(node.operand(), frame.scope);
        stamp(node, frame, value, node.number);
        return;
      }
      case Node::Kind::slice: slice(node, frame); return;
      case Node::Kind::assign:
        frame.scope.names.insert_or_assign(node.text, Binding{&node.operand(), &frame.scope, nullptr, false});
        return;
    }
  }

  void move(const Node& node, Frame& frame, uint64_t offset) {
    if (offset > max_offset) fail(node, "the offset goes beyond 2^63-1");
    frame.offset = offset;
    frame.size = std::max(frame.size, offset);
  }

  void advance(const Node& node, Frame& frame, uint64_t length) {
    if (length > max_offset - frame.offset) fail(node, "the data goes beyond 2^63-1 bytes");
    move(node, frame, frame.offset + length);
  }

  void put(const Node& node, Frame& frame, std::string_view bytes) {
    if (bytes.size() > max_offset - frame.offset) fail(node, "the data goes beyond 2^63-1 bytes");
    charge(node, bytes.size() + 1);
    frame.sink.write(frame.offset, bytes);
    advance(node, frame, bytes.size());
  }

  void charge(const Node& node, uint64_t work) {
    work_ += work;
    if (work_ > limits_.max_work) fail(node, "the expression is too large to evaluate");
  }

  // <FILE or <(SCRIPT), at most `limit` bytes of it.
  void external(const Node& node, Frame& frame, uint64_t limit) {
    if (!limits_.external) fail(node, "<FILE and <(SCRIPT) are turned off");
    const ChunkSink sink = [&](std::string_view chunk) { put(node, frame, chunk); };
    if (node.kind == Node::Kind::file) {
      read_file(node.text, limit, sink);
    } else {
      run_script(node.text, limit, sink);
    }
  }

  // A group written straight into the sink when nothing is there yet to be
  // replaced by its holes; otherwise evaluated first and then copied.
  void nested_group(const Node& node, Frame& frame) {
    if (frame.offset >= frame.sink.written_end()) {
      ShiftedSink shifted(frame.sink, frame.offset);
      advance(node, frame, group(node, shifted, frame.scope));
    } else {
      stamp(node, frame, evaluate_alone(node, frame.scope), 1);
    }
  }

  // The value of one item on its own, in the given scope.
  Blob evaluate_alone(const Node& node, Scope& scope, uint64_t limit = max_offset) {
    Blob value;
    Frame frame{value, scope};
    if ((node.kind == Node::Kind::file || node.kind == Node::Kind::script)) {
      external(node, frame, limit);
    } else {
      if (++depth_ > 4 * max_nesting) fail(node, "expressions nested too deeply");
      item(node, frame);
      --depth_;
    }
    value.size = frame.size;
    return value;
  }

  std::shared_ptr<const Blob> named(const Node& node, Scope& scope) {
    Binding* binding = scope.find(node.text);
    if (!binding) fail(node, "\\" + node.text + " is not defined");
    if (!binding->value) {
      if (binding->busy) fail(node, "\\" + node.text + " refers to itself");
      binding->busy = true;
      binding->value = std::make_shared<const Blob>(evaluate_alone(*binding->node, *binding->scope));
      binding->busy = false;
    }
    return binding->value;
  }

  void slice(const Node& node, Frame& frame) {
    // Only `end` bytes of a file or script are needed: enough for
    // </dev/urandom[:512] or a script that never stops.
    const Blob value = evaluate_alone(node.operand(), frame.scope, node.end.value_or(max_offset));
    const uint64_t start = node.start.value_or(0);
    const uint64_t end = node.end.value_or(value.size);
    if (start > end || end > value.size) {
      fail(node, "[" + std::to_string(start) + ":" + std::to_string(end) +
                     "] is not a slice of an expression of " + std::to_string(value.size) +
                     " bytes");
    }
    if (value.dense()) {
      // No copy of the slice: it is written straight from the value.
      stamp_dense(node, frame, std::string_view(value.runs()[0].bytes).substr(start, end - start), 1);
    } else {
      stamp(node, frame, value.slice(start, end), 1);
    }
  }

  // Writes `value` `count` times at the offset, holes included (they
  // replace what was there).
  void stamp(const Node& node, Frame& frame, const Blob& value, uint64_t count) {
    if (value.size == 0 || count == 0) return;
    if (count > max_offset / value.size || value.size * count > max_offset - frame.offset) {
      fail(node, "the data goes beyond 2^63-1 bytes");
    }
    const uint64_t total = value.size * count;
    if (value.dense()) {
      stamp_dense(node, frame, value.runs()[0].bytes, count);
      return;
    }
    frame.sink.zero(frame.offset, total);
    for (uint64_t i = 0; i < count; ++i) {
      charge(node, 1);
      for (const Blob::Run& run : value.runs()) {
        charge(node, run.bytes.size());
        frame.sink.write(frame.offset + i * value.size + run.offset, run.bytes);
      }
    }
    advance(node, frame, total);
  }

  // Copies of a value with no holes, joined into pieces of about 1 MiB so
  // that a small value repeated a million times is a few large writes.
  void stamp_dense(const Node& node, Frame& frame, std::string_view bytes, uint64_t count) {
    if (bytes.empty()) return;
    const uint64_t per_piece = std::clamp<uint64_t>(repeat_piece_bytes / bytes.size(), 1, count);
    if (per_piece == 1) {
      for (uint64_t i = 0; i < count; ++i) put(node, frame, bytes);
      return;
    }
    // Doubling: a one-byte value makes its piece in 20 copies, not 2^20.
    const uint64_t piece_bytes = bytes.size() * per_piece;
    std::string piece;
    piece.reserve(piece_bytes);
    piece.assign(bytes);
    while (piece.size() < piece_bytes) {
      piece.append(piece, 0, std::min<uint64_t>(piece.size(), piece_bytes - piece.size()));
    }
    for (uint64_t done = 0; done < count; done += per_piece) {
      const uint64_t copies = std::min(per_piece, count - done);
      put(node, frame, std::string_view(piece).substr(0, copies * bytes.size()));
    }
  }

  const EvaluationLimits& limits_;
  uint64_t work_ = 0;
  int depth_ = 0;
};

}  // namespace

uint64_t evaluate(const Node& root, Sink& sink, const EvaluationLimits& limits) {
  Evaluator evaluator(limits);
  Scope top{nullptr, {}};
  return evaluator.group(root, sink, top);
}

}  // namespace data
