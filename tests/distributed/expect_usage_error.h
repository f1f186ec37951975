// What the process group tests share: a call that must be refused as a usage error.
#pragma once

#include <gtest/gtest.h>

#include "allocator/error.h"

namespace tally::dist {

template <typename F>
void expect_usage_error(F&& f) {
  try {
    f();
    ADD_FAILURE() << "no error";
  } catch (const Error& e) {
    EXPECT_EQ(e.kind(), ErrorKind::usage) << e.what();
  }
}

}  // namespace tally::dist
