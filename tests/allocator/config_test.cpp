// The TALLY_ALLOC_CONF / --alloc-conf configuration string.
#include "allocator/config.h"

#include <gtest/gtest.h>

#include <cstdlib>

#include "allocator/error.h"
#include "allocator/units.h"

namespace tally {
namespace {

std::string error_of(const std::string& text) {
  AllocatorConfig config;
  try {
    apply_alloc_conf(config, text, "--alloc-conf");
  } catch (const Error& e) {
    EXPECT_EQ(e.kind(), ErrorKind::usage) << e.what();
    return e.what();
  }
  return "no error";
}

TEST(AllocConf, ParsesEveryKey) {
  AllocatorConfig config;
  apply_alloc_conf(config, "strategy:direct, max_split_size_mb:64,limit:8GiB,record:on", "test");
  EXPECT_EQ(config.strategy, "direct");
  EXPECT_EQ(config.strategy_options.max_split_size, 64 * MiB);
  EXPECT_EQ(config.limit, 8 * GiB);
  EXPECT_TRUE(config.record);
  apply_alloc_conf(config, "limit:none,record:off", "test");
  EXPECT_FALSE(config.limit.has_value());
  EXPECT_FALSE(config.record);
}

TEST(AllocConf, DefaultsAreCachingUnlimitedAndNotRecording) {
  AllocatorConfig config;
  apply_alloc_conf(config, "", "test");
  EXPECT_EQ(config.strategy, "caching");
  EXPECT_EQ(config.strategy_options.max_split_size, SIZE_MAX);
  EXPECT_FALSE(config.limit.has_value());
  EXPECT_FALSE(config.record);
}

TEST(AllocConf, ErrorsNameTheKeyOnOneLine) {
  EXPECT_EQ(
      error_of("colour:red"),
      "--alloc-conf: unknown key 'colour' (known: strategy, max_split_size_mb, limit, record)");
  EXPECT_EQ(error_of("strategy:magic"),
            "--alloc-conf: bad value 'magic' for key 'strategy' (known strategies: caching, "
            "direct, buddy, binning, arena)");
  EXPECT_EQ(
      error_of("limit:lots"),
      "--alloc-conf: bad value 'lots' for key 'limit' (expected a size such as 8GiB, from 1 B to "
      "2^64 - 1 B, or none)");
  EXPECT_EQ(error_of("max_split_size_mb:20"),
            "--alloc-conf: bad value '20' for key 'max_split_size_mb' (expected a whole number "
            "of MiB above 20)");
  EXPECT_NE(error_of("max_split_size_mb:17592186044416").find("bad value"), std::string::npos);
  EXPECT_EQ(error_of("record:maybe"),
            "--alloc-conf: bad value 'maybe' for key 'record' (expected on or off)");
  EXPECT_EQ(error_of("record"), "--alloc-conf: key 'record' has no value (expected key:value)");
}

TEST(AllocConf, LimitsRefuseNonFiniteNegativeZeroAndOverflowingSizes) {
  for (const char* value :
       {"nan", "inf", "-inf", "-1", "0", "18446744073709551616", "16777216TiB", "1e9"}) {
    EXPECT_EQ(error_of(std::string("limit:") + value),
              std::string("--alloc-conf: bad value '") + value +
                  "' for key 'limit' (expected a size such as 8GiB, from 1 B to 2^64 - 1 B, or "
                  "none)");
  }
  for (const char* value : {"nan", "inf", "-inf", "-1", "18446744073709551616"}) {
    EXPECT_EQ(error_of(std::string("max_split_size_mb:") + value),
              std::string("--alloc-conf: bad value '") + value +
                  "' for key 'max_split_size_mb' (expected a whole number of MiB above 20)");
  }
}

TEST(AllocConf, FlagOverridesTheEnvironment) {
  ::setenv("TALLY_ALLOC_CONF", "strategy:direct,limit:1GiB", 1);
  const AllocatorConfig config = alloc_conf_from("limit:2GiB");
  ::unsetenv("TALLY_ALLOC_CONF");
  EXPECT_EQ(config.strategy, "direct");
  EXPECT_EQ(config.limit, 2 * GiB);
}

TEST(AllocConf, EnvironmentErrorsNameTheVariable) {
  ::setenv("TALLY_ALLOC_CONF", "bogus:1", 1);
  EXPECT_THROW(
      {
        try {
          alloc_conf_from();
        } catch (const Error& e) {
          EXPECT_TRUE(std::string(e.what()).starts_with("TALLY_ALLOC_CONF: unknown key 'bogus'"));
          throw;
        }
      },
      Error);
  ::unsetenv("TALLY_ALLOC_CONF");
}

}  // namespace
}  // namespace tally
