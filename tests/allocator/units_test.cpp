#include "allocator/units.h"

#include <gtest/gtest.h>

namespace tally {
namespace {

TEST(ParseSize, AcceptsBytesAndUnits) {
  EXPECT_EQ(parse_size("512"), 512u);
  EXPECT_EQ(parse_size("512B"), 512u);
  EXPECT_EQ(parse_size("20MiB"), 20 * MiB);
  EXPECT_EQ(parse_size("8GiB"), 8 * GiB);
  EXPECT_EQ(parse_size("8gib"), 8 * GiB);
  EXPECT_EQ(parse_size("1.5 GiB"), 3 * GiB / 2);
  EXPECT_EQ(parse_size("80GB"), 80'000'000'000u);
  EXPECT_EQ(parse_size(" 4 KB "), 4000u);
}

TEST(ParseSize, RejectsAnythingElse) {
  for (const char* bad : {"", "GiB", "-1", "1.2.3", "12 parsecs", "1e3", "99999999999TiB"}) {
    EXPECT_FALSE(parse_size(bad).has_value()) << bad;
  }
}

TEST(FormatBytes, UsesBinaryUnits) {
  EXPECT_EQ(format_bytes(0), "0 B");
  EXPECT_EQ(format_bytes(1023), "1023 B");
  EXPECT_EQ(format_bytes(1024), "1.00 KiB");
  EXPECT_EQ(format_bytes(1536 * KiB), "1.50 MiB");
  EXPECT_EQ(format_bytes(80 * GiB), "80.00 GiB");
}

}  // namespace
}  // namespace tally
