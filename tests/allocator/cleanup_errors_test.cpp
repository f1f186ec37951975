// Errors in cleanup are recorded, not thrown: run_cleanup itself, and a backing whose segment
// returns fail, under allocators that free from their callers' destructors.
#include "allocator/cleanup_errors.h"

#include <gtest/gtest.h>

#include <memory>
#include <stdexcept>

#include "allocator/backing.h"
#include "allocator/device_allocator.h"
#include "allocator/error.h"
#include "allocator/units.h"
#include "allocator/virtual_backing.h"

namespace tally {
namespace {

class CleanupErrorsTest : public ::testing::Test {
 protected:
  void SetUp() override { reset_cleanup_errors(); }
  void TearDown() override { reset_cleanup_errors(); }
};

TEST_F(CleanupErrorsTest, RunCleanupRecordsTheCountAndTheFirstMessage) {
  run_cleanup("first place", [] {});
  EXPECT_EQ(cleanup_errors().count, 0u);
  run_cleanup("first place", [] { throw std::runtime_error("went wrong"); });
  run_cleanup("second place", [] { throw DataError("also wrong"); });
  run_cleanup("third place", [] { throw 42; });
  const CleanupErrors errors = cleanup_errors();
  EXPECT_EQ(errors.count, 3u);
  EXPECT_EQ(errors.first, "first place: went wrong");
  reset_cleanup_errors();
  EXPECT_EQ(cleanup_errors().count, 0u);
  EXPECT_EQ(cleanup_errors().first, "");
  run_cleanup("elsewhere", [] { throw 42; });
  EXPECT_EQ(cleanup_errors().first, "elsewhere: an exception that is not a std::exception");
}

TEST_F(CleanupErrorsTest, TheSummaryGivesTheCountAndTheFirstInTheGreppedWording) {
  run_cleanup("destroying an event", [] { throw std::runtime_error("context lost"); });
  run_cleanup("returning a segment", [] { throw std::runtime_error("also lost"); });
  EXPECT_EQ(cleanup_errors_summary(cleanup_errors()),
            "2 error(s) while freeing memory were recorded instead of thrown; the first: "
            "destroying an event: context lost");
}

// Virtual segments whose return throws, as cudaFree does on a broken context, while counting
// the returns it was asked for.
class FailingReturnBacking final : public Backing {
 public:
  explicit FailingReturnBacking(int& returns) : returns_(returns) {}
  std::size_t capacity() const override { return 1 * GiB; }
  std::string_view kind() const override { return "failing"; }
  std::string device() const override { return "failing"; }

 private:
  void* do_allocate(std::size_t bytes) override { return inner_.allocate(bytes); }
  void do_deallocate(void*, std::size_t) override {
    ++returns_;
    throw Error(ErrorKind::device, "cudaFree(base)", "cudaErrorIllegalAddress",
                "an illegal memory access was encountered");
  }
  int& returns_;
  VirtualBacking inner_{1 * GiB};
};

TEST_F(CleanupErrorsTest, AFailedSegmentReturnIsRecordedAndCountedAsReturned) {
  int returns = 0;
  AllocatorConfig config;
  config.strategy = "direct";  // every free returns its segment
  DeviceAllocator allocator(std::make_unique<FailingReturnBacking>(returns), config);
  const Allocation a = allocator.allocate(1000, Tag::activation);
  const Allocation b = allocator.allocate(3 * MiB, Tag::parameter);
  EXPECT_EQ(allocator.stats().reserved_bytes.current, static_cast<std::int64_t>(1024 + 3 * MiB));

  allocator.deallocate(a);  // does not throw
  EXPECT_EQ(returns, 1);
  CleanupErrors errors = cleanup_errors();
  EXPECT_EQ(errors.count, 1u);
  EXPECT_EQ(errors.first.rfind("returning a segment: an illegal memory access was encountered", 0),
            0u)
      << errors.first;
  EXPECT_EQ(allocator.stats().reserved_bytes.current, static_cast<std::int64_t>(3 * MiB));
  EXPECT_EQ(allocator.backing_held(), 3 * MiB);

  // The allocator goes on serving, and the next failure adds to the count.
  const Allocation c = allocator.allocate(2 * MiB, Tag::temporary);
  allocator.deallocate(b);
  allocator.deallocate(c);
  errors = cleanup_errors();
  EXPECT_EQ(errors.count, 3u);
  EXPECT_EQ(errors.first.rfind("returning a segment: ", 0), 0u);
  const AllocatorStats stats = allocator.stats();
  EXPECT_EQ(stats.reserved_bytes.current, 0);
  EXPECT_EQ(stats.total.allocated_bytes.current, 0);
  EXPECT_EQ(allocator.backing_held(), 0u);
}

TEST_F(CleanupErrorsTest, DestroyingAnAllocatorOverAFailingBackingDoesNotTerminate) {
  int returns = 0;
  {
    // Caching: live blocks and cached segments alike go back in the destructor.
    DeviceAllocator allocator(std::make_unique<FailingReturnBacking>(returns));
    allocator.allocate(100, Tag::other);
    allocator.deallocate(allocator.allocate(30 * MiB, Tag::other));
  }
  EXPECT_EQ(returns, 2);  // the small pool's 2 MiB segment and the 30 MiB one
  EXPECT_EQ(cleanup_errors().count, 2u);
}

}  // namespace
}  // namespace tally
