// The line every tally command ends with when cleanup recorded errors: printed when the
// command's scope ends, whether it returned or threw, and only then.
#include "cli/cleanup_warning.h"

#include <gtest/gtest.h>

#include <sstream>
#include <stdexcept>

#include "allocator/cleanup_errors.h"

namespace tally::cli {
namespace {

constexpr const char* kRecorded =
    "tally: 1 error(s) while freeing memory were recorded instead of thrown; the first: "
    "destroying an event: context lost\n";

class CleanupWarningTest : public ::testing::Test {
 protected:
  void SetUp() override { reset_cleanup_errors(); }
  void TearDown() override { reset_cleanup_errors(); }
  static void record() {
    run_cleanup("destroying an event", [] { throw std::runtime_error("context lost"); });
  }
};

TEST_F(CleanupWarningTest, SaysNothingWhenNothingWasRecorded) {
  std::ostringstream out;
  { const CleanupWarning warning(out); }
  EXPECT_EQ(out.str(), "");
}

TEST_F(CleanupWarningTest, ReportsWhatTheCommandRecordedWhenItReturns) {
  std::ostringstream out;
  {
    const CleanupWarning warning(out);
    record();
    EXPECT_EQ(out.str(), "");  // not before the command has finished
  }
  EXPECT_EQ(out.str(), kRecorded);
}

TEST_F(CleanupWarningTest, ReportsWhatTheCommandRecordedWhenItThrows) {
  std::ostringstream out;
  try {
    const CleanupWarning warning(out);
    record();
    throw std::runtime_error("the command failed");
  } catch (const std::runtime_error&) {
  }
  EXPECT_EQ(out.str(), kRecorded);
}

}  // namespace
}  // namespace tally::cli
