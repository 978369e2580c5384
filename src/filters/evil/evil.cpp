// nbdkit --filter=evil: corrupts the data read from the layer below
// (nbdkit-evil-filter(1)), to test checksums.  Writes pass unchanged.
//
// evil=cosmic-rays flips each bit read with probability P.  evil=stuck-bits
// (the default) sticks each bit of the disk high or low with probability
// P, the same bits on every read; evil=stuck-wires sticks bit positions of
// the request buffer instead, wherever the read comes from.  A stuck bit
// shows its stuck value with probability evil-stuck-probability.  Regions
// the layer below reports as holes are left alone.
//
// The stuck bits are never stored: the disk (or buffer) is cut into blocks
// of about 100 / P bits, and each block's stuck bits are generated again
// on every read from a generator seeded with the seed and the block number,
// skipping from one chosen bit to the next with geometric gaps, so a read
// costs about 100 draws per block it touches whatever P is.
#include <algorithm>
#include <atomic>
#include <bit>
#include <cinttypes>
#include <cmath>
#include <mutex>
#include <optional>
#include <vector>

#include "../../plugins/common/random_bytes.hpp"
#include "../common/choice.hpp"

namespace {

using plugins_common::mix64;

enum class Mode { cosmic_rays, stuck_bits, stuck_wires };

// As nbdkit: below this nothing is corrupted, above the top every bit is.
constexpr double lowest_probability = 1e-12;
constexpr double highest_probability = 1.0 / 8;

// A reproducible stream of random numbers (splitmix64's sequence).
class Dice {
 public:
  explicit Dice(uint64_t seed) : state_(seed) {}
  uint64_t next() {
    state_ += 0x9e3779b97f4a7c15;
    return mix64(state_);
  }
  // Uniform in (0, 1].
  double fraction() { return static_cast<double>((next() >> 11) + 1) * 0x1p-53; }
  // How many bits to pass over before the next chosen one, each bit being
  // chosen with probability p (geometric distribution).
  uint64_t gap(double p) {
    if (p >= 1) return 0;
    return static_cast<uint64_t>(std::floor(std::log(fraction()) / std::log1p(-p)));
  }

 private:
  uint64_t state_;
};

void flip_bit(uint8_t* buf, uint64_t bit) { buf[bit / 8] ^= uint8_t(1u << (bit % 8)); }
void set_bit(uint8_t* buf, uint64_t bit, bool high) {
  const uint8_t mask = uint8_t(1u << (bit % 8));
  buf[bit / 8] = high ? buf[bit / 8] | mask : buf[bit / 8] & ~mask;
}

struct Settings {
  Mode mode = Mode::stuck_bits;
  std::optional<double> probability;  // default: depends on the mode
  double stuck_probability = 1;
  std::optional<uint64_t> seed;       // default: a random one
};

// What the connections share once configuration is over.
struct Evil {
  Mode mode;
  double probability;  // 0, or in [lowest, 1]
  double stuck_probability;
  uint64_t seed;
  uint64_t block_bits;  // stuck modes: bits per generated block
  std::mutex cosmic_lock;
  Dice cosmic_dice{0};  // cosmic-rays: one stream for every read
  std::atomic<uint64_t> reads{0};
};

// Bits [first, end) of `buf`; `origin` is where bit 0 of buf sits in the
// map of stuck bits (its disk position for stuck-bits, 0 for stuck-wires).
struct BitRange {
  uint8_t* buf;
  uint64_t first, end, origin;
};

void cosmic_rays(Evil& evil, const BitRange& range) {
  std::lock_guard lock(evil.cosmic_lock);
  for (uint64_t bit = range.first + evil.cosmic_dice.gap(evil.probability); bit < range.end;
       bit += 1 + evil.cosmic_dice.gap(evil.probability))
    flip_bit(range.buf, bit);
}

// Applies the stuck bits of one block of the map to the part of `range`
// it covers; `showing` decides whether a stuck bit shows this time.
void stuck_block(const Evil& evil, const BitRange& range, uint64_t block, Dice& showing) {
  const uint64_t stream = evil.mode == Mode::stuck_wires ? 0x5717c4 : 0x5717b1;
  Dice dice(mix64(evil.seed ^ mix64(block * 0x9e3779b97f4a7c15 + stream)));
  const uint64_t block_start = block * evil.block_bits, block_end = block_start + evil.block_bits;
  const uint64_t from = range.origin + range.first, to = range.origin + range.end;
  for (uint64_t bit = block_start + dice.gap(evil.probability); bit < block_end && bit < to;
       bit += 1 + dice.gap(evil.probability)) {
    const bool high = dice.next() & 1;
    if (bit < from) continue;
    if (evil.stuck_probability < 1 && showing.fraction() > evil.stuck_probability) continue;
    set_bit(range.buf, bit - range.origin, high);
  }
}

void stuck_bits(Evil& evil, const BitRange& range) {
  Dice showing(mix64(evil.seed ^ evil.reads.fetch_add(1, std::memory_order_relaxed)));
  const uint64_t first_block = (range.origin + range.first) / evil.block_bits;
  const uint64_t last_block = (range.origin + range.end - 1) / evil.block_bits;
  for (uint64_t block = first_block; block <= last_block; ++block)
    stuck_block(evil, range, block, showing);
}

void corrupt(Evil& evil, const BitRange& range) {
  if (evil.probability == 0 || range.first >= range.end) return;
  if (evil.mode == Mode::cosmic_rays)
    cosmic_rays(evil, range);
  else
    stuck_bits(evil, range);
}

class EvilContext final : public nbdkit::FilterContext {
 public:
  EvilContext(std::unique_ptr<nbdkit::Context> next, Evil& evil)
      : FilterContext(std::move(next)), evil_(evil) {}

  int pread(void* buf, uint32_t count, uint64_t offset, uint32_t flags) override {
    if (const int err = next().pread(buf, count, offset, flags)) return err;
    const uint64_t origin = evil_.mode == Mode::stuck_wires ? 0 : offset * 8;
    auto* bytes = static_cast<uint8_t*>(buf);
    for (const auto& [from, to] : data_ranges(count, offset))
      corrupt(evil_, {bytes, (from - offset) * 8, (to - offset) * 8, origin});
    return 0;
  }

 private:
  // The parts of [offset, offset+count) that hold data: holes stay intact.
  std::vector<std::pair<uint64_t, uint64_t>> data_ranges(uint32_t count, uint64_t offset) {
    const uint64_t end = offset + count;
    nbdkit::ExtentList list(offset, end);
    if (evil_.probability == 0 || !next().can_extents() ||
        next().extents(count, offset, 0, list) != 0)
      return {{offset, end}};
    std::vector<std::pair<uint64_t, uint64_t>> ranges;
    for (const nbdkit::Extent& e : list.extents()) {
      if (e.type & nbdkit::extent::hole) continue;
      const uint64_t from = std::max(e.offset, offset), to = std::min(e.offset + e.length, end);
      if (from < to) ranges.emplace_back(from, to);
    }
    // What the layer below did not describe counts as data.
    if (!list.complete()) ranges.emplace_back(std::max(list.next_offset(), offset), end);
    return ranges;
  }

  Evil& evil_;
};

double parse_evil_probability(std::string_view key, std::string_view value) {
  const double p = nbdkit::parse_probability(key, value);
  if (p > 1) throw nbdkit::Error(std::string(key) + " must be between 0 and 1");
  return p;
}

class EvilFilter final : public nbdkit::Filter {
 public:
  std::string config_help() const override {
    return "evil=cosmic-rays|stuck-bits|stuck-wires  How to corrupt reads (default: stuck-bits).\n"
           "evil-probability=PROB           Probability of a flipped or stuck bit.\n"
           "evil-stuck-probability=PROB     Probability that a stuck bit shows (default 1).\n"
           "evil-seed=SEED                  Seed of the generator (default: random).";
  }
  bool config(std::string_view key, std::string_view value) override {
    if (key == "evil")
      settings_.mode = nbdkit::filters::parse_choice<Mode>(key, value,
                                                           {{"cosmic-rays", Mode::cosmic_rays},
                                                            {"stuck-bits", Mode::stuck_bits},
                                                            {"stuck-wires", Mode::stuck_wires}});
    else if (key == "evil-probability")
      settings_.probability = parse_evil_probability(key, value);
    else if (key == "evil-stuck-probability")
      settings_.stuck_probability = parse_evil_probability(key, value);
    else if (key == "evil-seed")
      settings_.seed = nbdkit::parse_uint64(key, value);
    else
      return false;
    return true;
  }
  void config_complete() override;
  bool data_calls_are_nonblocking() const override { return true; }

  std::unique_ptr<nbdkit::Context> open(const nbdkit::OpenNext& next, bool readonly,
                                        std::string_view exportname, bool) override {
    return std::make_unique<EvilContext>(next(readonly, exportname), *evil_);
  }

 private:
  Settings settings_;
  std::unique_ptr<Evil> evil_;
};

void EvilFilter::config_complete() {
  evil_ = std::make_unique<Evil>();
  Evil& evil = *evil_;
  evil.mode = settings_.mode;
  double p = settings_.probability.value_or(settings_.mode == Mode::stuck_wires ? 1e-6 : 1e-8);
  if (p < lowest_probability) p = 0;
  if (p > highest_probability) p = 1;
  evil.probability = p;
  evil.stuck_probability = settings_.stuck_probability;
  evil.seed = settings_.seed.value_or(plugins_common::random_seed());
  evil.cosmic_dice = Dice(mix64(evil.seed));
  // About 100 stuck bits per block; at least 1 KiB so that small blocks
  // do not multiply generator seedings.
  const double wanted = p > 0 ? 100 / p : 1;
  evil.block_bits = std::bit_ceil(std::clamp<uint64_t>(static_cast<uint64_t>(wanted), 8192,
                                                       uint64_t(1) << 50));
  nbdkit::debug("evil: probability %g, stuck probability %g, seed %" PRIu64
                ", %" PRIu64 " bits per block",
                evil.probability, evil.stuck_probability, evil.seed, evil.block_bits);
}

}  // namespace

NBDKIT_REGISTER_FILTER("evil", EvilFilter);
