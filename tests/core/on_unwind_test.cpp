// OnUnwind runs its function when, and only when, its scope is left by a new exception.
#include "core/on_unwind.h"

#include <gtest/gtest.h>

#include <stdexcept>

namespace tally {
namespace {

TEST(OnUnwind, RunsWhenTheScopeIsLeftByAnException) {
  int undone = 0;
  try {
    const OnUnwind undo([&]() noexcept { ++undone; });
    throw std::runtime_error("a later step failed");
  } catch (const std::runtime_error&) {
  }
  EXPECT_EQ(undone, 1);
}

TEST(OnUnwind, DoesNothingWhenTheScopeEndsNormally) {
  int undone = 0;
  {
    const OnUnwind undo([&]() noexcept { ++undone; });
  }
  EXPECT_EQ(undone, 0);
}

TEST(OnUnwind, DoesNothingForAnExceptionCaughtInsideItsScope) {
  int undone = 0;
  {
    const OnUnwind undo([&]() noexcept { ++undone; });
    try {
      throw std::runtime_error("handled here");
    } catch (const std::runtime_error&) {
    }
  }
  EXPECT_EQ(undone, 0);
}

// A guard made while another exception unwinds (in a destructor) ends normally unless a new
// exception leaves its own scope: the one already in flight is not its failure.
struct GuardsInItsDestructor {
  int& normal_ends_undone;
  int& new_failures_undone;
  ~GuardsInItsDestructor() {
    {
      const OnUnwind undo([&]() noexcept { ++normal_ends_undone; });
    }
    try {
      const OnUnwind undo([&]() noexcept { ++new_failures_undone; });
      throw std::logic_error("fails during unwinding");
    } catch (const std::logic_error&) {
    }
  }
};

TEST(OnUnwind, CountsOnlyExceptionsThrownAfterItWasMade) {
  int normal_ends_undone = 0;
  int new_failures_undone = 0;
  try {
    const GuardsInItsDestructor guards{normal_ends_undone, new_failures_undone};
    throw std::runtime_error("the first failure");
  } catch (const std::runtime_error&) {
  }
  EXPECT_EQ(normal_ends_undone, 0);
  EXPECT_EQ(new_failures_undone, 1);
}

}  // namespace
}  // namespace tally
