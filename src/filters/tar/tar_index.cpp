#include "tar_index.hpp"

#include <array>
#include <cstring>
#include <optional>
#include <string>

namespace nbdkit::filters {
namespace {

constexpr uint64_t block = 512;
using Header = std::array<uint8_t, block>;

[[noreturn]] void fail(const std::string& message, int err = EINVAL) {
  throw Error("tar: " + message, err);
}

// A NUL-terminated field of at most `n` bytes.
std::string field(const uint8_t* p, size_t n) {
  size_t len = 0;
  while (len < n && p[len] != 0) ++len;
  return std::string(reinterpret_cast<const char*>(p), len);
}

// A numeric field: octal digits (space or NUL padded), or GNU's base-256
// form (high bit of the first byte set) for values that do not fit.
std::optional<uint64_t> number(const uint8_t* p, size_t n) {
  uint64_t v = 0;
  if (p[0] & 0x80) {
    if (p[0] & 0x40) return std::nullopt;  // negative
    v = p[0] & 0x3f;
    for (size_t i = 1; i < n; ++i) {
      if (v >> 56) return std::nullopt;
      v = v << 8 | p[i];
    }
    return v;
  }
  size_t i = 0;
  while (i < n && p[i] == ' ') ++i;
  for (; i < n && p[i] >= '0' && p[i] <= '7'; ++i) {
    if (v >> 60) return std::nullopt;
    v = v << 3 | uint64_t(p[i] - '0');
  }
  if (i < n && p[i] != ' ' && p[i] != 0) return std::nullopt;
  return v;
}

bool all_zero(const Header& h) {
  for (uint8_t c : h)
    if (c) return false;
  return true;
}

// The checksum is the sum of the header's bytes with its own field read
// as spaces; some old tars summed signed chars.
bool checksum_ok(const Header& h) {
  const auto stored = number(&h[148], 8);
  if (!stored) return false;
  uint64_t unsigned_sum = 0;
  int64_t signed_sum = 0;
  for (size_t i = 0; i < block; ++i) {
    const uint8_t c = (i >= 148 && i < 156) ? ' ' : h[i];
    unsigned_sum += c;
    signed_sum += static_cast<int8_t>(c);
  }
  return *stored == unsigned_sum || static_cast<int64_t>(*stored) == signed_sum;
}

// What extended headers (pax 'x', GNU 'L') say about the next member.
struct Pending {
  std::optional<std::string> path;
  std::optional<uint64_t> size;
  bool sparse = false;
};

// Records of a pax extended header: "LEN KEY=VALUE\n", LEN counting all.
void parse_pax(std::string_view data, Pending& next) {
  while (!data.empty()) {
    const size_t space = data.find(' ');
    if (space == std::string_view::npos || space == 0 || space > 20) break;
    uint64_t len = 0;
    for (char c : data.substr(0, space)) {
      if (c < '0' || c > '9') return;
      len = len * 10 + uint64_t(c - '0');
    }
    if (len <= space + 1 || len > data.size()) return;
    std::string_view record = data.substr(space + 1, len - space - 1);
    data.remove_prefix(len);
    if (!record.empty() && record.back() == '\n') record.remove_suffix(1);
    const size_t eq = record.find('=');
    if (eq == std::string_view::npos) continue;
    const std::string_view key = record.substr(0, eq), value = record.substr(eq + 1);
    if (key == "path") {
      next.path = std::string(value);
    } else if (key == "size") {
      uint64_t v = 0;
      for (char c : value) {
        if (c < '0' || c > '9' || v > (UINT64_MAX - 9) / 10) fail("bad pax size '" + std::string(value) + "'");
        v = v * 10 + uint64_t(c - '0');
      }
      next.size = v;
    } else if (key.substr(0, 11) == "GNU.sparse.") {
      next.sparse = true;
      if (key == "GNU.sparse.name") next.path = std::string(value);
    }
  }
}

// Data of an extended header, which is small: refuse anything large.
std::string read_data(const ReadAt& read, uint64_t offset, uint64_t size) {
  if (size > 1024 * 1024) fail("extended header of " + std::to_string(size) + " bytes is too large");
  std::string data(size, '\0');
  if (const int err = read(data.data(), size, offset))
    fail(std::string("reading the archive: ") + strerror(err), err);
  return data;
}

// The member's name: ustar splits long ones into prefix "/" name.
std::string header_name(const Header& h) {
  std::string name = field(&h[0], 100);
  if (std::memcmp(&h[257], "ustar\0" "00", 8) == 0 && h[345] != 0)
    name = field(&h[345], 155) + "/" + name;
  return name;
}

bool has_no_data(uint8_t type) { return type >= '1' && type <= '6'; }

}  // namespace

TarMember find_tar_member(const ReadAt& read, uint64_t archive_size, std::string_view name,
                          uint64_t limit) {
  const uint64_t end = limit ? std::min(limit, archive_size) : archive_size;
  Pending next;
  uint64_t offset = 0;
  while (offset <= end && end - offset >= block) {
    Header h;
    if (const int err = read(h.data(), block, offset))
      fail(std::string("reading the archive: ") + strerror(err), err);
    if (all_zero(h)) break;  // end-of-archive marker
    if (!checksum_ok(h)) fail("bad header checksum at offset " + std::to_string(offset) + ": not a tar file?");
    const uint8_t type = h[156];
    auto size = number(&h[124], 12);
    if (!size) fail("bad size field in the header at offset " + std::to_string(offset));
    if (next.size && type != 'x' && type != 'L' && type != 'K') size = next.size;
    uint64_t data = offset + block;
    // Old GNU sparse members may continue their map in extra header blocks.
    for (bool more = type == 'S' && h[482]; more; data += block) {
      if (data > end || end - data < block) fail("truncated sparse member map");
      Header ext;
      if (const int err = read(ext.data(), block, data))
        fail(std::string("reading the archive: ") + strerror(err), err);
      more = ext[504] != 0;
    }
    const uint64_t stored = has_no_data(type) ? 0 : *size;
    if (stored > archive_size - std::min(archive_size, data))
      fail("member at offset " + std::to_string(offset) + " runs past the end of the archive");

    if (type == 'x') {
      parse_pax(read_data(read, data, stored), next);
    } else if (type == 'L') {
      const std::string long_name = read_data(read, data, stored);
      next.path = long_name.substr(0, long_name.find('\0'));
    } else if (type != 'g' && type != 'K') {
      const std::string member = next.path ? *next.path : header_name(h);
      if (member == name) {
        if (type == 'S' || next.sparse) fail("'" + member + "' is a sparse file, which is not supported", ENOTSUP);
        if (type != '0' && type != 0 && type != '7') fail("'" + member + "' is not a regular file");
        return TarMember{data, stored};
      }
      next = Pending{};
    }
    offset = data + (stored + block - 1) / block * block;
  }
  fail("'" + std::string(name) + "' not found in the archive", ENOENT);
}

}  // namespace nbdkit::filters
