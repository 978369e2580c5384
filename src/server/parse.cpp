// The public parsers and helpers of the plugin API, and the defaults of
// the optional Context and Plugin calls.
#include <unistd.h>

#include <cerrno>
#include <climits>
#include <cstdlib>
#include <limits>
#include <string>

#include <nbdkit/plugin.hpp>

namespace nbdkit {

namespace {

// The directory the server was started in, captured before main() runs so
// that absolute_path() still works after daemonizing changes directory.
std::string initial_working_directory() {
  std::string dir(PATH_MAX, '\0');
  if (getcwd(dir.data(), dir.size()) == nullptr) return {};
  dir.resize(dir.find('\0'));
  return dir;
}
const std::string start_directory = initial_working_directory();

// Appended piecewise: GCC 12 at -O3 warns (-Wrestrict) about "'" + string.
std::string quoted(std::string_view text) {
  std::string result;
  result.reserve(text.size() + 2);
  result += '\'';
  result += text;
  result += '\'';
  return result;
}

[[noreturn]] void fail(std::string_view what, const std::string& message) {
  throw Error(std::string(what) + ": " + message, EINVAL);
}

bool is_space(char c) { return c == ' ' || (c >= '\t' && c <= '\r'); }

// Runs strtoll/strtoull on a NUL-terminated copy (string_view may not be
// terminated) and returns the unparsed rest.
struct ParsedNumber {
  long long value;
  std::string rest;
  bool overflow;
};
ParsedNumber parse_leading_integer(std::string_view text, int base) {
  const std::string copy(text);
  char* end = nullptr;
  errno = 0;
  const long long value = std::strtoll(copy.c_str(), &end, base);
  return {value, std::string(end), errno == ERANGE};
}

}  // namespace

const char* to_string(ThreadModel model) {
  switch (model) {
    case ThreadModel::serialize_connections: return "serialize_connections";
    case ThreadModel::serialize_all_requests: return "serialize_all_requests";
    case ThreadModel::serialize_requests: return "serialize_requests";
    case ThreadModel::parallel: return "parallel";
  }
  return "unknown";
}

// Like nbdkit: a decimal integer (leading blanks and '+' tolerated, as
// strtoimax does) and at most one suffix, all powers of 1024 except 's'.
uint64_t parse_size(std::string_view what, std::string_view text) {
  if (text.empty()) fail(what, "cannot parse an empty size");
  const ParsedNumber number = parse_leading_integer(text, 10);
  const std::string_view digits_end = number.rest;
  if (digits_end.size() == text.size()) fail(what, "cannot parse size " + quoted(text));
  if (number.overflow && number.value == LLONG_MAX)
    fail(what, "size " + quoted(text) + " is larger than the maximum (2^63-1)");
  if (number.value < 0 || (number.overflow && number.value == LLONG_MIN))
    fail(what, "size " + quoted(text) + " is negative");

  int shift = 0;
  if (digits_end.size() > 1)
    fail(what, "cannot parse size " + quoted(text) + ": unknown suffix " + quoted(digits_end));
  if (digits_end.size() == 1) {
    switch (digits_end[0]) {
      case 'b': case 'B': shift = 0; break;
      case 's': case 'S': shift = 9; break;
      case 'k': case 'K': shift = 10; break;
      case 'm': case 'M': shift = 20; break;
      case 'g': case 'G': shift = 30; break;
      case 't': case 'T': shift = 40; break;
      case 'p': case 'P': shift = 50; break;
      case 'e': case 'E': shift = 60; break;
      default:
        fail(what, "cannot parse size " + quoted(text) + ": unknown suffix " + quoted(digits_end));
    }
  }
  const auto value = static_cast<uint64_t>(number.value);
  if (shift > 0 && value > (uint64_t{LLONG_MAX} >> shift))
    fail(what, "size " + quoted(text) + " is larger than the maximum (2^63-1)");
  return value << shift;
}

bool parse_bool(std::string_view what, std::string_view text) {
  auto is = [text](std::string_view word) {
    if (text.size() != word.size()) return false;
    for (size_t i = 0; i < word.size(); ++i) {
      char c = text[i];
      if (c >= 'A' && c <= 'Z') c = static_cast<char>(c - 'A' + 'a');
      if (c != word[i]) return false;
    }
    return true;
  };
  for (auto word : {"1", "true", "t", "yes", "y", "on"})
    if (is(word)) return true;
  for (auto word : {"0", "false", "f", "no", "n", "off"})
    if (is(word)) return false;
  fail(what, "cannot decipher boolean " + quoted(text) +
                 " (expected one of 1/true/t/yes/y/on or 0/false/f/no/n/off)");
}

// Seconds with an optional decimal fraction and unit, computed in integers
// so that "0.1" is exactly 100000000 ns.
uint64_t parse_delay(std::string_view what, std::string_view text) {
  size_t pos = 0;
  uint64_t whole = 0;
  bool any_digit = false;
  constexpr uint64_t max_seconds = UINT64_MAX / 1'000'000'000ull;
  for (; pos < text.size() && text[pos] >= '0' && text[pos] <= '9'; ++pos) {
    whole = whole * 10 + static_cast<uint64_t>(text[pos] - '0');
    if (whole > max_seconds) fail(what, "delay " + quoted(text) + " is too large");
    any_digit = true;
  }
  // Fraction scaled to nanoseconds; digits beyond 1 ns are ignored.
  uint64_t fraction_ns = 0;
  if (pos < text.size() && text[pos] == '.') {
    ++pos;
    uint64_t scale = 100'000'000;
    for (; pos < text.size() && text[pos] >= '0' && text[pos] <= '9'; ++pos) {
      fraction_ns += static_cast<uint64_t>(text[pos] - '0') * scale;
      scale /= 10;
      any_digit = true;
    }
  }
  if (!any_digit) {
    if (!text.empty() && text[0] == '-') fail(what, "delay " + quoted(text) + " is negative");
    fail(what, "cannot parse delay " + quoted(text));
  }

  const std::string_view unit = text.substr(pos);
  uint64_t divisor;
  if (unit.empty() || unit == "s")
    divisor = 1;
  else if (unit == "ms")
    divisor = 1'000;
  else if (unit == "us" || unit == "\xce\xbcs")  // "μs" in UTF-8
    divisor = 1'000'000;
  else if (unit == "ns")
    divisor = 1'000'000'000;
  else
    fail(what, "cannot parse delay " + quoted(text) + ": unknown unit " + quoted(unit) +
                   " (expected s, ms, us or ns)");
  return whole * (1'000'000'000ull / divisor) + fraction_ns / divisor;
}

// Like strtol with base 0 (so 0x1f and 017 work as in nbdkit), but
// refusing blanks, trailing garbage and out-of-range values.
int64_t parse_int(std::string_view what, std::string_view text) {
  if (text.empty()) fail(what, "expected a number, got an empty string");
  if (is_space(text[0])) fail(what, "cannot parse number " + quoted(text));
  const ParsedNumber number = parse_leading_integer(text, 0);
  if (number.rest.size() == text.size() || !number.rest.empty())
    fail(what, "cannot parse number " + quoted(text));
  if (number.overflow) fail(what, "number " + quoted(text) + " is out of range");
  return number.value;
}

namespace {

template <typename T>
T parse_signed(std::string_view what, std::string_view text) {
  const int64_t value = parse_int(what, text);
  if (value < std::numeric_limits<T>::min() || value > std::numeric_limits<T>::max())
    fail(what, "number " + quoted(text) + " is out of range");
  return static_cast<T>(value);
}

// strtoull would silently negate "-1", so a sign is refused first.
template <typename T>
T parse_unsigned(std::string_view what, std::string_view text) {
  if (text.empty()) fail(what, "expected a number, got an empty string");
  if (is_space(text[0]) || text[0] == '+') fail(what, "cannot parse number " + quoted(text));
  if (text[0] == '-') fail(what, "number " + quoted(text) + " is negative");
  const std::string copy(text);
  char* end = nullptr;
  errno = 0;
  const unsigned long long value = std::strtoull(copy.c_str(), &end, 0);
  if (end == copy.c_str() || *end != '\0') fail(what, "cannot parse number " + quoted(text));
  if (errno == ERANGE || value > std::numeric_limits<T>::max())
    fail(what, "number " + quoted(text) + " is out of range");
  return static_cast<T>(value);
}

// A plain decimal number (no sign, no exponent), as a double.
double parse_decimal(std::string_view what, std::string_view whole, std::string_view text) {
  bool digits = false, point = false;
  for (const char c : text) {
    if (c >= '0' && c <= '9')
      digits = true;
    else if (c == '.' && !point)
      point = true;
    else
      fail(what, "cannot parse probability " + quoted(whole));
  }
  if (!digits) fail(what, "cannot parse probability " + quoted(whole));
  return std::strtod(std::string(text).c_str(), nullptr);
}

}  // namespace

int8_t parse_int8(std::string_view what, std::string_view text) {
  return parse_signed<int8_t>(what, text);
}
int16_t parse_int16(std::string_view what, std::string_view text) {
  return parse_signed<int16_t>(what, text);
}
int32_t parse_int32(std::string_view what, std::string_view text) {
  return parse_signed<int32_t>(what, text);
}
int64_t parse_int64(std::string_view what, std::string_view text) { return parse_int(what, text); }
uint8_t parse_uint8(std::string_view what, std::string_view text) {
  return parse_unsigned<uint8_t>(what, text);
}
uint16_t parse_uint16(std::string_view what, std::string_view text) {
  return parse_unsigned<uint16_t>(what, text);
}
uint32_t parse_uint32(std::string_view what, std::string_view text) {
  return parse_unsigned<uint32_t>(what, text);
}
uint64_t parse_uint64(std::string_view what, std::string_view text) {
  return parse_unsigned<uint64_t>(what, text);
}

double parse_probability(std::string_view what, std::string_view text) {
  if (text.empty()) fail(what, "cannot parse an empty probability");
  if (text.back() == '%') return parse_decimal(what, text, text.substr(0, text.size() - 1)) / 100;
  const size_t ratio = text.find_first_of(":/");
  if (ratio == std::string_view::npos) return parse_decimal(what, text, text);
  const double numerator = parse_decimal(what, text, text.substr(0, ratio));
  const double denominator = parse_decimal(what, text, text.substr(ratio + 1));
  if (denominator == 0) fail(what, "probability " + quoted(text) + " divides by zero");
  return numerator / denominator;
}

std::string absolute_path(std::string_view path) {
  if (path.empty()) throw Error("cannot make an empty path absolute", EINVAL);
  if (path[0] == '/') return std::string(path);
  if (start_directory.empty())
    throw Error("cannot make " + quoted(path) + " absolute: current directory unknown", ENOENT);
  return start_directory + "/" + std::string(path);
}

// ---- ExtentList ----

uint64_t ExtentList::next_offset() const {
  if (extents_.empty()) return start_;
  const Extent& last = extents_.back();
  return last.offset + last.length;
}

int ExtentList::add(uint64_t offset, uint64_t length, uint32_t type) {
  if (length == 0) return 0;
  if (offset > UINT64_MAX - length) return EINVAL;
  uint64_t end = offset + length;
  // Past the range nothing is stored, so order can only be checked
  // against the range itself.
  if (complete()) return offset >= end_ ? 0 : EINVAL;
  if (extents_.empty()) {
    // Anything covering `start` may come first; extents wholly before it
    // are dropped.
    if (offset > start_) return EINVAL;
    if (end <= start_) return 0;
    offset = start_;
  } else if (offset != next_offset()) {
    return EINVAL;
  }
  if (end > end_) end = end_;

  if (!extents_.empty() && extents_.back().type == type) {
    extents_.back().length += end - offset;
    return 0;
  }
  extents_.push_back(Extent{offset, end - offset, type});
  return 0;
}

// ---- Defaults for layers that do not implement a call ----
//
// The server only calls these after the matching can_* said yes, so they
// are reached only through a buggy layer or a filter forwarding blindly.

int Context::pwrite(const void*, uint32_t, uint64_t, uint32_t) { return EROFS; }
int Context::flush(uint32_t) { return EINVAL; }
int Context::trim(uint32_t, uint64_t, uint32_t) { return EINVAL; }
// EOPNOTSUPP lets the server fall back to writing zeroes.
int Context::zero(uint32_t, uint64_t, uint32_t) { return EOPNOTSUPP; }
// A layer without extents has only data, as nbdkit reports it.
int Context::extents(uint32_t count, uint64_t offset, uint32_t, ExtentList& out) {
  return out.add(offset, count, extent::data);
}
int Context::cache(uint32_t, uint64_t, uint32_t) { return EINVAL; }

void Plugin::config(std::string_view key, std::string_view) {
  throw Error("unknown parameter '" + std::string(key) + "'", EINVAL);
}

}  // namespace nbdkit
