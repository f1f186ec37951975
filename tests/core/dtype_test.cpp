// Dtype names: find_dtype and parse_dtype against dtype_name, and parse_dtype's message.
#include "core/dtype.h"

#include <gtest/gtest.h>

#include <initializer_list>
#include <optional>
#include <string>

#include "allocator/error.h"

namespace tally {
namespace {

TEST(DType, EveryNameFindsItsDType) {
  for (const DType dtype :
       {DType::f32, DType::f16, DType::bf16, DType::i32, DType::i64, DType::u8}) {
    EXPECT_EQ(find_dtype(dtype_name(dtype)), dtype) << dtype_name(dtype);
    EXPECT_EQ(parse_dtype(dtype_name(dtype)), dtype) << dtype_name(dtype);
  }
  EXPECT_EQ(find_dtype("bf16"), DType::bf16);
}

TEST(DType, AnyOtherNameFindsNothing) {
  for (const std::string& name : std::initializer_list<std::string>{"f64", "F32", "", "f3", "f32 ",
                                                                    std::string("f32") + '\0'}) {
    EXPECT_EQ(find_dtype(name), std::nullopt) << name;
  }
}

// A name read from a file can hold any byte: the message stays one printable line.
TEST(DType, ParseDTypeNamesTheUnknownNameEscaped) {
  try {
    parse_dtype(std::string("f1") + '\0' + "\r\n");
    ADD_FAILURE() << "no error";
  } catch (const Error& e) {
    EXPECT_EQ(e.kind(), ErrorKind::usage);
    EXPECT_STREQ(e.what(),
                 "unknown dtype 'f1\\x00\\x0d\\x0a' (expected f32, f16, bf16, i32, i64 or u8)");
  }
}

}  // namespace
}  // namespace tally
