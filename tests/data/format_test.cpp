// The data format's parser and evaluator, without a server: each string is
// evaluated into a Blob and compared with the bytes nbdkit serves for it.
#include <gtest/gtest.h>

#include <map>
#include <string>

#include <nbdkit/plugin.hpp>

#include "base64.hpp"
#include "blob.hpp"
#include "evaluator.hpp"
#include "node.hpp"
#include "parser.hpp"

namespace {

std::optional<std::string> test_variables(const std::string& name) {
  static const std::map<std::string, std::string> values = {
      {"pair", "0x55 0xAA"}, {"nested", "1 $inner"}, {"inner", "5"}, {"loop", "$loop"},
      {"bad", "(1"}};
  const auto it = values.find(name);
  if (it == values.end()) return std::nullopt;
  return it->second;
}

std::string bytes_of(const std::string& text, uint64_t max_work = ~uint64_t{0}) {
  const data::NodePtr tree = data::parse(text, test_variables);
  data::Blob blob;
  blob.size = data::evaluate(*tree, blob, data::EvaluationLimits{max_work});
  return blob.flatten();
}

std::string hex(std::initializer_list<int> bytes) {
  std::string out;
  for (const int b : bytes) out += static_cast<char>(b);
  return out;
}

std::string error_of(const std::string& text) {
  try {
    bytes_of(text);
  } catch (const nbdkit::Error& e) {
    return e.what();
  }
  return "(no error)";
}

TEST(DataFormat, BytesInEveryBase) {
  EXPECT_EQ(bytes_of("0 1 0x1F 017 255 0377"), hex({0, 1, 0x1f, 017, 255, 255}));
  // "08" is 0 then 8, as C's strtoull reads it.
  EXPECT_EQ(bytes_of("08"), hex({0, 8}));
  EXPECT_EQ(bytes_of(""), "");
}

TEST(DataFormat, Offsets) {
  EXPECT_EQ(bytes_of("@10"), std::string(10, '\0'));
  EXPECT_EQ(bytes_of("1 @10 @-5"), hex({1, 0, 0, 0, 0, 0, 0, 0, 0, 0}));
  EXPECT_EQ(bytes_of("1 2 3 @1 9"), hex({1, 9, 3}));
  EXPECT_EQ(bytes_of("1 @+2 3"), hex({1, 0, 0, 3}));
  EXPECT_EQ(bytes_of("1 2 3 @^4 9"), hex({1, 2, 3, 0, 9}));
  EXPECT_EQ(bytes_of("@^4 9"), hex({9}));
  EXPECT_EQ(bytes_of("0 1 2 3 @^0x200 @-2 le16:0xaa55").size(), 512u);
}

TEST(DataFormat, Words) {
  EXPECT_EQ(bytes_of("le16:0x1234 be16:0x1234"), hex({0x34, 0x12, 0x12, 0x34}));
  EXPECT_EQ(bytes_of("be32:1 le32:1"), hex({0, 0, 0, 1, 1, 0, 0, 0}));
  EXPECT_EQ(bytes_of("be64:0x0102030405060708"), hex({1, 2, 3, 4, 5, 6, 7, 8}));
  EXPECT_EQ(bytes_of("le64:0xffffffffffffffff"), std::string(8, '\xff'));
}

TEST(DataFormat, Strings) {
  EXPECT_EQ(bytes_of(R"("a\nb\t\\\"\x41\a\b\f\r\v")"), "a\nb\t\\\"A\a\b\f\r\v");
  EXPECT_EQ(bytes_of(R"("\e\z\?")"), "ez?");
  EXPECT_EQ(bytes_of(R"("\xfff")"), "\xff" "f");
  EXPECT_EQ(bytes_of(R"("" "ab"*3)"), "ababab");
}

TEST(DataFormat, GroupsRepeatsSlices) {
  EXPECT_EQ(bytes_of("(0x55 0xAA)*2"), hex({0x55, 0xaa, 0x55, 0xaa}));
  EXPECT_EQ(bytes_of("(1 2)*2 [1:3]"), hex({2, 1}));
  EXPECT_EQ(bytes_of("1*2*3"), std::string(6, '\1'));
  EXPECT_EQ(bytes_of("(1 @10 2)[8:]"), hex({0, 0, 2}));
  EXPECT_EQ(bytes_of("(1 2 3)[:]"), hex({1, 2, 3}));
  EXPECT_EQ(bytes_of("(@4 1 @0 2)*2"), hex({2, 0, 0, 0, 1, 2, 0, 0, 0, 1}));
  EXPECT_EQ(bytes_of("(1 2)*0 3"), hex({3}));
  EXPECT_EQ(bytes_of("(@4) 1"), hex({0, 0, 0, 0, 1}));
  EXPECT_EQ(bytes_of("(1 2 3 @1) 7"), hex({1, 2, 3, 7}));
}

TEST(DataFormat, GroupHolesReplaceWhatWasThere) {
  EXPECT_EQ(bytes_of("1 2 3 @0 (@2 9)"), hex({0, 0, 9}));
  EXPECT_EQ(bytes_of("1 2 3 4 5 6 @0 (@1 9)*2"), hex({0, 9, 0, 9, 5, 6}));
  EXPECT_EQ(bytes_of("1 2 3 4 @1 (5 6)[1:1] 7"), hex({1, 7, 3, 4}));
}

TEST(DataFormat, Names) {
  EXPECT_EQ(bytes_of(R"((1 2 3) -> \a \a \a)"), hex({1, 2, 3, 1, 2, 3}));
  EXPECT_EQ(bytes_of(R"(1 -> \a 2 \a)"), hex({2, 1}));
  EXPECT_EQ(bytes_of(R"(1 -> \a-b_C9 \a-b_C9)"), hex({1}));
  EXPECT_EQ(bytes_of(R"((1 -> \a \a) -> \b \b)"), hex({1}));
  EXPECT_EQ(bytes_of(R"(1 -> \a -> \b \b)"), "");
  // Never used, so never evaluated.
  EXPECT_EQ(bytes_of(R"(\undefined -> \b)"), "");
  EXPECT_NE(error_of(R"((1 -> \a) \a)").find("not defined"), std::string::npos);
  EXPECT_NE(error_of(R"((\a) -> \a \a)").find("itself"), std::string::npos);
}

TEST(DataFormat, Variables) {
  EXPECT_EQ(bytes_of("$pair*2"), hex({0x55, 0xaa, 0x55, 0xaa}));
  EXPECT_EQ(bytes_of("$nested"), hex({1, 5}));
  EXPECT_EQ(bytes_of("$inner$inner"), hex({5, 5}));
}

TEST(DataFormat, Comments) {
  EXPECT_EQ(bytes_of("1 2 # comment (\n3"), hex({1, 2, 3}));
  EXPECT_EQ(bytes_of("1#c"), hex({1}));
}

TEST(DataFormat, SyntaxErrorsNameTheOffset) {
  EXPECT_NE(error_of("1 foo").find("offset 2"), std::string::npos) << error_of("1 foo");
  EXPECT_NE(error_of("(1 2").find("unmatched '('"), std::string::npos);
  EXPECT_NE(error_of("1 2)").find("unmatched ')'"), std::string::npos);
  EXPECT_NE(error_of("256").find("0..255"), std::string::npos);
  EXPECT_NE(error_of("@^3").find("power of 2"), std::string::npos);
  EXPECT_NE(error_of("@-1").find("before the start"), std::string::npos);
  EXPECT_NE(error_of("le16:65536").find("out of range"), std::string::npos);
  EXPECT_NE(error_of("le16:0x1*2").find("trailing"), std::string::npos);
  EXPECT_NE(error_of(R"("\x4")").find("two hexadecimal"), std::string::npos);
  EXPECT_NE(error_of(R"("\0")").find("octal"), std::string::npos);
  EXPECT_NE(error_of("1*x").find("number"), std::string::npos);
  EXPECT_NE(error_of("@1*2").find("@ offset"), std::string::npos);
  EXPECT_NE(error_of("(1 2 3)[1:5]").find("slice"), std::string::npos);
  EXPECT_NE(error_of("(1 2 3)[2:1]").find("slice"), std::string::npos);
  EXPECT_NE(error_of("$missing").find("not found"), std::string::npos);
  EXPECT_NE(error_of("$bad").find("in $bad"), std::string::npos);
  EXPECT_NE(error_of("$loop").find("too deeply"), std::string::npos);
  EXPECT_NE(error_of(std::string(1000, '(')).find("too deeply"), std::string::npos);
  EXPECT_NE(error_of("99999999999999999999").find("too large"), std::string::npos);
  EXPECT_NE(error_of("@0x7fffffffffffffff 1").find("2^63"), std::string::npos);
  EXPECT_NE(error_of("@0x7ffffffffffffffe (1)*2").find("2^63"), std::string::npos);
}

TEST(DataFormat, WorkLimitStopsHugeExpressions) {
  EXPECT_THROW(bytes_of("(1)*1000000000000", 1 << 16), nbdkit::Error);
  EXPECT_THROW(bytes_of("(1 @^4096)*1000000000000", 1 << 16), nbdkit::Error);
}

TEST(DataFormat, LargeRepeatsStayCompact) {
  const data::NodePtr tree = data::parse("((0x55 0xAA)*1000)*1000", test_variables);
  data::Blob blob;
  blob.size = data::evaluate(*tree, blob);
  EXPECT_EQ(blob.size, 2000000u);
  EXPECT_TRUE(blob.dense());
  // Sparse data: one run per byte written, no zeroes stored.
  const data::NodePtr sparse = data::parse("@1000000000000 1 @0x7000000000000000 2", test_variables);
  data::Blob holes;
  holes.size = data::evaluate(*sparse, holes);
  EXPECT_EQ(holes.runs().size(), 2u);
  EXPECT_EQ(holes.size, 0x7000000000000001u);
}

TEST(DataFormat, TreeDescription) {
  const data::NodePtr tree = data::parse(R"(1 2 (3)*2 -> \x)", test_variables);
  EXPECT_EQ(data::describe(*tree), "group\n  bytes 01 02\n  assign x\n    repeat 2\n      group\n        bytes 03\n");
}

TEST(DataFormat, Base64) {
  EXPECT_EQ(data::decode_base64("MTIz"), "123");
  EXPECT_EQ(data::decode_base64("MT Iz"), "123");
  EXPECT_EQ(data::decode_base64("aGVsbG8gbmJka2l0IHVzZXI="), "hello nbdkit user");
  EXPECT_EQ(data::decode_base64("YQ=="), "a");
  EXPECT_EQ(data::decode_base64(""), "");
  EXPECT_THROW(data::decode_base64("MTI"), nbdkit::Error);
  EXPECT_THROW(data::decode_base64("!!!!"), nbdkit::Error);
  EXPECT_THROW(data::decode_base64("YQ==YQ=="), nbdkit::Error);
}

}  // namespace
