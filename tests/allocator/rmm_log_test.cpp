#include "allocator/rmm_log.h"

#include <gtest/gtest.h>

#include <sstream>

#include "allocator/error.h"
#include "allocator/replay.h"
#include "allocator/units.h"

namespace tally {
namespace {

constexpr const char* kLog =
    "Thread,Time,Action,Pointer,Size,Stream\n"
    "140573312345856,1634567890.000000,allocate,0x7f8a40000000,1048576,0x7f8a38001020\n"
    "140573312345856,1634567890.000250,allocate,0x7f8a40100000,2097152,0x0\n"
    "140573312345856,1634567890.000500,deallocate,0x7f8a40000000,1048576,0x7f8a38001020\n"
    "140573312345856,1634567890.000750,allocate failure,0x0,1099511627776,0x0\n"
    "140573312345856,1634567890.001000,deallocate,0x7f8a40100000,2097152,0x0\n";

TEST(RmmLog, EventsStreamsAndTimesAreImported) {
  std::istringstream in(kLog);
  const Trace t = read_rmm_log(in, "log.csv");
  ASSERT_EQ(t.events.size(), 5u);
  EXPECT_EQ(t.events[0].action, Action::alloc);
  EXPECT_EQ(t.events[0].address, 0x7f8a40000000u);
  EXPECT_EQ(t.events[0].requested, 1 * MiB);
  EXPECT_EQ(t.events[0].stream, 0);
  EXPECT_EQ(t.events[1].stream, 1);  // numbered by first appearance
  EXPECT_EQ(t.events[2].action, Action::free);
  EXPECT_EQ(t.events[2].stream, 0);
  EXPECT_EQ(t.events[3].action, Action::oom);
  EXPECT_EQ(t.events[3].address, 0u);
  EXPECT_EQ(t.events[4].time_ns, 1'000'000u);
  EXPECT_EQ(t.events[4].seq, 4u);
}

TEST(RmmLog, ImportedLogsReplayLikeNativeTraces) {
  std::istringstream in(kLog);
  const ReplayResult r = replay(read_rmm_log(in, "log.csv"), "caching");
  EXPECT_EQ(r.lower_bound, static_cast<std::int64_t>(3 * MiB));
  EXPECT_EQ(r.events, 4u);  // the failure is the recording resource's, not replayed
  // 1 MiB from the small pool's 2 MiB segment; 2 MiB from a 20 MiB large-pool segment.
  EXPECT_EQ(r.peak_reserved, static_cast<std::int64_t>(22 * MiB));
}

TEST(RmmLog, MalformedLogsNameTheLine) {
  const auto error_of = [](const std::string& text) {
    std::istringstream in(text);
    try {
      read_rmm_log(in, "log.csv");
    } catch (const Error& e) {
      return std::string(e.what());
    }
    return std::string("no error");
  };
  EXPECT_NE(error_of("Thread,Time\n").find("log.csv:1: not an RMM log"), std::string::npos);
  const std::string header = "Thread,Time,Action,Pointer,Size,Stream\n";
  EXPECT_NE(error_of(header + "1,2,allocate,0x10,64\n").find("log.csv:2: expected 6 fields"),
            std::string::npos);
  EXPECT_NE(error_of(header + "1,2,allocate,0x10,64,0x0\n1,2,borrow,0x10,64,0x0\n")
                .find("log.csv:3: unknown action 'borrow'"),
            std::string::npos);
  EXPECT_NE(error_of(header + "1,2,allocate,16,64,0x0\n").find("log.csv:2: bad pointer '16'"),
            std::string::npos);
  EXPECT_NE(error_of(header + "1,2,allocate,0x10,-4,0x0\n").find("log.csv:2: bad size '-4'"),
            std::string::npos);
}

}  // namespace
}  // namespace tally
