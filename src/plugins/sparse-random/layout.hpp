// Where the data of a sparse-random disk lies.
//
// The disk is made of 4 KiB blocks grouped into equal cells.  Each cell
// holds one run of the rarer kind of block (data when percent <= 50, holes
// otherwise) of random length and position, and the commoner kind around
// it.  The run's mean length is the rarer kind's mean run length and the
// cell's length makes the proportions come out at `percent`; data runs thus
// average `runlength` either way.  A cell's run is a hash of the seed and
// the cell number, so any part of the disk is found without walking from
// the start: a 1 TiB disk is laid out in no time and no memory.
#pragma once

#include <cstdint>

#include "random_bytes.hpp"

namespace sparse_random {

inline constexpr uint64_t block_bytes = 4096;

class Layout {
 public:
  Layout(const plugins_common::RandomBytes& random, double percent, uint64_t runlength);

  // Calls visit(offset, length, is_data) for consecutive pieces, each all
  // data or all hole, covering [offset, offset + count); stops early when
  // visit returns false.
  template <typename Visit>
  void walk(uint64_t offset, uint64_t count, Visit&& visit) const {
    const uint64_t end = offset + count;
    while (offset < end) {
      const Piece piece = piece_at(offset);
      const uint64_t length = (piece.end < end ? piece.end : end) - offset;
      if (!visit(offset, length, piece.data)) return;
      offset += length;
    }
  }

 private:
  struct Piece {
    uint64_t end;  // first byte past the piece
    bool data;
  };
  // The piece holding byte `offset` (it may have started before it).
  Piece piece_at(uint64_t offset) const;

  const plugins_common::RandomBytes& random_;
  bool uniform_ = false;         // the whole disk is of the commoner kind
  bool rare_is_data_ = true;
  uint64_t rare_mean_ = 1;       // in blocks
  uint64_t cell_blocks_ = 1;
};

}  // namespace sparse_random
