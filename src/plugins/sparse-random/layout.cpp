#include "layout.hpp"

#include <algorithm>
#include <cmath>

namespace sparse_random {
namespace {

// Far beyond any disk (2^63 bytes is 2^51 blocks), small enough that cell
// arithmetic in bytes never overflows.
constexpr double max_blocks = 0x1p48;

uint64_t blocks(double n) { return static_cast<uint64_t>(std::clamp(std::round(n), 0.0, max_blocks)); }

// Hash streams: one per kind of decision.
constexpr uint64_t run_length_stream = 1;
constexpr uint64_t run_start_stream = 2;

}  // namespace

Layout::Layout(const plugins_common::RandomBytes& random, double percent, uint64_t runlength)
    : random_(random) {
  const double data_mean = std::max(1.0, std::round(double(runlength) / block_bytes));
  if (percent <= 0.0 || percent >= 100.0) {
    uniform_ = true;
    rare_is_data_ = percent <= 0.0;  // the "rare" kind is then absent
    return;
  }
  rare_is_data_ = percent <= 50.0;
  rare_mean_ = rare_is_data_ ? blocks(data_mean) : blocks(data_mean * (100.0 - percent) / percent);
  if (rare_mean_ == 0) {  // holes rarer than one block: all data
    uniform_ = true;
    rare_is_data_ = false;
    return;
  }
  const double cell = rare_is_data_ ? data_mean * 100.0 / percent : data_mean + double(rare_mean_);
  cell_blocks_ = std::max(blocks(cell), 2 * rare_mean_ - 1);
}

Layout::Piece Layout::piece_at(uint64_t offset) const {
  if (uniform_) return {UINT64_MAX, !rare_is_data_};
  const uint64_t cell = offset / block_bytes / cell_blocks_;
  // Run length uniform in [1, 2*mean - 1]: mean `rare_mean_`, never longer
  // than the cell.
  const uint64_t length = 1 + random_.hash(run_length_stream, cell) % (2 * rare_mean_ - 1);
  const uint64_t start = random_.hash(run_start_stream, cell) % (cell_blocks_ - length + 1);
  const uint64_t cell_begin = cell * cell_blocks_ * block_bytes;
  const uint64_t run_begin = cell_begin + start * block_bytes;
  const uint64_t run_end = run_begin + length * block_bytes;
  if (offset < run_begin) return {run_begin, !rare_is_data_};
  if (offset < run_end) return {run_end, rare_is_data_};
  return {cell_begin + cell_blocks_ * block_bytes, !rare_is_data_};
}

}  // namespace sparse_random
