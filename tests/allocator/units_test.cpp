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

TEST(ParseSize, RejectsNonFiniteSignedAndMalformedNumbers) {
  for (const char* bad :
       {"nan", "NaN", "inf", "-inf", "+inf", "infinity", "nanGiB", "infMiB", "-1GiB", "+1", "-0",
        ".5", "1.", "1..5", "0x10", "1,5", "12 GiB extra", "GiB12", "1.5.GiB"}) {
    EXPECT_FALSE(parse_size(bad).has_value()) << bad;
  }
}

// 2^64 - 1 is the largest size; these are worked out by hand from it.
TEST(ParseSize, IsExactUpTo64BitsAndRejectsOverflow) {
  EXPECT_EQ(parse_size("18446744073709551615"), 18446744073709551615u);
  EXPECT_FALSE(parse_size("18446744073709551616").has_value());
  EXPECT_FALSE(parse_size("99999999999999999999999999").has_value());
  // A double would round these to a neighbour: 2^53 + 1 is not representable.
  EXPECT_EQ(parse_size("9007199254740993"), 9007199254740993u);
  // 2^24 TiB is 2^64 bytes, one too many; 2^24 - 1 TiB is 2^64 - 2^40.
  EXPECT_FALSE(parse_size("16777216TiB").has_value());
  EXPECT_EQ(parse_size("16777215TiB"), 18446742974197923840u);
  EXPECT_FALSE(parse_size("17179869184GiB").has_value());
  EXPECT_FALSE(parse_size("18446744073709551615.5").has_value());
  EXPECT_FALSE(parse_size("18446744073.709551616GB").has_value());
  EXPECT_EQ(parse_size("18446744073.709551615GB"), 18446744073709551615u);
}

TEST(ParseSize, RoundsFractionsToTheNearestByte) {
  EXPECT_EQ(parse_size("0.5KiB"), 512u);
  EXPECT_EQ(parse_size("1.25GB"), 1'250'000'000u);
  EXPECT_EQ(parse_size("0.0001KiB"), 0u);  // 0.1024 B
  EXPECT_EQ(parse_size("0.0005KiB"), 1u);  // 0.512 B
  EXPECT_EQ(parse_size("2.5"), 3u);
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
