#include "base64.hpp"

#include <cctype>

#include <nbdkit/plugin.hpp>

namespace data {

namespace {

int sextet(char c) {
  if (c >= 'A' && c <= 'Z') return c - 'A';
  if (c >= 'a' && c <= 'z') return c - 'a' + 26;
  if (c >= '0' && c <= '9') return c - '0' + 52;
  if (c == '+') return 62;
  if (c == '/') return 63;
  return -1;
}

[[noreturn]] void bad(const std::string& why) {
  throw nbdkit::Error("base64: the data is not valid base64: " + why);
}

}  // namespace

std::string decode_base64(std::string_view text) {
  std::string symbols;
  for (const char c : text) {
    if (!std::isspace(static_cast<unsigned char>(c))) symbols += c;
  }
  if (symbols.size() % 4 != 0) bad("its length is not a multiple of 4");
  std::string out;
  out.reserve(symbols.size() / 4 * 3);
  for (std::size_t i = 0; i < symbols.size(); i += 4) {
    const bool last = i + 4 == symbols.size();
    // "xx==" and "xxx=" end the data; '=' anywhere else is an error.
    const int padding = last ? (symbols[i + 3] == '=') + (symbols[i + 2] == '=' && symbols[i + 3] == '=') : 0;
    uint32_t group = 0;
    for (int j = 0; j < 4; ++j) {
      const int value = j >= 4 - padding ? 0 : sextet(symbols[i + static_cast<std::size_t>(j)]);
      if (value < 0) bad("unexpected character '" + std::string(1, symbols[i + static_cast<std::size_t>(j)]) + "'");
      group = group << 6 | static_cast<uint32_t>(value);
    }
    out += static_cast<char>(group >> 16);
    if (padding < 2) out += static_cast<char>(group >> 8 & 0xff);
    if (padding < 1) out += static_cast<char>(group & 0xff);
  }
  return out;
}

}  // namespace data
