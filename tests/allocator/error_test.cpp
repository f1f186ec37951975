#include "allocator/error.h"

#include <gtest/gtest.h>

#include <string>

namespace tally {
namespace {

// The tally command's exit statuses, one per kind, as README's table states them.
TEST(ErrorKind, EachKindHasItsNameAndExitStatus) {
  struct Row {
    ErrorKind kind;
    const char* name;
    int status;
  };
  for (const Row& row :
       {Row{ErrorKind::usage, "usage", 2}, Row{ErrorKind::data, "data", 3},
        Row{ErrorKind::out_of_memory, "out_of_memory", 4}, Row{ErrorKind::device, "device", 5},
        Row{ErrorKind::internal, "internal", 70}}) {
    EXPECT_STREQ(error_kind_name(row.kind), row.name);
    EXPECT_EQ(exit_status(row.kind), row.status) << row.name;
  }
}

TEST(ErrorKind, StatusesAreDistinctAndAboveOne) {
  // 0 is success and 1 is tally fit's "no batch fits": no error may exit with either.
  const ErrorKind kinds[] = {ErrorKind::usage, ErrorKind::data, ErrorKind::out_of_memory,
                             ErrorKind::device, ErrorKind::internal};
  for (ErrorKind a : kinds) {
    EXPECT_GT(exit_status(a), 1) << error_kind_name(a);
    for (ErrorKind b : kinds) {
      if (a != b) {
        EXPECT_NE(exit_status(a), exit_status(b));
      }
    }
  }
}

TEST(Error, EachClassCarriesItsKindAndItsMessageAlone) {
  const UsageError usage("--lr: 'nan' is not a number in (0, 1000]");
  EXPECT_EQ(usage.kind(), ErrorKind::usage);
  EXPECT_STREQ(usage.what(), "--lr: 'nan' is not a number in (0, 1000]");
  const DataError data("trace.csv:3: expected 12 fields, found 2");
  EXPECT_EQ(data.kind(), ErrorKind::data);
  EXPECT_STREQ(data.what(), "trace.csv:3: expected 12 fields, found 2");
  const OutOfMemoryError oom(4096, "out of memory on cpu: asked 4.00 KiB");
  EXPECT_EQ(oom.kind(), ErrorKind::out_of_memory);
  EXPECT_EQ(oom.requested(), 4096u);
  EXPECT_STREQ(oom.what(), "out of memory on cpu: asked 4.00 KiB");
}

TEST(Error, AFailedCheckIsInternalAndNamesTheConditionAndThePlace) {
  const int line = __LINE__ + 2;
  try {
    TALLY_CHECK(1 + 1 == 3, "arithmetic");
    FAIL() << "TALLY_CHECK did not throw";
  } catch (const Error& e) {
    EXPECT_EQ(e.kind(), ErrorKind::internal);
    EXPECT_EQ(e.call(), "1 + 1 == 3");
    EXPECT_EQ(e.code(), "check_failed");
    EXPECT_EQ(e.place(), "allocator/error_test.cpp:" + std::to_string(line));
    EXPECT_EQ(std::string(e.what()),
              "arithmetic [check_failed from 1 + 1 == 3 at " + e.place() + "]");
  }
}

TEST(Error, ALibraryFailureIsADeviceErrorNamingTheCallAndCode) {
  const Error e(ErrorKind::device, "cudaMalloc(&p, bytes)", "cudaErrorMemoryAllocation",
                "out of memory");
  EXPECT_EQ(e.kind(), ErrorKind::device);
  const std::string message = e.what();
  EXPECT_EQ(message.find('\n'), std::string::npos);
  EXPECT_EQ(
      message.rfind("out of memory [cudaErrorMemoryAllocation from cudaMalloc(&p, bytes) at ", 0),
      0u)
      << message;
}

}  // namespace
}  // namespace tally
