// The guest tier's self-check program (tests/guest/run-guest.sh):
//
//   guest-check check SOCKET SLOT          read/write/flush/zero/trim through
//                                          an NBD server, data verified
//   guest-check bench SOCKET SECONDS DEPTH 4k random reads at a queue depth
//   guest-check verify-image IMAGE SLOT    on the host, after the guest ran:
//                                          the bytes `check` left in the image
//
// `check` prints one "PASS name" / "FAIL name: why" line per step.  Each
// SLOT is its own 16 MiB area of the device (plus a 64 KiB area at its
// end), so checks of two drivers on one image do not overwrite each other
// and the host can verify both.
#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <exception>
#include <string>
#include <vector>

#include "guest_nbd_client.hpp"
#include "nbd.hpp"

namespace {

constexpr uint64_t KiB = 1024;
constexpr uint64_t MiB = 1024 * KiB;
constexpr uint64_t kSlotSize = 16 * MiB;
constexpr uint64_t kTailSize = 64 * KiB;

// The byte expected at absolute offset `offset` of a slot's pattern: a
// hash of the 8-byte word index and the slot, so data written to the
// wrong place, or stale from another slot, does not match.
unsigned char pattern_byte(uint64_t offset, unsigned slot) {
  uint64_t x = (offset >> 3) + 0x9e3779b97f4a7c15ull * (slot + 1);
  x = (x ^ (x >> 30)) * 0xbf58476d1ce4e5b9ull;
  x = (x ^ (x >> 27)) * 0x94d049bb133111ebull;
  x ^= x >> 31;
  return static_cast<unsigned char>(x >> (8 * (offset & 7)));
}

std::vector<unsigned char> pattern(uint64_t offset, uint64_t length, unsigned slot) {
  std::vector<unsigned char> out(length);
  for (uint64_t i = 0; i < length; ++i) out[i] = pattern_byte(offset + i, slot);
  return out;
}

// What a slot holds after `check`: ranges of pattern or of zeroes.  The
// trimmed range is absent: its contents are up to the device.
struct Expected {
  const char* name;
  uint64_t offset;
  uint64_t length;
  bool zero;
};

// Offsets inside the slot.  The large ranges are several times QEMU's
// NVMe transfer limit (MDTS 7 = 512 KiB) and do not start on a multiple
// of it, so a driver must split them.
constexpr uint64_t kFuaAt = 0, kFuaLen = 64 * KiB;
constexpr uint64_t kLargeAt = 1 * MiB + 4 * KiB, kLargeLen = 2 * MiB + 8 * KiB;
constexpr uint64_t kZeroBase = 4 * MiB, kZeroAt = kZeroBase + 64 * KiB, kZeroLen = 640 * KiB;
constexpr uint64_t kNoHoleBase = 6 * MiB, kNoHoleAt = kNoHoleBase + 128 * KiB,
                   kNoHoleLen = 256 * KiB;
constexpr uint64_t kTrimBase = 8 * MiB, kTrimAt = kTrimBase + 64 * KiB, kTrimLen = 576 * KiB;
constexpr uint64_t kRegion = 1 * MiB;  // each zero/trim test's surrounding pattern

std::vector<Expected> layout(unsigned slot, uint64_t device_size) {
  const uint64_t base = slot * kSlotSize;
  const uint64_t tail = device_size - (slot + 1) * kTailSize;
  return {
      {"fua-write", base + kFuaAt, kFuaLen, false},
      {"large-write", base + kLargeAt, kLargeLen, false},
      {"zero-before", base + kZeroBase, kZeroAt - kZeroBase, false},
      {"zero", base + kZeroAt, kZeroLen, true},
      {"zero-after", base + kZeroAt + kZeroLen, kZeroBase + kRegion - kZeroAt - kZeroLen, false},
      {"zero-nohole", base + kNoHoleAt, kNoHoleLen, true},
      {"zero-nohole-after", base + kNoHoleAt + kNoHoleLen,
       kNoHoleBase + kRegion - kNoHoleAt - kNoHoleLen, false},
      {"trim-before", base + kTrimBase, kTrimAt - kTrimBase, false},
      {"trim-after", base + kTrimAt + kTrimLen, kTrimBase + kRegion - kTrimAt - kTrimLen, false},
      {"tail", tail, kTailSize, false},
  };
}

// Compares `data` with what `expected` says; returns "" or the first mismatch.
std::string mismatch(const Expected& expected, const std::vector<unsigned char>& data,
                     unsigned slot) {
  for (uint64_t i = 0; i < expected.length; ++i) {
    const unsigned char want = expected.zero ? 0 : pattern_byte(expected.offset + i, slot);
    if (data[i] != want) {
      char text[128];
      std::snprintf(text, sizeof text, "byte at %llu is 0x%02x, expected 0x%02x",
                    static_cast<unsigned long long>(expected.offset + i), data[i], want);
      return text;
    }
  }
  return "";
}

class Checker {
 public:
  Checker(guest::NbdClient& nbd, unsigned slot) : nbd_(nbd), slot_(slot) {}

  void run() {
    const uint64_t base = slot_ * kSlotSize;
    const uint16_t flags = nbd_.transmission_flags();
    const uint16_t needed = nbd::kFlagSendFlush | nbd::kFlagSendFua | nbd::kFlagSendTrim |
                            nbd::kFlagSendWriteZeroes;
    report("handshake", nbd_.size() >= (slot_ + 1) * kSlotSize + 4 * kTailSize &&
                            (flags & nbd::kFlagReadOnly) == 0 && (flags & needed) == needed,
           "size " + std::to_string(nbd_.size()) + ", flags " + std::to_string(flags));
    write_pattern("fua-write", base + kFuaAt, kFuaLen, nbd::kCmdFlagFua);
    write_pattern("large-write", base + kLargeAt, kLargeLen, 0);
    write_pattern("tail-write", nbd_.size() - (slot_ + 1) * kTailSize, kTailSize, 0);
    report("flush", nbd_.flush() == 0, "NBD_CMD_FLUSH failed");

    write_pattern("zero-setup", base + kZeroBase, kRegion, 0);
    report("zero", nbd_.zero(base + kZeroAt, kZeroLen) == 0, "NBD_CMD_WRITE_ZEROES failed");
    write_pattern("zero-nohole-setup", base + kNoHoleBase, kRegion, 0);
    report("zero-nohole", nbd_.zero(base + kNoHoleAt, kNoHoleLen, nbd::kCmdFlagNoHole) == 0,
           "NBD_CMD_WRITE_ZEROES with NO_HOLE failed");
    write_pattern("trim-setup", base + kTrimBase, kRegion, 0);
    report("trim", nbd_.trim(base + kTrimAt, kTrimLen) == 0, "NBD_CMD_TRIM failed");
    report("flush-after", nbd_.flush() == 0, "NBD_CMD_FLUSH failed");

    // Everything read back, each range in one request (the large ones
    // are split by the driver on the way back too).
    for (const Expected& expected : layout(slot_, nbd_.size())) {
      std::vector<unsigned char> data(expected.length);
      const uint32_t error = nbd_.read(expected.offset, data.data(), uint32_t(expected.length));
      const std::string why =
          error != 0 ? "NBD_CMD_READ failed with " + std::to_string(error)
                     : mismatch(expected, data, slot_);
      report(std::string("verify-") + expected.name, why.empty(), why);
    }
  }

  bool all_passed() const { return failures_ == 0; }

 private:
  void write_pattern(const char* name, uint64_t offset, uint64_t length, uint16_t flags) {
    const auto data = pattern(offset, length, slot_);
    report(name, nbd_.write(offset, data.data(), uint32_t(length), flags) == 0,
           "NBD_CMD_WRITE of " + std::to_string(length) + " bytes failed");
  }

  void report(const std::string& name, bool ok, const std::string& why) {
    if (ok) {
      std::printf("PASS %s\n", name.c_str());
    } else {
      std::printf("FAIL %s: %s\n", name.c_str(), why.c_str());
      ++failures_;
    }
    std::fflush(stdout);
  }

  guest::NbdClient& nbd_;
  unsigned slot_;
  int failures_ = 0;
};

int check(const char* socket_path, unsigned slot) {
  guest::NbdClient nbd(socket_path);
  Checker checker(nbd, slot);
  checker.run();
  return checker.all_passed() ? 0 : 1;
}

// 4 KiB reads at random aligned offsets, `depth` in flight, for `seconds`.
int bench(const char* socket_path, double seconds, unsigned depth) {
  guest::NbdClient nbd(socket_path);
  const uint64_t blocks = nbd.size() / (4 * KiB);
  uint64_t state = 0x2545f4914f6cdd1dull;
  auto next_offset = [&] {
    state ^= state << 13;
    state ^= state >> 7;
    state ^= state << 17;
    return (state % blocks) * 4 * KiB;
  };
  using Clock = std::chrono::steady_clock;
  const auto start = Clock::now();
  const auto stop = start + std::chrono::duration<double>(seconds);
  for (unsigned i = 0; i < depth; ++i) nbd.send_read(i, next_offset(), 4 * KiB);
  uint64_t completed = 0;
  unsigned in_flight = depth;
  while (in_flight > 0) {
    const uint64_t cookie = nbd.receive_read_reply(4 * KiB);
    ++completed;
    if (Clock::now() < stop)
      nbd.send_read(cookie, next_offset(), 4 * KiB);
    else
      --in_flight;
  }
  const double elapsed = std::chrono::duration<double>(Clock::now() - start).count();
  std::printf("IOPS %.0f (%llu reads in %.2f s, depth %u)\n", double(completed) / elapsed,
              static_cast<unsigned long long>(completed), elapsed, depth);
  return 0;
}

int verify_image(const char* image, unsigned slot) {
  const int fd = ::open(image, O_RDONLY | O_CLOEXEC);
  struct stat st {};
  if (fd < 0 || ::fstat(fd, &st) < 0) {
    std::perror(image);
    return 1;
  }
  int failures = 0;
  for (const Expected& expected : layout(slot, uint64_t(st.st_size))) {
    std::vector<unsigned char> data(expected.length);
    const bool complete =
        ::pread(fd, data.data(), data.size(), off_t(expected.offset)) == ssize_t(data.size());
    const std::string why = complete ? mismatch(expected, data, slot) : "short read";
    if (!why.empty()) {
      std::printf("FAIL image-%s: %s\n", expected.name, why.c_str());
      ++failures;
    }
  }
  ::close(fd);
  if (failures == 0) std::printf("PASS image slot %u\n", slot);
  return failures == 0 ? 0 : 1;
}

int usage() {
  std::fputs(
      "usage: guest-check check SOCKET SLOT\n"
      "       guest-check bench SOCKET SECONDS DEPTH\n"
      "       guest-check verify-image IMAGE SLOT\n",
      stderr);
  return 2;
}

}  // namespace

int main(int argc, char** argv) {
  if (argc < 4) return usage();
  const std::string command = argv[1];
  try {
    if (command == "check" && argc == 4) return check(argv[2], unsigned(std::atoi(argv[3])));
    if (command == "bench" && argc == 5)
      return bench(argv[2], std::atof(argv[3]), unsigned(std::atoi(argv[4])));
    if (command == "verify-image" && argc == 4)
      return verify_image(argv[2], unsigned(std::atoi(argv[3])));
  } catch (const std::exception& e) {
    std::printf("FAIL %s: %s\n", command.c_str(), e.what());
    return 1;
  }
  return usage();
}
