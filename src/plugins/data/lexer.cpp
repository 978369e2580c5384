#include "lexer.hpp"

#include <cctype>
#include <limits>

#include <nbdkit/plugin.hpp>

namespace data {

namespace {

bool is_digit(char c) { return c >= '0' && c <= '9'; }
bool is_blank(char c) { return std::isspace(static_cast<unsigned char>(c)) != 0; }

int digit_value(char c) {
  if (c >= '0' && c <= '9') return c - '0';
  if (c >= 'a' && c <= 'f') return c - 'a' + 10;
  if (c >= 'A' && c <= 'F') return c - 'A' + 10;
  return 99;
}

// Bytes of `value` in `width` bytes, little or big endian.
std::string encode_word(uint64_t value, int width, bool big_endian) {
  std::string out(static_cast<std::size_t>(width), '\0');
  for (int i = 0; i < width; ++i) {
    const auto byte = static_cast<char>((value >> (8 * i)) & 0xff);
    out[static_cast<std::size_t>(big_endian ? width - 1 - i : i)] = byte;
  }
  return out;
}

}  // namespace

void syntax_error(std::size_t position, const std::string& what) {
  throw nbdkit::Error("data: parsing error at offset " + std::to_string(position) + ": " + what);
}

uint64_t scan_c_number(std::string_view text, std::size_t& pos) {
  const std::size_t start = pos;
  unsigned base = 10;
  if (text[pos] == '0') {
    base = 8;
    ++pos;
    // Like strtoull, "0x" with no hex digit after it is the number 0.
    if (pos < text.size() && (text[pos] == 'x' || text[pos] == 'X')) {
      base = 16;
      ++pos;
    }
  }
  uint64_t value = 0;
  for (; pos < text.size(); ++pos) {
    const int digit = digit_value(text[pos]);
    if (digit >= static_cast<int>(base)) break;
    if (value > (std::numeric_limits<uint64_t>::max() - static_cast<unsigned>(digit)) / base) {
      syntax_error(start, "number too large");
    }
    value = value * base + static_cast<unsigned>(digit);
  }
  return value;
}

const Token& Lexer::peek() {
  if (!peeked_) peeked_ = scan();
  return *peeked_;
}

Token Lexer::next() {
  if (peeked_) {
    Token token = std::move(*peeked_);
    peeked_.reset();
    return token;
  }
  return scan();
}

void Lexer::skip_blanks_and_comments() {
  while (more()) {
    if (is_blank(here())) {
      ++pos_;
    } else if (here() == '#') {
      while (more() && here() != '\n') ++pos_;
    } else {
      break;
    }
  }
}

// The number after @+, *, etc.; blanks before it are allowed, as nbdkit
// allows them.
uint64_t Lexer::number_here(const char* what) {
  while (more() && is_blank(here())) ++pos_;
  if (!more() || !is_digit(here())) syntax_error(pos_, std::string("expected a number after ") + what);
  return scan_c_number(text_, pos_);
}

Token Lexer::scan() {
  skip_blanks_and_comments();
  Token token;
  token.position = pos_;
  if (!more()) return token;
  const char c = here();
  if (is_digit(c)) {
    token.kind = Token::Kind::byte;
    token.number = scan_c_number(text_, pos_);
    return token;
  }
  switch (c) {
    case '@': return at_sign(pos_++);
    case '"': return string_literal(pos_++);
    case '<': return redirect(pos_++);
    case '[': return slice(pos_++);
    case '(': ++pos_; token.kind = Token::Kind::open; return token;
    case ')': ++pos_; token.kind = Token::Kind::close; return token;
    case '*':
      ++pos_;
      token.kind = Token::Kind::repeat;
      token.number = number_here("'*'");
      return token;
    case '\\':
      ++pos_;
      token.kind = Token::Kind::reference;
      token.text = name_here(true);
      return token;
    case '$':
      ++pos_;
      token.kind = Token::Kind::variable;
      token.text = name_here(false);
      return token;
    case 'l':
    case 'b': return word(pos_);
    case '-':
      if (text_.substr(pos_, 2) == "->") {
        pos_ += 2;
        while (more() && is_blank(here())) ++pos_;
        if (!more() || here() != '\\') syntax_error(pos_, "expected \\NAME after '->'");
        ++pos_;
        token.kind = Token::Kind::assign;
        token.text = name_here(true);
        return token;
      }
      break;
    default: break;
  }
  syntax_error(pos_, std::string("unexpected character '") + c + "'");
}

// \NAME takes letters, digits, '-' and '_'; $NAME letters, digits and '_'.
std::string Lexer::name_here(bool dashes) {
  const std::size_t start = pos_;
  while (more() && (std::isalnum(static_cast<unsigned char>(here())) || here() == '_' ||
                    (dashes && here() == '-'))) {
    ++pos_;
  }
  if (pos_ == start) syntax_error(start, "expected a name");
  return std::string(text_.substr(start, pos_ - start));
}

Token Lexer::at_sign(std::size_t start) {
  Token token;
  token.position = start;
  if (more() && (here() == '+' || here() == '-' || here() == '^')) {
    const char sign = here();
    ++pos_;
    token.kind = sign == '+'   ? Token::Kind::move_up
                 : sign == '-' ? Token::Kind::move_down
                               : Token::Kind::align;
    token.number = number_here(sign == '^' ? "'@^'" : sign == '+' ? "'@+'" : "'@-'");
    return token;
  }
  if (!more() || !is_digit(here())) syntax_error(pos_, "expected an offset after '@'");
  token.kind = Token::Kind::move_to;
  token.number = scan_c_number(text_, pos_);
  return token;
}

// le16:N be16:N le32:N be32:N le64:N be64:N; N runs to the next blank.
Token Lexer::word(std::size_t start) {
  static constexpr std::string_view kinds[] = {"le16:", "be16:", "le32:",
                                               "be32:", "le64:", "be64:"};
  const std::string_view rest = text_.substr(start);
  int which = -1;
  for (int i = 0; i < 6; ++i) {
    if (rest.substr(0, 5) == kinds[i]) which = i;
  }
  if (which < 0) syntax_error(start, "expected le16:, be16:, le32:, be32:, le64: or be64:");
  const int width = 2 << (which / 2);
  pos_ = start + 5;
  const std::size_t value_start = pos_;
  while (more() && !is_blank(here()) && here() != ')') ++pos_;
  const std::string_view value = text_.substr(value_start, pos_ - value_start);
  if (value.empty()) syntax_error(value_start, "expected a number after " + std::string(kinds[which]));
  if (value[0] == '-') syntax_error(value_start, "negative numbers are not allowed");
  if (!is_digit(value[0])) syntax_error(value_start, "expected a number");
  std::size_t end = 0;
  const uint64_t number = scan_c_number(value, end);
  if (end != value.size()) syntax_error(value_start + end, "trailing garbage after the number");
  if (width < 8 && number >> (8 * width) != 0) {
    syntax_error(value_start, "number out of range for " + std::string(kinds[which]));
  }
  Token token;
  token.kind = Token::Kind::word;
  token.position = start;
  token.text = encode_word(number, width, which % 2 == 1);
  return token;
}

// C escapes; \xHH takes exactly two hex digits, and an unknown escape is
// the character itself.  Octal and unicode escapes are refused, as nbdkit
// refuses them.
Token Lexer::string_literal(std::size_t start) {
  Token token;
  token.kind = Token::Kind::string;
  token.position = start;
  while (true) {
    if (!more()) syntax_error(start, "unterminated string");
    const char c = text_[pos_++];
    if (c == '"') return token;
    if (c != '\\') {
      token.text += c;
      continue;
    }
    if (!more()) syntax_error(start, "unterminated string");
    const char e = text_[pos_++];
    switch (e) {
      case 'a': token.text += '\a'; break;
      case 'b': token.text += '\b'; break;
      case 'f': token.text += '\f'; break;
      case 'n': token.text += '\n'; break;
      case 'r': token.text += '\r'; break;
      case 't': token.text += '\t'; break;
      case 'v': token.text += '\v'; break;
      case 'x': {
        if (pos_ + 2 > text_.size() || digit_value(text_[pos_]) > 15 ||
            digit_value(text_[pos_ + 1]) > 15) {
          syntax_error(pos_ - 2, "\\x must be followed by exactly two hexadecimal digits");
        }
        token.text += static_cast<char>(digit_value(text_[pos_]) * 16 + digit_value(text_[pos_ + 1]));
        pos_ += 2;
        break;
      }
      case 'u':
      case 'U':
      case '0': case '1': case '2': case '3': case '4': case '5': case '6': case '7':
        syntax_error(pos_ - 2, "octal and unicode escapes are not supported in strings");
      default: token.text += e; break;
    }
  }
}

// <FILE runs to a blank, '(', ')', '[' or '*'; <(SCRIPT) to the ')' that
// matches its '('.
Token Lexer::redirect(std::size_t start) {
  Token token;
  token.position = start;
  if (more() && here() == '(') {
    const std::size_t body = ++pos_;
    int depth = 1;
    for (; more(); ++pos_) {
      if (here() == '(') ++depth;
      if (here() == ')' && --depth == 0) break;
    }
    if (!more()) syntax_error(start, "unmatched '(' in <(SCRIPT)");
    token.kind = Token::Kind::script;
    token.text = std::string(text_.substr(body, pos_ - body));
    ++pos_;
    return token;
  }
  const std::size_t name = pos_;
  while (more() && !is_blank(here()) && here() != '(' && here() != ')' && here() != '[' &&
         here() != '*') {
    ++pos_;
  }
  if (pos_ == name) syntax_error(name, "expected a file name after '<'");
  token.kind = Token::Kind::file;
  token.text = std::string(text_.substr(name, pos_ - name));
  return token;
}

// [N:M], [N:], [:M] or [:]; no blanks inside.
Token Lexer::slice(std::size_t start) {
  Token token;
  token.kind = Token::Kind::slice;
  token.position = start;
  if (more() && is_digit(here())) token.start = scan_c_number(text_, pos_);
  if (!more() || here() != ':') syntax_error(pos_, "expected ':' in [N:M]");
  ++pos_;
  if (more() && is_digit(here())) token.end = scan_c_number(text_, pos_);
  if (!more() || here() != ']') syntax_error(pos_, "expected ']' to end [N:M]");
  ++pos_;
  return token;
}

}  // namespace data
