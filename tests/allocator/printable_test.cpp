// printable(): control characters written \xNN, every other byte kept.
#include "allocator/printable.h"

#include <gtest/gtest.h>

#include <string>

namespace tally {
namespace {

TEST(Printable, PrintableAsciiAndUtf8StayAsTheyAre) {
  EXPECT_EQ(printable("layers/\"1\", C:\\x ~"), "layers/\"1\", C:\\x ~");
  EXPECT_EQ(printable("j\xc3\xbcrgen \xff"), "j\xc3\xbcrgen \xff");
  EXPECT_EQ(printable(""), "");
}

TEST(Printable, EveryControlCharacterIsWrittenAsTwoHexDigits) {
  const std::string nul_cr_lf = std::string("a") + '\0' + "\r\n";
  EXPECT_EQ(printable(nul_cr_lf), "a\\x00\\x0d\\x0a");
  EXPECT_EQ(printable("\x1f\x7f\t\x1b"), "\\x1f\\x7f\\x09\\x1b");
  std::string all;
  for (int c = 0; c < 0x20; ++c) all += static_cast<char>(c);
  const std::string escaped = printable(all);
  ASSERT_EQ(escaped.size(), 4u * 0x20);
  EXPECT_EQ(escaped.substr(4 * 0x1a, 8), "\\x1a\\x1b");
}

}  // namespace
}  // namespace tally
