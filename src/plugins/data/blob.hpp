// Where the evaluator writes: a Sink.  A Blob is a Sink held in memory as
// sorted runs of bytes with holes between them, for the value of a
// sub-expression that is copied (repeated, sliced, named) before it lands
// on the disk.
#pragma once

#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

namespace data {

class Sink {
 public:
  virtual ~Sink() = default;
  // Replaces [offset, offset+bytes.size()) with `bytes`.
  virtual void write(uint64_t offset, std::string_view bytes) = 0;
  // Makes [offset, offset+length) read as zeroes again.
  virtual void zero(uint64_t offset, uint64_t length) = 0;
  // Nothing at or beyond this offset has been written.
  virtual uint64_t written_end() const = 0;
};

class Blob final : public Sink {
 public:
  struct Run {
    uint64_t offset;
    std::string bytes;
    uint64_t end() const { return offset + bytes.size(); }
  };

  void write(uint64_t offset, std::string_view bytes) override;
  void zero(uint64_t offset, uint64_t length) override;
  uint64_t written_end() const override { return runs_.empty() ? 0 : runs_.back().end(); }

  // The value's length, holes included (the furthest offset reached).
  uint64_t size = 0;
  const std::vector<Run>& runs() const { return runs_; }
  // One run covering all of [0, size): repeats are then one long copy.
  bool dense() const { return runs_.size() == 1 && runs_[0].offset == 0 && runs_[0].bytes.size() == size; }
  // Bytes [start, end) as a blob of its own.
  Blob slice(uint64_t start, uint64_t end) const;
  // The whole value, holes as zeroes; for tests.
  std::string flatten() const;

 private:
  std::vector<Run> runs_;
};

}  // namespace data
