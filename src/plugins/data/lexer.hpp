// Splits a data string into tokens.  The format is not context free
// (a file name or script runs until a delimiter that depends on what came
// before), so the lexer reads one token at a time on demand.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

namespace data {

struct Token {
  enum class Kind {
    end,
    byte,         // number (range checked by the parser)
    word,         // le16:... etc: `text` holds the encoded bytes
    string,       // "...": `text` holds the decoded bytes
    move_to,      // @N
    move_up,      // @+N
    move_down,    // @-N
    align,        // @^N
    file,         // <FILE
    script,       // <(SCRIPT)
    open,         // (
    close,        // )
    repeat,       // *N
    slice,        // [N:M]
    assign,       // -> \NAME
    reference,    // \NAME
    variable,     // $NAME
  };
  Kind kind = Kind::end;
  std::size_t position = 0;
  uint64_t number = 0;
  std::optional<uint64_t> start, end;
  std::string text;
};

class Lexer {
 public:
  explicit Lexer(std::string_view text) : text_(text) {}

  Token next();
  const Token& peek();

 private:
  Token scan();
  void skip_blanks_and_comments();
  uint64_t number_here(const char* what);
  Token at_sign(std::size_t start);
  Token word(std::size_t start);
  Token string_literal(std::size_t start);
  Token redirect(std::size_t start);
  Token slice(std::size_t start);
  std::string name_here(bool dashes);
  bool more() const { return pos_ < text_.size(); }
  char here() const { return text_[pos_]; }

  std::string_view text_;
  std::size_t pos_ = 0;
  std::optional<Token> peeked_;
};

// Throws nbdkit::Error naming the offset in the data string.
[[noreturn]] void syntax_error(std::size_t position, const std::string& what);

// A number as C's strtoull with base 0 reads it (0x hex, 0 octal, else
// decimal) at text[pos], which must start with a digit; advances pos.
// Throws nbdkit::Error if it does not fit in 64 bits.
uint64_t scan_c_number(std::string_view text, std::size_t& pos);

}  // namespace data
